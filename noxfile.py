"""Task runner. `./dev` is the zero-setup entry point on a fresh machine; nox gives the same jobs isolated.

System packages the offline cluster needs (runc, busybox-static, gcc, iproute2) are installed by `./dev`.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "types", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the code, tests and tools."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "kdbgtest", "tests", "benchmarks", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests and end-to-end tests on the offline cluster (needs root and runc)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def scenarios(session: nox.Session) -> None:
    """The scenario suite on the default cluster: kind when usable, else the offline cluster."""
    session.install("-e", ".[dev]")
    session.run("kdbgtest", "run", "scenarios/", *session.posargs)
