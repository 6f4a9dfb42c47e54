"""A column's results read back: the `kdbgtest-run/1` document as the runner's own event objects.

Results may have moved since the run (e.g. CI jobs upload `reports/` and a later job downloads it elsewhere):
a transcript or artifacts path that no longer exists is looked for under the document's directory by the
longest tail of the path that does (`.../reports/artifacts/<scenario>-<run id>/01-x.transcript.txt` ->
`<document dir>/artifacts/<scenario>-<run id>/01-x.transcript.txt`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from kdbgtest.matrix import model
from kdbgtest.matrix.spec import MatrixError
from kdbgtest.report import json_report, record
from kdbgtest.runner import events

_TAIL_PARTS = 6  # the longest path tail tried when relocating


@dataclass
class Run:
    """A column with its results read back (`recorder` is None when the cluster did not run)."""

    column: model.Column
    recorder: record.Recorder | None


def load(column: model.Column, out: Path) -> Run:
    """Read a column's results document; its header fills in the server and kubectl versions."""
    if column.results is None:
        return Run(column, None)
    path = Path(os.path.normpath(out / column.results))  # `out` may not exist yet: no `..` through it
    try:
        found = json_report.load_events(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MatrixError(f"cannot read the results of {column.label} from {path}: {exc}") from None
    recorder = record.Recorder()
    for event in found:
        recorder.add(relocated(event, path.parent))
    started = recorder.run
    if started is not None:
        column = replace(
            column,
            server_version=started.server_version,
            cluster_name=started.cluster_name,
            nodes=started.nodes,
            kubectl_version=started.kubectl_version,
        )
    return Run(column, recorder)


def relocated(event: events.Event, base: Path) -> events.Event:
    """`event` with its transcript and artifacts paths found again if the results have moved."""
    if isinstance(event, events.StepFinished):
        return _step(event, base)
    if isinstance(event, events.ScenarioFinished):
        artifacts = find(event.artifacts, base) if event.artifacts is not None else None
        return replace(event, artifacts=artifacts, steps=[_step(step, base) for step in event.steps])
    return event


def _step(step: events.StepFinished, base: Path) -> events.StepFinished:
    return replace(step, transcript=find(step.transcript, base)) if step.transcript is not None else step


def find(path: Path, base: Path) -> Path:
    """`path` if it exists, else the longest tail of it that exists under `base`, else `path` unchanged."""
    if path.exists():
        return path
    for count in range(min(len(path.parts) - 1, _TAIL_PARTS), 0, -1):
        candidate = base.joinpath(*path.parts[-count:])
        if candidate.exists():
            return candidate
    return path
