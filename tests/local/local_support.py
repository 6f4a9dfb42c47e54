"""Helpers of the local cluster's tests: the `kdbgtest local` command in a child process, the host's footprint."""

from __future__ import annotations

import sys
from pathlib import Path

from kdbgtest.base import process
from kdbgtest.base.process import Completed
from kdbgtest.local import build, host, layout

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, check: bool = True, timeout: float = 600) -> Completed:
    return process.run([sys.executable, "-m", "kdbgtest.cli", "local", *args], timeout=timeout, check=check, cwd=REPO)


def footprint() -> dict[str, object]:
    return host.footprint(layout.state_parent(), build.cache_root())  # any version's binaries
