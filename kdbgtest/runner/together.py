"""Waits of one scenario that run at the same time: its fixtures are created in order, then awaited together.

    seen = together.run([("fixture 1 (sleeper)", wait_1), ("fixture 2 (sleeper)", wait_2)], failed=note)

Each call runs in a helper thread that counts its kubectl processes into the scenario's count and checks a
cancellation of its own. The first call that raises stops the others (at their next look), `failed` is told
its label, and its exception is raised in the caller. An interruption of the caller (a signal in the main
thread, the run's cancellation in a `-n N` worker, noticed between looks of `cancel.SLICE`) stops them too.
A single call runs in the caller's thread.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import TypeVar

from kdbgtest.base import cancel, interrupt, process

T = TypeVar("T")


def run(calls: Sequence[tuple[str, Callable[[], T]]], *, failed: Callable[[str], None]) -> list[T]:
    """The results of `calls` (label, call), in order; see the module docstring."""
    if len(calls) <= 1:
        results = []
        for label, call in calls:
            try:
                results.append(call())
            except BaseException:
                failed(label)
                raise
        return results
    helpers = cancel.Cancellation()
    counter = process.current_counter()

    def helper(call: Callable[[], T]) -> T:
        with cancel.scope(helpers), process.counting(into=counter):
            return call()

    pool = futures.ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="kdbgtest-together")
    started = [pool.submit(helper, call) for _, call in calls]
    try:
        pending = set(started)
        while pending:
            cancel.check()
            _, pending = futures.wait(pending, timeout=cancel.SLICE, return_when=futures.FIRST_EXCEPTION)
            for index, future in enumerate(started):
                error = future.exception() if future.done() else None
                if error is not None:
                    failed(calls[index][0])
                    raise error
        return [future.result() for future in started]
    finally:
        helpers.cancel(interrupt.Interrupted(signal.SIGINT))  # those still waiting stop at their next look
        pool.shutdown(wait=True)
