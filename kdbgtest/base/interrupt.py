"""Stopping a run from outside: SIGINT, SIGTERM and SIGHUP all end it the way Ctrl-C does.

`timeout`, `kill`, a cancelled CI job and a stopped container send SIGTERM; a closed terminal sends SIGHUP.
Python's default for both is to die on the spot, leaving the run's namespace and pods behind. Inside
`signals_interrupt()` each of the three raises `Interrupted` (a `KeyboardInterrupt`, so every cleanup path
written for Ctrl-C runs), and the command exits with 128 + the signal number (130, 143, 129).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from kdbgtest.base import cancel

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal. `incomplete` is set when its cleanup could not remove everything;
    `result` is what the scenario it stopped recorded (the runner's ScenarioFinished), if any; `recorded` once
    the reports say that the run was interrupted."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.incomplete = False
        self.result: object | None = None
        self.results: list[object] = []  # with `-n N`: what the other running scenarios recorded
        self.recorded = False

    def again(self) -> Interrupted:
        """A fresh interruption of the same kind, for another thread it stops (`cancel`)."""
        return Interrupted(self.signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def reason(self) -> str:
        """`Ctrl-C` for SIGINT (what people press), else the signal's name."""
        return "Ctrl-C" if self.signum == signal.SIGINT else self.name

    @property
    def summary(self) -> str:
        """What a report says about the scenario it stopped."""
        return f"interrupted by {self.reason}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def as_interrupted(exc: KeyboardInterrupt) -> Interrupted:
    """`exc` itself if it already says which signal it was, else an interruption by SIGINT."""
    return exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise `Interrupted` (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ignored = signal.SIG_IGN  # e.g. SIGHUP under nohup: left ignored, as the caller asked
    previous = {s: signal.signal(s, _raise) for s in HANDLED if signal.getsignal(s) is not ignored}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class ClusterLost(Interrupted):
    """The cluster's API server stopped answering: the run stops where it is, as after a signal, but cleanup
    does not wait for a dead server, and the command exits 2 (an infrastructure error, not a test failure).
    `where` names the scenario and step it stopped in (set by the runner)."""

    def __init__(self, message: str) -> None:
        super().__init__(signal.SIGUSR1)
        self.message = message
        self.where = ""

    def again(self) -> ClusterLost:
        return ClusterLost(self.message)

    @property
    def name(self) -> str:
        return "API server unreachable"

    @property
    def reason(self) -> str:
        return self.message

    @property
    def summary(self) -> str:
        return f"stopped: {self.message}"

    @property
    def exit_code(self) -> int:
        return 2


@contextlib.contextmanager
def shielded() -> Iterator[list[int]]:
    """Defer the first SIGINT, SIGTERM or SIGHUP while cleanup runs (a second one interrupts); yields the
    deferred signals.

    Signals reach only the main thread; in a worker thread (`-n N`) the block is shielded from a (soft)
    cancellation of the run instead (`cancel.shielded`).
    """
    deferred: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        with cancel.shielded():
            yield deferred
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if deferred:
            aborted = Interrupted(signum)
            aborted.incomplete = True
            raise aborted
        deferred.append(signum)
        name = signal.Signals(signum).name
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone: cleanup goes on regardless
            print(f"kdbgtest: {name} received; cleaning up, please wait (Ctrl-C again to abort the cleanup)",
                  file=sys.stderr)  # fmt: skip

    ignored = signal.SIG_IGN
    previous = {s: signal.signal(s, handler) for s in HANDLED if signal.getsignal(s) is not ignored}
    try:
        yield deferred
    finally:
        for signum, former in previous.items():
            signal.signal(signum, former)
