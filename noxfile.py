"""Task runner. `./dev` is the zero-setup entry point on a fresh machine; nox gives the same jobs isolated.

System packages the offline cluster needs (runc, busybox-static, gcc, iproute2) are installed by `./dev`.
"""

from __future__ import annotations

from pathlib import Path

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
    """mypy --strict over the package, and the import-linter layer contracts."""
    session.install("-e", ".[dev]")
    session.run("mypy")
    session.run("lint-imports", "--no-cache")


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


# -- kind: one e2e session per clusters/ file, the debug images, the version matrix --------------------------

CLUSTERS = sorted((Path(__file__).parent / "clusters").glob("kind-*.yaml"))
IMAGES = {  # tag -> docker build arguments (run from the repository root)
    "kdbgtest/debug-toolbox:1": ["images/debug"],
    "kdbgtest/distroless-app:1": ["-f", "images/distroless-app/Dockerfile", "."],
    **{f"kdbgtest/{name}:1": [f"images/{name}"] for name in ("redis", "mariadb", "dnsmasq", "grpc-app")},
}


def build_images(session: nox.Session) -> None:
    """docker build the debug toolbox and the distroless app (the kind provider loads them into its nodes)."""
    for tag, args in IMAGES.items():
        session.run("docker", "build", "-t", tag, *args, external=True)


def e2e_session(config: Path) -> None:
    """Register `e2e-1.N`: the scenario suite on a throwaway kind cluster made from `config`."""
    version = config.stem.removeprefix("kind-")

    def run(session: nox.Session) -> None:
        session.install("-e", ".[dev]")
        build_images(session)
        reports = Path("kdbgtest-reports") / version
        session.run(
            "kdbgtest", "run", "scenarios/", "--cluster", "kind", "--kind-config", f"clusters/{config.name}",
            "--junit", str(reports / "junit.xml"), "--json", str(reports / "report.json"),
            "--artifacts", str(reports / "artifacts"), *session.posargs,
        )  # fmt: skip

    run.__doc__ = f"The scenario suite on kind with Kubernetes {version} ({config.name})."
    nox.session(name=f"e2e-{version}")(run)


for _config in CLUSTERS:
    e2e_session(_config)


@nox.session
def toolbox(session: nox.Session) -> None:
    """Build the debug images and load them into kind clusters (names as arguments; default: kdbgtest)."""
    build_images(session)
    for name in session.posargs or ["kdbgtest"]:
        session.run("kind", "load", "docker-image", *IMAGES, "--name", name, external=True)


@nox.session
def matrix(session: nox.Session) -> None:
    """The suite on every clusters/ file, with the version-matrix report (Markdown, JSON, HTML)."""
    session.install("-e", ".[dev]")
    build_images(session)
    clusters = [f"clusters/{path.name}" for path in CLUSTERS]
    session.run("kdbgtest", "matrix", *session.posargs, "--clusters", *clusters)


@nox.session
def upgrade(session: nox.Session) -> None:
    """The suite before and after an in-place upgrade of the real local cluster (default 1.36.x -> 1.37.2; needs
    root and Go; arguments go to `kdbgtest upgrade`). Report: kdbgtest-upgrade/upgrade.{md,json,html}."""
    session.install("-e", ".[dev]")
    args = session.posargs or ["scenarios/", "--from", "1.36.x", "--to", "1.37.2"]
    session.run("kdbgtest", "upgrade", *args, "--out", "kdbgtest-upgrade")
