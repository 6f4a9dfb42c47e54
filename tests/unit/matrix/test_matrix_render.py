"""The three report formats: Markdown grid and sections, a self-contained HTML page, JSON that round-trips."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from matrix_runs import Scenario, Step, write_run

from kdbgtest.matrix import document, model, report

VOID = {"meta", "br", "hr", "img", "link", "input"}


class Page(HTMLParser):
    """Checks that every tag is closed in order; collects links, external references and table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "td":
            self._cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _matrix(tmp_path: Path) -> tuple[model.Matrix, list[Path]]:
    a = write_run(
        tmp_path,
        "old",
        [
            Scenario("breaks", steps=[Step("attach")]),
            Scenario("talks", steps=[Step("exec", output="error: a | b <x>")]),
            Scenario("skips", "skipped", message="needs node-debug"),
        ],
        server_version="1.33",
    )
    b = write_run(
        tmp_path,
        "new",
        [
            Scenario("breaks", "failed", [Step("attach", "failed", message="no prompt | <none>")]),
            Scenario("talks", steps=[Step("exec", output="error: c")]),
            Scenario("skips", "skipped", message="needs node-debug"),
        ],
        server_version="1.34",
    )
    matrix, diffs = report.build([a, b], tmp_path)
    return matrix, report.write(matrix, diffs, tmp_path)


def test_markdown_has_the_grid_the_regression_and_the_difference(tmp_path: Path) -> None:
    _, written = _matrix(tmp_path)
    text = (tmp_path / "matrix.md").read_text()
    assert [p.name for p in written] == ["matrix.md", "matrix.json", "matrix.html"]
    assert "| Scenario | sim 1.33 old | sim 1.34 new |" in text
    assert (
        "| `breaks` | [✅](old/results.json) | [❌](new/artifacts/breaks-0badc0de) "
        "step 1 'attach' (debug): no prompt \\| <none> |" in text
    )
    assert "| `skips` | [⏭](old/results.json) needs node-debug | [⏭](new/results.json) needs node-debug |" in text
    assert "## Regressions (1)" in text and "- **breaks**: sim 1.33 old ✅ → sim 1.34 new ❌" in text
    assert "## Behaviour differences (1)" in text
    assert "[diff](differences/001-talks-exec-output.diff)" in text
    assert "  ```diff\n  # talks, step 1 'exec': output" in text, "the diff inline, for a CI step summary"
    assert "\n  -error: a | b <x>\n  +error: c\n  ```\n  </details>" in text
    assert "**1 regression(s)**, 0 fix(es), 1 behaviour difference(s)" in text


def test_html_is_one_well_formed_page_whose_links_resolve(tmp_path: Path) -> None:
    _matrix(tmp_path)
    text = (tmp_path / "matrix.html").read_text()
    page = Page()
    page.feed(text)
    page.close()
    assert page.problems == [] and page.open == []
    assert page.external == [], "self-contained: no scripts, stylesheets or images to fetch"
    assert "<style>" in text and "http" not in text
    assert "✅ passed" in page.cells and "❌ failed step 1 'attach' (debug): no prompt | <none>" in page.cells
    assert "&lt;none&gt;" in text, "reasons are escaped"
    assert "<details><summary>diff</summary><pre># talks, step 1" in text
    assert "\n-error: a | b &lt;x&gt;\n+error: c</pre></details>" in text
    for link in page.links:
        assert (tmp_path / link).exists(), link
    assert "differences/001-talks-exec-output.diff" in page.links


def test_json_document_round_trips_with_stable_keys(tmp_path: Path) -> None:
    matrix, _ = _matrix(tmp_path)
    raw = json.loads((tmp_path / "matrix.json").read_text())
    assert raw["format"] == "kdbgtest-matrix/1" and raw["exit_code"] == 1
    summary = {"columns": 2, "scenarios": 3, "failing": 1, "regressions": 1, "fixes": 0, "differences": 1}
    assert raw["summary"] == summary
    assert list(raw) == sorted(raw)
    assert sorted(raw["columns"][0]) == [
        "cluster_name", "error", "id", "kubectl_version", "label", "nodes", "provider", "results", "server_version",
        "source",
    ]  # fmt: skip
    assert document.load(tmp_path / "matrix.json") == matrix


def test_diff_files_of_an_earlier_report_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "differences" / "999-old.diff"
    stale.parent.mkdir()
    stale.write_text("old")
    _matrix(tmp_path)
    assert [p.name for p in (tmp_path / "differences").iterdir()] == ["001-talks-exec-output.diff"]


def test_markup_in_kubectl_messages_and_outputs_stays_text(tmp_path: Path) -> None:
    """A `<script>` in a failure message, a step's output (the inline diff) and a skip reason is shown, not run."""
    evil = "<script>alert('x & \"y\"')</script>"
    a = write_run(tmp_path, "old", [Scenario("talks", steps=[Step("exec", output="one")]),
                                    Scenario("skips", "skipped", message=evil)])  # fmt: skip
    b = write_run(tmp_path, "new", [Scenario("talks", "failed", [Step("exec", "failed", message=evil, output=evil)]),
                                    Scenario("skips", "skipped", message=evil)])  # fmt: skip
    matrix, diffs = report.build([a, b], tmp_path)
    report.write(matrix, diffs, tmp_path)
    text = (tmp_path / "matrix.html").read_text()
    page = Page()
    page.feed(text)
    page.close()
    assert page.problems == [] and page.external == [], "no <script> element, every tag closed in order"
    assert "<script>" not in text
    escaped = "&lt;script&gt;alert(&#39;x &amp; &#34;y&#34;&#39;)&lt;/script&gt;"
    assert text.count(escaped) >= 4, "in the grid's cells, the regression and the folded diff"
    assert f"❌ failed step 1 'exec' (debug): {evil}" in page.cells and f"⏭ skipped {evil}" in page.cells
