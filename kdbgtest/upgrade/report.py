"""`upgrade.md`, `upgrade.json` (`kdbgtest-upgrade/1`) and `upgrade.html`: the matrix report's style, with the
phases `before` and `after` as its two columns, plus the upgrade's steps and the witnesses' checkpoints."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kdbgtest.matrix import document, render_html, render_md
from kdbgtest.matrix import model as matrix_model
from kdbgtest.matrix import report as matrix_report
from kdbgtest.upgrade.model import PHASES, Check, Upgrade

SCHEMA = "kdbgtest-upgrade/1"
MARKDOWN, JSON, HTML = "upgrade.md", "upgrade.json", "upgrade.html"
OK, BROKEN, LATE = "✅", "❌", "⚠️"
STYLE = "td.ok { background: #dafbe1; } td.broken { background: #ffebe9; } td.late { background: #fff8c5; }"


def build(result: Upgrade, out: Path, expected: Mapping[str, str]) -> dict[str, str]:
    """Compare the phases that ran (fills `result.matrix`); return the diff files the reports link to. A phase
    the upgrade never reached is a column that says so."""
    from kdbgtest.upgrade.run import columns

    found = columns(result)
    reached = {p.id for p in result.suite_phases}
    missing = [matrix_model.Column(id=p, label=p, provider=result.cluster, source=f"phase {p}",
                                   error="the upgrade stopped before this phase")
               for p in PHASES if p not in reached]  # fmt: skip
    matrix, diffs = matrix_report.build([*found, *missing], out, expected)
    result.matrix = matrix
    return diffs


def write(result: Upgrade, diffs: dict[str, str], out: Path) -> list[Path]:
    reports = {MARKDOWN: markdown(result, diffs), JSON: dumps(result), HTML: html(result, diffs)}
    return matrix_report.write_files(out, diffs, reports)


def headline(result: Upgrade) -> str:
    broken = len(result.broken_checks)
    suite = render_md.headline(result.matrix).rstrip(".") if result.matrix else "the suite did not run"
    stopped = f"; **the upgrade stopped**: {result.error}" if result.error else ""
    return (
        f"{result.cluster} {result.from_version} → {result.to_version} in {result.seconds:.0f}s: {suite}; "
        f"witnesses: **{broken} failed check(s)** of {len(result.checks)}, {len(result.recovered_checks)} worked only "
        f"after a retry{stopped}."
    )


# ---- JSON ----------------------------------------------------------------------------------------------------


def to_json(result: Upgrade) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "cluster": result.cluster,
        "from": result.from_version,
        "to": result.to_version,
        "drain": result.drain,
        "seconds": round(result.seconds, 1),
        "error": result.error,
        "phases": {k: round(v, 1) for k, v in result.phases.items()},
        "suite_phases": [dataclasses.asdict(p) for p in result.suite_phases],
        "steps": [{**dataclasses.asdict(s), "seconds": round(s.seconds, 1)} for s in result.steps],
        "versions": result.versions,
        "checks": [dataclasses.asdict(c) for c in result.checks],
        "suite": document.to_json(result.matrix) if result.matrix else None,
    }


def dumps(result: Upgrade) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"


# ---- Markdown ------------------------------------------------------------------------------------------------


def markdown(result: Upgrade, diffs: Mapping[str, str]) -> str:
    parts = [f"# kdbgtest upgrade: {result.cluster} {result.from_version} → {result.to_version}\n",
             headline(result) + "\n", _steps_md(result), _witnesses_md(result), _broken_md(result)]  # fmt: skip
    if result.matrix:
        parts += ["## The suite, before and after\n", *render_md.sections(result.matrix, diffs)]
    return "\n".join(parts)


def _steps_md(result: Upgrade) -> str:
    lines = ["## Steps\n", "| Step | From | To | Seconds | Error |", "|---|---|---|---|---|"]
    for phase, seconds in result.phases.items():
        lines.append(f"| phase `{phase}` | | | {seconds:.1f} | |")
    for step in result.steps:
        lines.append(f"| {step.component} | {step.before} | {step.after} | {step.seconds:.1f} | {_cell(step.error)} |")
    lines += ["", *(f"- {note}" for note in _skew_notes(result))]
    return "\n".join(lines) + "\n"


def _skew_notes(result: Upgrade) -> list[str]:
    return [f"{p.label}: not run ({p.error})" for p in result.suite_phases if p.error]


def _witnesses_md(result: Upgrade) -> str:
    points = result.checkpoints
    lines = ["## Witnesses\n", "_each cell: the checks at that checkpoint (running, preserved, exec, logs, attach, "
             "logs --previous); ❌ names the failed ones; links go to the witness's transcript_\n",
             "| Witness | " + " | ".join(points) + " |", "|---" * (len(points) + 1) + "|"]  # fmt: skip
    for witness in result.witnesses:
        cells = [_summary_md(_at(result, witness, point)) for point in points]
        lines.append(f"| `{witness}` | " + " | ".join(cells) + " |")
    components = _components(result)
    versions = ["", "| Checkpoint | " + " | ".join(components) + " |", "|---" * (len(components) + 1) + "|"]
    for point, running in result.versions.items():
        versions.append(f"| {point} | " + " | ".join(running.get(c, "") for c in components) + " |")
    return "\n".join(lines + versions) + "\n"


def _at(result: Upgrade, witness: str, checkpoint: str) -> list[Check]:
    return [c for c in result.checks if c.witness == witness and c.checkpoint == checkpoint]


def _summary_md(checks: list[Check]) -> str:
    if not checks:
        return "⬜"
    broken = [c.check for c in checks if not c.ok]
    late = [f"{c.check} {c.recovered:.0f}s" for c in checks if c.recovered is not None]
    shown = f"{BROKEN} {', '.join(broken)}" if broken else OK
    if late:
        shown += f" {LATE} {', '.join(late)}"
    return f"[{shown}]({checks[0].transcript})" if checks[0].transcript else shown


def _broken_md(result: Upgrade) -> str:
    lines = []
    for title, found in (("failed", result.broken_checks), ("worked only after a retry", result.recovered_checks)):
        lines.append(f"## Witness checks that {title} ({len(found)})\n")
        if not found:
            lines.append("None.\n")
        for c in found:
            lines.append(f"- **{c.witness}** {c.check} at _{c.checkpoint}_: {c.detail} ([transcript]({c.transcript}))")
        lines.append("")
    return "\n".join(lines)


def _components(result: Upgrade) -> list[str]:
    return list(dict.fromkeys(name for found in result.versions.values() for name in found))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# ---- HTML ----------------------------------------------------------------------------------------------------


def html(result: Upgrade, diffs: Mapping[str, str]) -> str:
    """The page: the upgrade's template (templates/upgrade.html.j2) on the matrix report's layout, autoescaped."""
    title = f"kdbgtest upgrade: {result.cluster} {result.from_version} → {result.to_version}"
    cells = {w: [_witness_cell(_at(result, w, point)) for point in result.checkpoints] for w in result.witnesses}
    template = render_html.environment("kdbgtest.upgrade").get_template("upgrade.html.j2")
    return template.render(
        title=title, style=render_html.style(STYLE), headline=headline(result), result=result, diffs=diffs,
        skew_notes=_skew_notes(result), cells=cells, components=_components(result),
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class WitnessCell:
    """All checks of one witness at one checkpoint: ok, late (worked after a retry) or broken, with details."""

    kind: str  # ok | late | broken: the cell's CSS class
    text: str
    title: str  # every check and what it saw
    transcript: str | None
    notable: list[tuple[str, Check]]  # (mark, check): the broken ones, then the late ones marked LATE


def _witness_cell(found: list[Check]) -> WitnessCell:
    broken = [c for c in found if not c.ok]
    late = [c for c in found if c.recovered is not None]
    return WitnessCell(
        kind="broken" if broken else "late" if late else "ok",
        text=f"{BROKEN} " + ", ".join(c.check for c in broken) if broken else f"{OK} all checks",
        title="; ".join(f"{c.check}: {c.detail}" for c in found),
        transcript=found[0].transcript if found else None,
        notable=[("", c) for c in broken] + [("" if c in broken else LATE + " ", c) for c in late],
    )
