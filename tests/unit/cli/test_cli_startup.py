"""Start-up: `kdbgtest --help`, `list` and `validate` load neither the kubernetes client, nor rich, nor the sim
(issue 14: each of them took 0.4-0.6 s, most of it importing what they never use)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("kubernetes", "rich", "kdbgtest.sim.cluster", "kdbgtest.runner.engine", "cryptography", "pexpect")
PROBE = """
import contextlib, json, sys
from kdbgtest import cli
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
    cli.main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60, cwd=REPO, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("argv", [("--help",), ("list", "scenarios"), ("validate", "scenarios"), ("sim", "--help")])
def test_light_commands_import_nothing_heavy(argv: tuple[str, ...]) -> None:
    modules = loaded_by(*argv)
    assert "kdbgtest.cli" in modules
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"`kdbgtest {' '.join(argv)}` imported {heavy}"


def test_run_does_load_the_runner() -> None:
    """The probe can fail: `run` (here stopped by a usage error before any cluster) does import the engine."""
    modules = loaded_by("run", "scenarios", "-k", "no-such-scenario-anywhere")
    assert "kdbgtest.runner.engine" in modules
