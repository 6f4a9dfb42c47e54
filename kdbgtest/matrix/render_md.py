"""`matrix.md`: the matrix as Markdown, fit for `$GITHUB_STEP_SUMMARY` (links are relative to the report)."""

from __future__ import annotations

from kdbgtest.matrix import model

ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭", "missing": "⬜"}
LEGEND = "✅ passed · ❌ failed · 💥 error · ⏭ skipped · ⬜ not run"
_REASON = 90  # characters of a reason in a grid cell


def render(matrix: model.Matrix) -> str:
    parts = [
        "# kdbgtest matrix\n",
        headline(matrix) + "\n",
        _grid(matrix),
        _columns(matrix),
        _changes("Regressions", "passed on one version, fails on the next", matrix.regressions, matrix),
        _changes("Fixes", "failed on one version, passes on the next", matrix.fixes, matrix),
        _differences(matrix),
    ]
    return "\n".join(p for p in parts if p)


def headline(matrix: model.Matrix) -> str:
    """One sentence: how much ran where, and what changed."""
    counts = (
        f"**{len(matrix.regressions)} regression(s)**, {len(matrix.fixes)} fix(es), "
        f"{len(matrix.differences)} behaviour difference(s)"
    )
    broken = [c.label for c in matrix.columns if c.error]
    tail = f"; could not use: {', '.join(broken)}" if broken else ""
    return f"{len(matrix.rows)} scenario(s) on {len(matrix.columns)} cluster(s): {counts}{tail}."


def _grid(matrix: model.Matrix) -> str:
    header = "| Scenario | " + " | ".join(_cell_text(c.label) for c in matrix.columns) + " |"
    lines = [header, "|---" * (len(matrix.columns) + 1) + "|"]
    for row in matrix.rows:
        cells = [_cell(row.cells[c.id]) for c in matrix.columns]
        lines.append(f"| `{row.scenario}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{LEGEND}\n"


def _cell(cell: model.Cell) -> str:
    icon = ICONS.get(cell.verdict, "?")
    shown = f"[{icon}]({cell.link})" if cell.link else icon
    if cell.reason and cell.verdict != "passed":
        reason = cell.reason if len(cell.reason) <= _REASON else cell.reason[: _REASON - 3] + "..."
        shown += " " + _cell_text(reason)
    return shown


def _cell_text(text: str) -> str:
    """Text safe inside a table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _columns(matrix: model.Matrix) -> str:
    lines = ["## Clusters\n", "| Column | Provider | Server | kubectl | Results |", "|---|---|---|---|---|"]
    for c in matrix.columns:
        results = f"[{c.results}]({c.results})" if c.results else _cell_text(f"not run: {c.error}")
        server = c.server_version or "?"
        lines.append(
            f"| {_cell_text(c.label)} | {c.provider} | {server} | {c.kubectl_version or '?'} | {results} |"
        )
    return "\n".join(lines) + "\n"


def _changes(title: str, meaning: str, changes: list[model.Change], matrix: model.Matrix) -> str:
    lines = [f"## {title} ({len(changes)})\n", f"_{meaning}_\n"]
    if not changes:
        lines.append("None.\n")
    for change in changes:
        before, after = matrix.column(change.before), matrix.column(change.after)
        where = f"{change.step}: " if change.step else ""
        link = f" ([transcript/artifacts]({change.link}))" if change.link else ""
        lines.append(
            f"- **{change.scenario}**: {before.label} {ICONS[change.before_verdict]} → {after.label} "
            f"{ICONS[change.after_verdict]}: {where}{change.reason}{link}"
        )
    return "\n".join(lines) + "\n"


def _differences(matrix: model.Matrix) -> str:
    lines = [
        f"## Behaviour differences ({len(matrix.differences)})\n",
        "_not failures: what a scenario showed differently on the next version (normalised output, API "
        "objects a debug step produced, skipped vs run)_\n",
    ]
    if not matrix.differences:
        lines.append("None.\n")
    for d in matrix.differences:
        before, after = matrix.column(d.before), matrix.column(d.after)
        step = f", step {d.index} '{d.step}'" if d.step else ""
        links = [f"[diff]({d.diff})"] if d.diff else []
        links += [f"[{matrix.column(cid).label}]({path})" for cid, path in d.links.items()]
        lines.append(
            f"- **{d.scenario}**{step} ({d.aspect}, {before.label} → {after.label}): {d.summary}"
            + (f" — {', '.join(links)}" if links else "")
        )
    return "\n".join(lines) + "\n"
