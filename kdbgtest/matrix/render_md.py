"""`matrix.md`: the matrix as Markdown, fit for `$GITHUB_STEP_SUMMARY` (links are relative to the report)."""

from __future__ import annotations

from collections.abc import Mapping

from kdbgtest.matrix import model

ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭", "missing": "⬜"}
LEGEND = "✅ passed · ❌ failed · 💥 error · ⏭ skipped · ⬜ not run"
_REASON = 90  # characters of a reason in a grid cell
DIFF_LINES = 40  # lines of a diff shown inline


def render(matrix: model.Matrix, diffs: Mapping[str, str] | None = None) -> str:
    """The report; `diffs` (diff file -> text) are shown inline, folded, since the step summary of a CI job
    cannot follow relative links."""
    return "\n".join(["# kdbgtest matrix\n", headline(matrix) + "\n", *sections(matrix, diffs)])


def sections(matrix: model.Matrix, diffs: Mapping[str, str] | None = None) -> list[str]:
    """Everything below the headline: grid, clusters, regressions, fixes, differences (reused by the upgrade
    report, whose columns are phases)."""
    parts = [
        _grid(matrix),
        _columns(matrix),
        _changes("Regressions", "passed on one version, fails on the next", matrix.regressions, matrix),
        _changes("Fixes", "failed on one version, passes on the next", matrix.fixes, matrix),
        _differences(matrix, diffs or {}),
    ]
    return [p for p in parts if p]


def headline(matrix: model.Matrix) -> str:
    """One sentence: how much ran where, and what changed."""
    counts = (
        f"**{len(matrix.regressions)} regression(s)**, {len(matrix.fixes)} fix(es), "
        f"{len(matrix.differences)} behaviour difference(s)"
    )
    accepted = sum(1 for d in matrix.differences if d.accepted)
    if accepted:
        counts += f" ({accepted} accepted, {len(matrix.differences) - accepted} open)"
    failing = matrix.failing
    fails = f"; **{len(failing)} scenario(s) failing** on at least one cluster" if failing else ""
    broken = [c.label for c in matrix.columns if c.error]
    tail = f"; could not use: {', '.join(broken)}" if broken else ""
    return f"{len(matrix.rows)} scenario(s) on {len(matrix.columns)} cluster(s): {counts}{fails}{tail}."


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
        lines.append(f"| {_cell_text(c.label)} | {c.provider} | {server} | {c.kubectl_version or '?'} | {results} |")
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


def _differences(matrix: model.Matrix, diffs: Mapping[str, str]) -> str:
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
        accepted = f" — _accepted: {d.accepted}_" if d.accepted else ""
        lines.append(
            f"- **{d.scenario}**{step} ({d.aspect}, {before.label} → {after.label}): {d.summary}"
            + (f" — {', '.join(links)}" if links else "")
            + accepted
        )
        if d.diff and d.diff in diffs:
            body = _excerpt(diffs[d.diff], "  ")
            lines.append(f"  <details><summary>diff</summary>\n\n  ```diff\n{body}\n  ```\n  </details>")
    return "\n".join(lines) + "\n"


def excerpt(text: str) -> str:
    """The first lines of a diff (a long one says how many more there are)."""
    lines = text.rstrip("\n").splitlines()
    more = [f"... {len(lines) - DIFF_LINES} more line(s) in the file"] if len(lines) > DIFF_LINES else []
    return "\n".join(lines[:DIFF_LINES] + more)


def _excerpt(text: str, indent: str) -> str:
    return "\n".join(indent + line.replace("```", "`\u200b``") for line in excerpt(text).splitlines())
