"""Events gathered per scenario, and a failure described for people; shared by every reporter.

Reporters receive events one by one. `Recorder` files them under their scenario so that, when a scenario
finishes, its failing step can be shown with its YAML line and kind (from `StepStarted`) next to its message,
command and output (from `StepFinished`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from kdbgtest.debug import ansi
from kdbgtest.runner import events

TAIL_LINES = 20
_TRANSCRIPT_READ_LIMIT = 256 * 1024  # only the end of a long transcript is read for its tail


@dataclass
class StepRecord:
    started: events.StepStarted | None = None
    finished: events.StepFinished | None = None


@dataclass
class ScenarioRecord:
    name: str
    started: events.ScenarioStarted | None = None
    steps: dict[int, StepRecord] = field(default_factory=dict)  # by step index
    finished: events.ScenarioFinished | None = None
    cleanup: events.CleanupFinished | None = None


class Recorder:
    """Files events by scenario, in the order scenarios started."""

    def __init__(self) -> None:
        self.run: events.RunStarted | None = None
        self.summary: events.RunFinished | None = None
        self.scenarios: dict[str, ScenarioRecord] = {}

    def add(self, event: events.Event) -> ScenarioRecord | None:
        """Record `event`; return the record of the scenario it belongs to (None for run events)."""
        if isinstance(event, events.RunStarted):
            self.run = event
            return None
        if isinstance(event, events.RunFinished):
            self.summary = event
            return None
        record = self.scenarios.setdefault(event.scenario, ScenarioRecord(event.scenario))
        if isinstance(event, events.ScenarioStarted):
            record.started = event
        elif isinstance(event, events.StepStarted):
            record.steps.setdefault(event.index, StepRecord()).started = event
        elif isinstance(event, events.StepFinished):
            record.steps.setdefault(event.index, StepRecord()).finished = event
        elif isinstance(event, events.ScenarioFinished):
            record.finished = event
        else:
            record.cleanup = event
        return record


class FileReporter:
    """A reporter that records the run and (re)writes one file from it when the run finishes and on close,
    atomically: a `.partial` file beside it, renamed into place. Subclasses write the file in `_write_to`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recorder = Recorder()

    def handle(self, event: events.Event) -> None:
        self.recorder.add(event)
        if isinstance(event, events.RunFinished):
            self.write()

    def close(self) -> None:
        self.write()

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        self._write_to(partial)
        partial.replace(self.path)

    def _write_to(self, partial: Path) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Failure:
    """A failed (or errored) scenario, described for people."""

    summary: str  # one line: what went wrong
    location: str  # scenarios/x.yaml:42 (the failing step's line, else the scenario's)
    path: Path  # the scenario file
    line: int  # the line in `location`, 0 when unknown
    step: str  # `step 3 'attach-debug' (debug)`, or "" when no step failed (setup, cleanup)
    message: str  # the full message, possibly several lines
    command: str  # the command the step ran, shell-quoted, or ""
    transcript: Path | None
    tail: str  # last lines of what the command printed, escape sequences stripped
    artifacts: Path | None


def describe_failure(record: ScenarioRecord, tail_lines: int = TAIL_LINES) -> Failure:
    """What a person needs to see about a scenario that did not pass."""
    finished = record.finished
    step = _failed_step(record)
    started = step.started if step else None
    done = step.finished if step else None
    path = finished.path if finished else (record.started.path if record.started else Path("?"))
    line = started.line if started else (record.started.line if record.started else 0)
    message = (done.message if done and done.message else "") or (finished.message if finished else "")
    message = ansi.strip(message)
    return Failure(
        summary=(message.strip().splitlines() or ["(no message)"])[0],
        location=f"{path}:{line}" if line else str(path),
        path=path,
        line=line,
        step=_step_label(started, done),
        message=message.strip(),
        command=shlex.join(done.argv) if done and done.argv else "",
        transcript=done.transcript if done else None,
        tail=_tail(done, tail_lines),
        artifacts=finished.artifacts if finished else None,
    )


def _failed_step(record: ScenarioRecord) -> StepRecord | None:
    """The step named by ScenarioFinished.failed_step, else the first step that did not pass."""
    wanted = record.finished.failed_step if record.finished else None
    ordered = [record.steps[i] for i in sorted(record.steps)]
    for step in ordered:
        if wanted is not None and step.finished is not None and step.finished.step == wanted:
            return step
    for step in ordered:
        if step.finished is not None and step.finished.verdict in ("failed", "error"):
            return step
    return None


def _step_label(started: events.StepStarted | None, done: events.StepFinished | None) -> str:
    if started is not None:
        prefix = "finally step" if started.is_finally else "step"
        return f"{prefix} {started.index} '{started.step}' ({started.kind})"
    if done is not None:
        return f"step {done.index} '{done.step}'"
    return ""


def _tail(done: events.StepFinished | None, lines: int) -> str:
    """The step's output tail, or the end of its transcript file when the runner gave none."""
    if done is None:
        return ""
    text = ansi.strip(done.output_tail)
    if not text.strip() and done.transcript is not None:
        text = read_transcript_tail(done.transcript)
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def read_transcript_tail(path: Path) -> str:
    """The end of a raw transcript file, cleaned of escape sequences ("" if it cannot be read)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(size - _TRANSCRIPT_READ_LIMIT, 0))
            raw = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return ansi.strip(raw)
