"""Deadline waits that say what they last saw when they expire. No bare sleeps anywhere else.

Every pause goes through `cancel.sleep`: in a worker thread of `kdbgtest run -n N`, a cancelled run ends the
wait at once with its interruption (and a probe is never called after it).

A front end may install a `Progress` hook (`showing_progress`): every wait in the main thread then tells it
what it awaits and for how long, between polls, and says when it is over (the console's status line).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from kdbgtest.base import cancel
from kdbgtest.base.errors import StepTimeout

T = TypeVar("T")


class Progress(Protocol):
    """Told about waits as they go; it decides what to show and how often."""

    def waiting(self, what: str, elapsed: float, timeout: float) -> None: ...

    def done(self) -> None: ...


_progress: Progress | None = None


@contextlib.contextmanager
def showing_progress(hook: Progress) -> Iterator[None]:
    """Within the block, waits in the main thread report to `hook`."""
    global _progress
    previous, _progress = _progress, hook
    try:
        yield
    finally:
        _progress = previous


def wait_for(
    probe: Callable[[], tuple[bool, T]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    describe: Callable[[T], str] = repr,
    max_interval: float | None = None,
) -> T:
    """Call `probe` until it returns `(True, value)` or `timeout` seconds pass.

    `probe` returns `(done, observation)`. On expiry `StepTimeout` names `what` was awaited and the last
    observation, rendered by `describe`. With `max_interval`, the pause between probes starts at `interval`
    and grows by half each time up to `max_interval` (quick to notice a fast change, cheap on a slow one).
    """
    started = time.monotonic()
    deadline = started + timeout
    hook = _progress if threading.current_thread() is threading.main_thread() else None
    try:
        while True:
            cancel.check()
            done, seen = probe()
            if done:
                return seen
            now = time.monotonic()
            if now >= deadline:
                raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}; last seen: {describe(seen)}")
            if hook is not None:
                hook.waiting(what, now - started, timeout)
            cancel.sleep(min(interval, deadline - now))
            if max_interval is not None:
                interval = min(interval * 1.5, max_interval)
    finally:
        if hook is not None:
            hook.done()


def holds_for(
    probe: Callable[[], tuple[bool, T]],
    *,
    period: float,
    interval: float = 0.2,
    max_interval: float | None = None,
) -> tuple[bool, T, float]:
    """Call `probe` until `period` seconds have passed, stopping at the first `(False, value)`.

    The first probe is at once and the last at (or just after) the end of the period. Returns whether every
    probe held, the last observation, and the seconds from the start to that probe."""
    started = time.monotonic()
    deadline = started + period
    while True:
        cancel.check()
        ok, seen = probe()
        elapsed = time.monotonic() - started
        if not ok or elapsed >= period:
            return ok, seen, elapsed
        cancel.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
        if max_interval is not None:
            interval = min(interval * 1.5, max_interval)


def pause(seconds: float) -> None:
    """Sleep for a fixed, short time between polls (used only inside deadline loops)."""
    cancel.sleep(seconds)
