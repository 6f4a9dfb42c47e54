"""A JSON document of a run, for machines (e.g. a report comparing Kubernetes versions).

    {
      "format": "kdbgtest-run/1",
      "run":       {...RunStarted} | null,
      "summary":   {...RunFinished} | null,
      "scenarios": [{"scenario", "path", "line", "namespace", "verdict", "duration", "message",
                     "failed_step", "artifacts", "steps": [{"index", "step", "kind", "line", "is_finally",
                     "verdict", "duration", "message", "argv", "transcript", "output_tail"}], "cleanup"}],
      "events":    [{"type": "StepStarted", "data": {...every field of the event}}, ...]
    }

Keys are sorted and paths are strings. `events` is complete: `load_events` rebuilds the exact event
objects, so any later consumer can replay a run. The file is (re)written, atomically, when the run finishes
and on close.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from kdbgtest.report import record
from kdbgtest.runner import events

FORMAT = "kdbgtest-run/1"
EVENT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        events.RunStarted,
        events.ScenarioStarted,
        events.StepStarted,
        events.StepFinished,
        events.ScenarioFinished,
        events.CleanupFinished,
        events.RunFinished,
    )
}


def reporter(path: Path) -> JsonReporter:
    """The reporter behind `kdbgtest run --json FILE`."""
    return JsonReporter(path)


class JsonReporter(record.FileReporter):
    """Collects every event; writes the document to `path` when the run finishes and on close."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.events: list[events.Event] = []

    def handle(self, event: events.Event) -> None:
        self.events.append(event)
        super().handle(event)

    def _write_to(self, partial: Path) -> None:
        partial.write_text(json.dumps(self.document(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "run": _data(self.recorder.run) if self.recorder.run else None,
            "summary": _data(self.recorder.summary) if self.recorder.summary else None,
            "scenarios": [_scenario(s) for s in self.recorder.scenarios.values()],
            "events": [{"type": type(e).__name__, "data": _data(e)} for e in self.events],
        }


def load_events(path: Path) -> list[events.Event]:
    """The events of a document written by `JsonReporter`, as the original objects."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} document (format: {document.get('format')!r})")
    return [_event(item["type"], item["data"]) for item in document["events"]]


def _scenario(scenario: record.ScenarioRecord) -> dict[str, Any]:
    started, done = scenario.started, scenario.finished
    steps = []
    for index in sorted(scenario.steps):
        step = scenario.steps[index]
        merged = {
            **(_data(step.started) if step.started else {}),
            **(_data(step.finished) if step.finished else {}),
        }
        merged.pop("scenario", None)
        steps.append(merged)
    return {
        "scenario": scenario.name,
        "path": str(done.path) if done else str(started.path) if started else None,
        "line": started.line if started else None,
        "namespace": started.namespace if started else None,
        "verdict": done.verdict if done else None,
        "duration": done.duration if done else None,
        "message": done.message if done else None,
        "failed_step": done.failed_step if done else None,
        "artifacts": str(done.artifacts) if done and done.artifacts else None,
        "steps": steps,
        "cleanup": _data(scenario.cleanup) if scenario.cleanup else None,
    }


def _data(event: Any) -> dict[str, Any]:
    """An event's fields as JSON values (paths as strings, nested events as objects)."""
    return {f.name: _value(getattr(event, f.name)) for f in dataclasses.fields(event)}


def _value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _data(value)
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _event(type_name: str, data: dict[str, Any]) -> events.Event:
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise ValueError(f"unknown event type {type_name!r}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data and f.default is not dataclasses.MISSING:
            continue  # a field added later (e.g. RunFinished.interrupted): a document written before it
        value = data[f.name]
        if f.name == "steps":
            value = [_event("StepFinished", step) for step in value]
        elif f.name in ("nodes", "not_run", "cleanup_problems"):
            value = tuple(value)
        elif value is not None and "Path" in str(f.type):
            value = Path(value)
        values[f.name] = value
    event: events.Event = cls(**values)
    return event
