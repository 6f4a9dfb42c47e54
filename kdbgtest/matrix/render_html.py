"""`matrix.html`: one self-contained page (inline CSS, no scripts, no external assets); links are relative."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from kdbgtest.matrix import model, render_md

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.passed { background: #dafbe1; } td.failed, td.error { background: #ffebe9; }
td.skipped { background: #fff8c5; } td.missing { background: #eaeef2; }
.reason { display: block; font-size: 12px; color: #57606a; max-width: 28em; overflow-wrap: anywhere; }
pre { background: #f6f8fa; padding: .5em; overflow-x: auto; }
code { background: #f6f8fa; padding: 0 .25em; border-radius: 3px; }
li { margin: .3em 0; }
"""


def render(matrix: model.Matrix, diffs: Mapping[str, str] | None = None) -> str:
    """The page; `diffs` (diff file -> text) are shown inline, folded, so the page stands alone."""
    body = ["<h1>kdbgtest matrix</h1>", f"<p>{inline(render_md.headline(matrix))}</p>", *sections(matrix, diffs)]
    return page("kdbgtest matrix", body)


def sections(matrix: model.Matrix, diffs: Mapping[str, str] | None = None) -> list[str]:
    """Everything below the headline (reused by the upgrade report)."""
    return [
        _grid(matrix),
        f"<p>{escape(render_md.LEGEND)}</p>",
        _columns(matrix),
        _changes("Regressions", "passed on one version, fails on the next", matrix.regressions, matrix),
        _changes("Fixes", "failed on one version, passes on the next", matrix.fixes, matrix),
        _differences(matrix, diffs or {}),
    ]


def page(title: str, body: list[str], style: str = "") -> str:
    """A self-contained HTML page."""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{STYLE}{style}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def inline(text: str) -> str:
    """The headline's **bold** as <strong>."""
    parts = escape(text).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def link(href: str | None, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text)


def _grid(matrix: model.Matrix) -> str:
    head = "".join(f"<th>{escape(c.label)}</th>" for c in matrix.columns)
    rows = [f"<table>\n<thead><tr><th>Scenario</th>{head}</tr></thead>\n<tbody>"]
    for row in matrix.rows:
        cells = "".join(_cell(row.cells[c.id]) for c in matrix.columns)
        rows.append(f'<tr><th><code title="{escape(row.path)}">{escape(row.scenario)}</code></th>{cells}</tr>')
    rows.append("</tbody>\n</table>")
    return "\n".join(rows)


def _cell(cell: model.Cell) -> str:
    text = f"{render_md.ICONS.get(cell.verdict, '?')} {cell.verdict}"
    reason = f'<span class="reason">{escape(cell.reason)}</span>' if cell.reason else ""
    return f'<td class="{escape(cell.verdict)}">{link(cell.link, text)} {reason}</td>'


def _columns(matrix: model.Matrix) -> str:
    rows = ["<h2>Clusters</h2>", "<table>", "<tr><th>Column</th><th>Provider</th><th>Server</th>"
            "<th>kubectl</th><th>Source</th><th>Results</th></tr>"]  # fmt: skip
    for c in matrix.columns:
        results = link(c.results, c.results) if c.results else escape(f"not run: {c.error}")
        values = [c.label, c.provider, c.server_version or "?", c.kubectl_version or "?", c.source]
        rows.append("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in values) + f"<td>{results}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _changes(title: str, meaning: str, changes: list[model.Change], matrix: model.Matrix) -> str:
    items = []
    for change in changes:
        before, after = matrix.column(change.before), matrix.column(change.after)
        where = f"{change.step}: " if change.step else ""
        flip = f"{before.label} {change.before_verdict} → {after.label} {change.after_verdict}"
        linked = f" ({link(change.link, 'transcript/artifacts')})" if change.link else ""
        items.append(
            f"<li><strong>{escape(change.scenario)}</strong>: {escape(flip)}: "
            f"{escape(where + change.reason)}{linked}</li>"
        )
    listed = f"<ul>\n{chr(10).join(items)}\n</ul>" if items else "<p>None.</p>"
    return f"<h2>{escape(title)} ({len(changes)})</h2>\n<p><em>{escape(meaning)}</em></p>\n{listed}"


def _folded(diff: str | None) -> str:
    if not diff:
        return ""
    return f"<details><summary>diff</summary><pre>{escape(render_md.excerpt(diff))}</pre></details>"


def _differences(matrix: model.Matrix, diffs: Mapping[str, str]) -> str:
    items = []
    for d in matrix.differences:
        before, after = matrix.column(d.before), matrix.column(d.after)
        step = f", step {d.index} '{d.step}'" if d.step else ""
        links = [link(d.diff, "diff")] if d.diff else []
        links += [link(path, matrix.column(cid).label) for cid, path in d.links.items()]
        items.append(
            f"<li><strong>{escape(d.scenario)}</strong>{escape(step)} ({escape(d.aspect)}, "
            f"{escape(before.label)} → {escape(after.label)}): <code>{escape(d.summary)}</code>"
            + (f" — {', '.join(links)}" if links else "")
            + (f" — <em>accepted: {escape(d.accepted)}</em>" if d.accepted else "")
            + _folded(diffs.get(d.diff or ""))
            + "</li>"
        )
    listed = f"<ul>\n{chr(10).join(items)}\n</ul>" if items else "<p>None.</p>"
    meaning = "not failures: what a scenario showed differently on the next version"
    return f"<h2>Behaviour differences ({len(matrix.differences)})</h2>\n<p><em>{meaning}</em></p>\n{listed}"
