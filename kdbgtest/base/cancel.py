"""Cooperative cancellation of the scenarios a run executes in worker threads (`kdbgtest run -n N`).

A signal only reaches the main thread. It cancels the run's `Cancellation`; each worker notices at its next
polling point (every wait in `waiting`, every read of a terminal, every wait on a process or a watch) and
raises the same interruption there, so its scenario unwinds and cleans up as after Ctrl-C in a serial run:

    token = cancel.Cancellation()
    with cancel.scope(token):          # in the worker thread: its waits now check `token`
        run_scenario()
    token.cancel(interrupt.Interrupted(signal.SIGTERM))   # from the main thread

As with a signal, each thread is told once: the cleanup its scenario runs while unwinding waits undisturbed.
Cleanup also runs `shielded()`: a cancellation that comes while it runs is noticed only after it, unless it
is `hard` (the run was signalled again: the cleanup is cut short). Outside any scope (a serial run, the main
thread) nothing is checked and a sleep is an ordinary, signal-interruptible one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol

# Longest a blocking read (a terminal, a socket, a process) waits between looks at the token in a scope.
SLICE = 0.25


class Again(Protocol):
    """An interruption that can make a fresh copy of itself for each thread it stops."""

    incomplete: bool

    def again(self) -> Again: ...


class Cancellation:
    """Cancelled once by the main thread; every worker thread in its `scope` raises a copy of `reason`."""

    def __init__(self) -> None:
        self._soft = threading.Event()
        self._hard = threading.Event()
        self.reason: Again | None = None

    def cancel(self, reason: Again, *, hard: bool = False) -> None:
        """Stop the threads in scope (`hard`: also in their cleanup, as a second Ctrl-C does)."""
        if self.reason is None:
            self.reason = reason
        self._soft.set()
        if hard:
            self._hard.set()

    @property
    def cancelled(self) -> bool:
        return self._soft.is_set()

    def _level(self) -> int:
        return 2 if self._hard.is_set() else 1 if self._soft.is_set() else 0


_NEVER = threading.Event()  # never set: its wait is a sleep that a signal in the main thread can break
_local = threading.local()  # per thread: token, shield (depth), delivered (0 none, 1 soft, 2 hard)


def current() -> Cancellation | None:
    """The token this thread checks, if it runs in a `scope`."""
    token: Cancellation | None = getattr(_local, "token", None)
    return token


def _get(name: str) -> int:
    value: int = getattr(_local, name, 0)
    return value


@contextlib.contextmanager
def scope(token: Cancellation | None) -> Iterator[None]:
    """Within the block, this thread's waits check `token` (None: nothing is checked)."""
    previous = current(), _get("shield"), _get("delivered")
    _local.token, _local.shield, _local.delivered = token, 0, 0
    try:
        yield
    finally:
        _local.token, _local.shield, _local.delivered = previous


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Within the block (cleanup), only a hard cancellation is noticed; a soft one waits for its end."""
    _local.shield = _get("shield") + 1
    try:
        yield
    finally:
        _local.shield = _get("shield") - 1


def check() -> None:
    """Raise the interruption if this thread's token was cancelled and this thread was not told yet.

    Like a signal, each cancellation is raised once per thread: the cleanup that runs while it unwinds
    (closing a session, stopping a process) waits undisturbed, unless a hard cancellation follows."""
    token = current()
    if token is None or token.reason is None:
        return
    level = token._level()
    if level == 1 and _get("shield"):
        return
    if level > _get("delivered"):
        _local.delivered = level
        stopped = token.reason.again()
        stopped.incomplete = level == 2  # a second signal: the cleanup was cut short
        raise stopped  # type: ignore[misc]  # an Interrupted, a BaseException


def sleep(seconds: float) -> None:
    """Sleep up to `seconds`; a cancellation this thread is to notice ends it at once with the interruption."""
    token = current()
    seconds = max(seconds, 0.0)
    if token is None:
        _NEVER.wait(seconds)
        return
    check()
    delivered = _get("delivered")
    if delivered >= 2:
        _NEVER.wait(seconds)
    else:
        (token._hard if delivered or _get("shield") else token._soft).wait(seconds)
    check()


def slice_of(seconds: float) -> float:
    """How long one blocking read may wait of the `seconds` left: all of it outside a scope, else at most
    `SLICE` (the caller checks between reads)."""
    return seconds if current() is None else min(seconds, SLICE)
