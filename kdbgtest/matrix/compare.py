"""Compare the runs of a matrix: the grid, regressions and fixes, and behaviour differences.

Neighbours are consecutive columns (columns are in version order). Between neighbours A -> B:
- a regression: passed on A, failed or errored on B; a fix: the reverse;
- a difference, when the scenario did not fail: skipped on one and run on the other; or, when it passed on
  both, per step: the command's output or the session's transcript tail (normalised, see normalise.py), or
  the API objects a debug step produced (`StepFinished.observed`: the debug container, its pod's settings).
Runs are read back from their `kdbgtest-run/1` documents as the runner's own event objects (results.py).
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kdbgtest.matrix import model, normalise
from kdbgtest.matrix.results import Run
from kdbgtest.report import record
from kdbgtest.runner import events

DIFF_DIR = "differences"
_SHOWN = 100  # characters of a value in a one-line summary


def compare(
    runs: list[Run], out: Path, expected: Mapping[str, str] | None = None
) -> tuple[model.Matrix, dict[str, str]]:
    """The matrix, and the diff files it links to (relative path -> text), for runs in column order.

    `expected` (scenario name -> file) are rows even where no cluster ran them; others come from the runs.
    """
    expected = expected or {}
    names = list(dict.fromkeys([*expected, *_scenario_names(runs)]))
    rows = [_row(name, runs, out, expected.get(name, "")) for name in names]
    matrix = model.Matrix(columns=[r.column for r in runs], rows=rows)
    files: dict[str, str] = {}
    for before, after in itertools.pairwise(runs):
        for name in names:
            _pair(matrix, files, name, before, after, out)
    return matrix, files


def _scenario_names(runs: list[Run]) -> list[str]:
    names: dict[str, None] = {}
    for run in runs:
        if run.recorder is not None:
            names.update(dict.fromkeys(run.recorder.scenarios))
    return list(names)


def _row(name: str, runs: list[Run], out: Path, path: str) -> model.Row:
    found = (_finished(run, name) for run in runs)
    path = next((str(done.path) for done in found if done is not None), path)
    return model.Row(name, path, {run.column.id: _cell(run, name, out) for run in runs})


def _finished(run: Run, name: str) -> events.ScenarioFinished | None:
    found = run.recorder.scenarios.get(name) if run.recorder is not None else None
    return found.finished if found is not None else None


def _cell(run: Run, name: str, out: Path) -> model.Cell:
    results = run.column.results
    if run.recorder is None:
        return model.Cell("missing", f"the cluster could not be used: {run.column.error}")
    scenario = run.recorder.scenarios.get(name)
    if scenario is None:
        return model.Cell("missing", "not run on this cluster", results)
    finished = scenario.finished
    if finished is None:
        return model.Cell("error", "did not finish (interrupted?)", results)
    if finished.verdict == "passed":
        return model.Cell("passed", "", results)
    if finished.verdict == "skipped":
        return model.Cell("skipped", finished.message, results)
    failure = record.describe_failure(scenario)
    reason = f"{failure.step}: {failure.summary}" if failure.step else failure.summary
    return model.Cell(finished.verdict, reason, _failure_link(failure, out) or results)


def _failure_link(failure: record.Failure, out: Path) -> str | None:
    return _rel(failure.transcript, out) or _rel(failure.artifacts, out)


def _rel(path: Path | None, out: Path) -> str | None:
    if path is None:
        return None
    return os.path.relpath(path.resolve(), out.resolve())


# -- neighbours ----------------------------------------------------------------------------------------------


def _pair(matrix: model.Matrix, files: dict[str, str], name: str, a: Run, b: Run, out: Path) -> None:
    row = next(r for r in matrix.rows if r.scenario == name)
    before, after = row.cells[a.column.id], row.cells[b.column.id]
    verdicts = (before.verdict, after.verdict)
    if "missing" in verdicts:
        return
    if before.verdict == "passed" and after.verdict in model.FAILING:
        matrix.regressions.append(_change(name, a, b, verdicts, b, after))
    elif before.verdict in model.FAILING and after.verdict == "passed":
        matrix.fixes.append(_change(name, a, b, verdicts, a, before))
    elif "skipped" in verdicts and before.verdict != after.verdict:
        matrix.differences.append(_skip_difference(name, a, b, before, after))
    elif verdicts == ("passed", "passed"):
        for difference, text in _step_differences(name, a, b, out, len(files)):
            files[str(difference.diff)] = text
            matrix.differences.append(difference)


def _change(name: str, a: Run, b: Run, verdicts: tuple[str, str], failing: Run, cell: model.Cell) -> model.Change:
    assert failing.recorder is not None
    failure = record.describe_failure(failing.recorder.scenarios[name])
    return model.Change(
        scenario=name,
        before=a.column.id,
        after=b.column.id,
        before_verdict=verdicts[0],
        after_verdict=verdicts[1],
        reason=failure.summary,
        step=failure.step or None,
        link=cell.link,
    )


def _skip_difference(name: str, a: Run, b: Run, before: model.Cell, after: model.Cell) -> model.Difference:
    def side(run: Run, cell: model.Cell) -> str:
        why = f" ({cell.reason})" if cell.verdict == "skipped" and cell.reason else ""
        return f"{cell.verdict} on {run.column.label}{why}"

    links = {run.column.id: cell.link for run, cell in ((a, before), (b, after)) if cell.link}
    summary = f"{side(a, before)}; {side(b, after)}"
    return model.Difference(name, "skipped-vs-run", a.column.id, b.column.id, summary, links=links)


def _step_differences(name: str, a: Run, b: Run, out: Path, numbered: int) -> Iterator[tuple[model.Difference, str]]:
    assert a.recorder is not None and b.recorder is not None
    first, second = a.recorder.scenarios[name], b.recorder.scenarios[name]
    ctx_a, ctx_b = _context(a, first), _context(b, second)
    for index in sorted(set(first.steps) & set(second.steps)):
        done_a, done_b = first.steps[index].finished, second.steps[index].finished
        if done_a is None or done_b is None or done_a.step != done_b.step:
            continue
        facts = (
            ("output", _output(done_a, ctx_a), _output(done_b, ctx_b)),
            ("observed", _observed(done_a, ctx_a), _observed(done_b, ctx_b)),
        )
        for aspect, left, right in facts:
            if left == right:
                continue
            numbered += 1
            diff = f"{DIFF_DIR}/{numbered:03d}-{_slug(name)}-{_slug(done_a.step)}-{aspect}.diff"
            summary = _summary(aspect, left, right)
            links = {run.column.id: _step_link(run, done, out) for run, done in ((a, done_a), (b, done_b))}
            difference = model.Difference(
                name, aspect, a.column.id, b.column.id, summary, done_a.step, index, diff, links
            )
            yield difference, _diff_text(difference, a, b, left, right)


def _context(run: Run, scenario: record.ScenarioRecord) -> normalise.Context:
    assert run.recorder is not None
    started, finished = scenario.started, scenario.finished
    paths = {str(finished.artifacts)} if finished is not None and finished.artifacts else set()
    for step in scenario.steps.values():
        if step.finished is not None and step.finished.transcript is not None:
            paths.add(str(step.finished.transcript.parent))
    return normalise.Context.of(
        namespace=started.namespace if started else None,
        run_id=run.recorder.run.run_id if run.recorder.run else None,
        cluster=run.column.cluster_name,
        nodes=run.column.nodes,
        paths=paths,
    )


def _output(done: events.StepFinished, ctx: normalise.Context) -> list[str]:
    """The whole session when there is a transcript (a tail's window moves with the prompt lines in it)."""
    text = record.read_transcript_tail(done.transcript) if done.transcript is not None else ""
    return normalise.lines(text or done.output_tail, ctx)


def _observed(done: events.StepFinished, ctx: normalise.Context) -> list[str]:
    if done.observed is None:
        return []
    return json.dumps(normalise.value(done.observed, ctx), indent=2, sort_keys=True).splitlines()


def _step_link(run: Run, done: events.StepFinished, out: Path) -> str:
    return _rel(done.transcript, out) or str(run.column.results)


def _summary(aspect: str, left: list[str], right: list[str]) -> str:
    if aspect == "observed":
        return _observed_summary(left, right)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        if tag != "equal":
            old = " / ".join(left[i1:i2]) or "(nothing)"
            new = " / ".join(right[j1:j2]) or "(nothing)"
            return f"output: {_short(old)} -> {_short(new)}"
    return "output changed"


def _observed_summary(left: list[str], right: list[str]) -> str:
    old = normalise.flatten(json.loads("\n".join(left))) if left else {}
    new = normalise.flatten(json.loads("\n".join(right))) if right else {}
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k, _ABSENT) != new.get(k, _ABSENT)]
    parts = [f"{k}: {_show(old.get(k, _ABSENT))} -> {_show(new.get(k, _ABSENT))}" for k in changed[:3]]
    more = f" (+{len(changed) - 3} more)" if len(changed) > 3 else ""
    return "API objects: " + "; ".join(parts) + more


_ABSENT = object()


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else _short(json.dumps(value))


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _diff_text(difference: model.Difference, a: Run, b: Run, left: list[str], right: list[str]) -> str:
    header = (
        f"# {difference.scenario}, step {difference.index} '{difference.step}': {difference.aspect} "
        "(normalised: generated names, namespaces, times replaced by placeholders)\n"
    )
    body = difflib.unified_diff(left, right, fromfile=a.column.label, tofile=b.column.label, lineterm="")
    return header + "\n".join(body) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:40] or "x"
