"""Synthetic run documents for the matrix tests, written by the real JSON reporter from real event objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.matrix import model
from kdbgtest.report import json_report
from kdbgtest.runner import events


@dataclass
class Step:
    name: str
    verdict: events.Verdict = "passed"
    kind: str = "debug"
    output: str = ""
    message: str = ""
    transcript: str | None = None  # file name inside the scenario's artifacts directory
    observed: dict[str, Any] | None = None
    tail: str | None = None  # the runner's output tail, when it differs from `output` (the transcript)


@dataclass
class Scenario:
    name: str
    verdict: events.Verdict = "passed"
    steps: list[Step] = field(default_factory=list)
    message: str = ""


def write_run(
    out: Path,
    column_id: str,
    scenarios: list[Scenario],
    *,
    server_version: str = "1.34",
    cluster_name: str = "kdbgmx-a1b2c3",
    run_id: str = "0badc0de",
) -> model.Column:
    """Emit a whole run through `JsonReporter` into `out/<column_id>/results.json`; return its column."""
    directory = out / column_id
    writer = json_report.reporter(directory / "results.json")
    count = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    writer.handle(events.RunStarted(run_id, "sim", cluster_name, server_version, "v1.37.1", len(scenarios)))
    for scenario in scenarios:
        for event in _scenario_events(scenario, directory / "artifacts", run_id):
            writer.handle(event)
        count[scenario.verdict] += 1
    writer.handle(events.RunFinished(count["passed"], count["failed"], count["error"], count["skipped"], 9.0))
    writer.close()
    label = f"sim {server_version} {column_id}"
    return model.Column(column_id, label, "sim", f"sim:{server_version}", results=f"{column_id}/results.json")


def _scenario_events(scenario: Scenario, artifacts: Path, run_id: str) -> list[events.Event]:
    name, path = scenario.name, Path(f"scenarios/{scenario.name}.yaml")
    namespace = f"kdbg-{name}-{run_id}"
    folder = artifacts / f"{name}-{run_id}"
    found: list[events.Event] = [events.ScenarioStarted(name, path, 2, namespace)]
    finished = []
    for index, step in enumerate(scenario.steps, start=1):
        transcript = None
        if step.transcript is not None:
            folder.mkdir(parents=True, exist_ok=True)
            transcript = folder / step.transcript
            transcript.write_text(step.output)
        done = events.StepFinished(
            scenario=name,
            step=step.name,
            index=index,
            verdict=step.verdict,
            duration=0.1,
            message=step.message,
            argv=["kubectl", "--kubeconfig=/var/tmp/kdbgtest-sim/x/kubeconfig", "debug", f"-n={namespace}"],
            transcript=transcript,
            output_tail=step.output if step.tail is None else step.tail,
            observed=step.observed,
        )
        found += [events.StepStarted(name, step.name, index, step.kind, 10 + index), done]
        finished.append(done)
    failed = next((s.step for s in finished if s.verdict in ("failed", "error")), None)
    if scenario.verdict in ("failed", "error"):
        folder.mkdir(parents=True, exist_ok=True)
    found.append(
        events.ScenarioFinished(
            scenario=name,
            path=path,
            verdict=scenario.verdict,
            duration=1.0,
            message=scenario.message,
            failed_step=failed,
            artifacts=folder if folder.is_dir() else None,
            steps=finished,
        )
    )
    found.append(events.CleanupFinished(name, [f"namespace {namespace}"], kept=False))
    return found
