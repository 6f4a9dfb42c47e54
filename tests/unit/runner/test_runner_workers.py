"""`kdbgtest run -n N` scheduling (runner/workers.py) with real threads: reports keep the given order with
each scenario's events in one piece, `serial: true` scenarios run alone after the others, and an
interruption of the main thread cancels the running scenarios cooperatively.

The scenarios are loaded from real YAML; what runs one is a stand-in for the engine's `run_one` that emits
events around a wait of its own (`waiting.wait_for`, as a scenario's steps do) and records when it ran.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from kdbgtest.base import interrupt, waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.runner import events, workers
from kdbgtest.scenario import loader


def scenarios(tmp_path: Path, spec: Sequence[tuple[str, bool]]) -> list[loader.LoadedScenario]:
    loaded = []
    for name, serial in spec:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"name: {name}\nserial: {str(serial).lower()}\nsteps:\n  - name: s\n    kubectl: {{args: [version]}}\n"
        )
        loaded.append(loader.load_file(path))
    return loaded


class StandIn:
    """Runs a scenario for `durations[name]` seconds, emitting Started, two steps and Finished."""

    def __init__(self, durations: dict[str, float]) -> None:
        self.durations = durations
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def __call__(self, scenario: loader.LoadedScenario, to: Sequence[events.Reporter]) -> events.ScenarioFinished:
        name = scenario.name
        begun = time.monotonic()

        def emit(event: events.Event) -> None:
            for reporter in to:
                reporter.handle(event)

        emit(events.ScenarioStarted(name, scenario.path, 1, f"kdbg-{name}"))
        for index in (1, 2):
            emit(events.StepStarted(name, f"step{index}", index, "kubectl", 1))
            with pytest.raises(StepTimeout):
                waiting.wait_for(lambda: (False, None), timeout=self.durations[name] / 2, what="time", interval=0.02)
            emit(events.StepFinished(name, f"step{index}", index, "passed", 0.0))
        result = events.ScenarioFinished(name, scenario.path, "passed", time.monotonic() - begun)
        emit(result)
        with self.lock:
            self.spans[name] = (begun, time.monotonic())
        return result


def test_reports_keep_the_given_order_and_group_each_scenarios_events(tmp_path: Path) -> None:
    # The first scenario is the slowest: the later ones finish first and must wait to be shown.
    durations = {"a": 1.2, "b": 0.2, "c": 0.6, "d": 0.1, "e": 0.3}
    chosen = scenarios(tmp_path, [(n, False) for n in durations])
    stand_in = StandIn(durations)
    recorder = events.Kept()
    results, not_run = workers.run_all(chosen, stand_in, [recorder], 3, fail_fast=False)
    assert [r.scenario for r in results] == list(durations)
    assert not_run == []
    shown = [getattr(e, "scenario", None) for e in recorder.events]
    assert shown == [n for n in durations for _ in range(6)]  # started, 2 x (step started, finished), finished
    first_end = stand_in.spans["b"][1]
    assert first_end < stand_in.spans["a"][1], "the scenarios did not overlap"


def test_serial_scenarios_run_after_the_others_and_alone(tmp_path: Path) -> None:
    durations = {"a": 0.4, "s1": 0.3, "b": 0.4, "s2": 0.3, "c": 0.4}
    chosen = scenarios(tmp_path, [(n, n.startswith("s")) for n in durations])
    stand_in = StandIn(durations)
    recorder = events.Kept()
    results, _ = workers.run_all(chosen, stand_in, [recorder], 4, fail_fast=False)
    assert [r.scenario for r in results] == ["a", "b", "c", "s1", "s2"]
    for serial in ("s1", "s2"):
        begun, ended = stand_in.spans[serial]
        overlapping = [n for n, (b, e) in stand_in.spans.items() if n != serial and b < ended and e > begun]
        assert overlapping == [], f"{serial} ran at the same time as {overlapping}"
    concurrent = [stand_in.spans[n] for n in ("a", "b", "c")]
    assert max(b for b, _ in concurrent) < min(e for _, e in concurrent), "a, b and c did not run together"


def test_an_interruption_cancels_the_running_scenarios_and_keeps_their_results(tmp_path: Path) -> None:
    durations = {"a": 60.0, "b": 60.0, "c": 60.0, "d": 60.0}
    chosen = scenarios(tmp_path, [(n, False) for n in durations])
    stand_in = StandIn(durations)
    recorder = events.Kept()
    timer = threading.Timer(0.5, lambda: signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM))
    started = time.monotonic()
    with interrupt.signals_interrupt(), pytest.raises(interrupt.Interrupted) as raised:
        timer.start()
        workers.run_all(chosen, stand_in, [recorder], 3, fail_fast=False)
    took = time.monotonic() - started
    assert raised.value.signum == signal.SIGTERM
    assert took < 5.0, took
    # the stand-in does not catch the interruption: the three running scenarios ended by it, `d` never began
    assert stand_in.spans == {}
    assert {getattr(e, "scenario", None) for e in recorder.events} == {"a", "b", "c"}
