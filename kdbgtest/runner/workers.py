"""`kdbgtest run -n N`: scenarios run N at a time on one cluster, each in its own namespace, in threads.

Reports stay ordered and readable: each scenario's events are held back and handed to the reporters in one
piece, in the order the scenarios were given (a scenario that finishes early waits for those before it).
Scenarios marked `serial: true` run afterwards, one at a time. A signal (or a lost API server) reaches the
main thread: it cancels the run's `cancel.Cancellation`, which each worker notices at its next polling point
(a wait, a terminal read, a process or watch slice: within `cancel.SLICE` seconds or so) and raises as the same
interruption, so its scenario cleans up as a serial run's does. The main thread waits for each (signals
deferred: a second one is announced, a third cancels hard, cutting the workers' cleanup short too) and
re-raises with their results in `Interrupted.results`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent import futures

from kdbgtest.base import cancel, interrupt
from kdbgtest.runner import events
from kdbgtest.scenario import loader

RunOne = Callable[[loader.LoadedScenario, Sequence[events.Reporter]], events.ScenarioFinished]
POLL = 0.2  # how often the main thread looks up from waiting (signals are handled between looks)


def auto() -> int:
    """`-n auto`: one worker per CPU, at least 2 (most of a scenario is waiting for the cluster)."""
    import os

    return max(2, len(os.sched_getaffinity(0)))


class _Ordered:
    """Hands held events to the reporters in the order the scenarios were given."""

    def __init__(self, reporters: Sequence[events.Reporter], count: int) -> None:
        self.reporters = reporters
        self.held = [events.Kept() for _ in range(count)]
        self.done = [False] * count
        self.next = 0
        self.lock = threading.Lock()

    def finished(self, index: int) -> None:
        with self.lock:
            self.done[index] = True
            while self.next < len(self.done) and self.done[self.next]:
                self.flush(self.next)
                self.next += 1

    def flush(self, index: int) -> None:
        for event in self.held[index].events:
            for reporter in self.reporters:
                reporter.handle(event)
        self.held[index].events.clear()

    def flush_all(self) -> None:
        with self.lock:
            for index in range(len(self.held)):
                self.flush(index)


def run_all(
    chosen: Sequence[loader.LoadedScenario],
    one: RunOne,
    reporters: Sequence[events.Reporter],
    workers: int,
    fail_fast: bool,
) -> tuple[list[events.ScenarioFinished], list[str]]:
    """Run `chosen` `workers` at a time; their results in the given order, and those --fail-fast left out."""
    concurrent = [s for s in chosen if not s.scenario.serial]
    alone = [s for s in chosen if s.scenario.serial]
    ordered = _Ordered(reporters, len(concurrent))
    results: dict[int, events.ScenarioFinished] = {}
    not_run: list[str] = []
    stop = threading.Event()
    token = cancel.Cancellation()

    def task(index: int) -> events.ScenarioFinished | None:
        if stop.is_set():
            not_run.append(concurrent[index].name)
            ordered.finished(index)
            return None
        try:
            with cancel.scope(token):
                found = one(concurrent[index], [ordered.held[index]])
        finally:
            ordered.finished(index)
        if fail_fast and found.verdict in ("failed", "error"):
            stop.set()
        return found

    pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kdbgtest-worker")
    pending = {pool.submit(task, index): index for index in range(len(concurrent))}
    try:
        while pending:
            done, _ = futures.wait(pending, timeout=POLL, return_when=futures.FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                found = future.result()
                if found is not None:
                    results[index] = found
    except KeyboardInterrupt as exc:
        stopped = interrupt.as_interrupted(exc)
        stop.set()
        token.cancel(stopped)
        pool.shutdown(wait=False, cancel_futures=True)
        with interrupt.shielded():  # also while the held reports are shown: a signal there would cut them off
            try:
                partial, raised = _collect(pending)
            except KeyboardInterrupt as aborted:  # signalled again while they clean up: cut their cleanup short
                token.cancel(stopped, hard=True)
                stopped = interrupt.as_interrupted(aborted)
                stopped.incomplete = True
                partial, raised = _collect(pending)
            ordered.flush_all()
        if isinstance(stopped, interrupt.ClusterLost) and not stopped.where:  # the first scenario it stopped
            stopped.where = next((e.where for e in raised if isinstance(e, interrupt.ClusterLost) and e.where), "")
        stopped.results = [*(results[i] for i in sorted(results)), *partial]
        raise stopped from None
    pool.shutdown(wait=True)
    in_order = [results[i] for i in sorted(results)]
    for scenario in alone:
        if stop.is_set() or (fail_fast and any(r.verdict in ("failed", "error") for r in in_order)):
            not_run.append(scenario.name)
            continue
        in_order.append(one(scenario, reporters))
    return in_order, not_run


def _collect(
    pending: dict[futures.Future[events.ScenarioFinished | None], int],
) -> tuple[list[events.ScenarioFinished], list[KeyboardInterrupt]]:
    """Wait for every started scenario of a cancelled run to unwind and clean up; what they recorded, and the
    interruptions they raised, in the given order."""
    partial = []
    raised = []
    for future in sorted(pending, key=pending.__getitem__):
        if future.cancelled():  # never started (cancelled without notice: waiting for it would never end)
            continue
        futures.wait([future])  # a signal meanwhile is the main thread's own: it goes up, never taken for theirs
        error = future.exception()
        if isinstance(error, KeyboardInterrupt):
            raised.append(error)
            result = getattr(error, "result", None)
            if isinstance(result, events.ScenarioFinished):
                partial.append(result)
            continue
        found = future.result()  # a kdbgtest bug in the scenario's thread is raised here
        if found is not None:
            partial.append(found)
    return partial, raised
