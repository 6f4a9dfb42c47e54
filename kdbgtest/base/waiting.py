"""Deadline waits that say what they last saw when they expire. No bare sleeps anywhere else."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kdbgtest.base.errors import StepTimeout

T = TypeVar("T")

_stop = threading.Event()  # never set: Event.wait is an interruptible sleep that Ctrl-C can break


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
    deadline = time.monotonic() + timeout
    while True:
        done, seen = probe()
        if done:
            return seen
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}; last seen: {describe(seen)}")
        _stop.wait(min(interval, remaining))
        if max_interval is not None:
            interval = min(interval * 1.5, max_interval)


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
        ok, seen = probe()
        elapsed = time.monotonic() - started
        if not ok or elapsed >= period:
            return ok, seen, elapsed
        _stop.wait(min(interval, max(deadline - time.monotonic(), 0.0)))
        if max_interval is not None:
            interval = min(interval * 1.5, max_interval)


def pause(seconds: float) -> None:
    """Sleep for a fixed, short time between polls (used only inside deadline loops)."""
    _stop.wait(seconds)
