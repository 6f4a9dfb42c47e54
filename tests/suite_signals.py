"""How the test suite takes signals: a pytest plugin, installed by tests/conftest.py.

A suite stopped by SIGTERM (`timeout`, `kill`, CI cancellation) or SIGHUP (a closed terminal) would die at once,
without fixture teardown, and leave its session sims and their containers running. Both become the
KeyboardInterrupt that Ctrl-C raises, so pytest tears the fixtures down and exits 2 (interrupted).
"""

from __future__ import annotations

import signal
from types import FrameType

import pytest


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"the test suite got {signal.Signals(signum).name}")


def install() -> None:
    """A suite started as a background job of a script (`./dev tests &`, `setsid ... &`) inherits SIGINT and
    SIGQUIT ignored, and so would every program the tests start: the tests that interrupt one (Ctrl-C to kubectl,
    SIGINT to kdbgtest) would fail for it. Back to their defaults (SIGINT: Python's KeyboardInterrupt handler);
    SIGTERM and SIGHUP interrupt the suite as SIGINT does."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)


def pytest_configure(config: pytest.Config) -> None:
    install()
