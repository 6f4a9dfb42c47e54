"""Build the matrix from its columns' results and write `matrix.md`, `matrix.json` and `matrix.html` to `out`.

Columns can also come from existing `kdbgtest-run/1` documents (`kdbgtest matrix --results A.json B.json`,
e.g. one per CI job): they are ordered by the server version each document records.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from kdbgtest.matrix import compare, document, model, render_html, render_md, results, spec
from kdbgtest.matrix.spec import MatrixError

MARKDOWN, JSON, HTML = "matrix.md", "matrix.json", "matrix.html"


def build(
    columns: list[model.Column], out: Path, expected: Mapping[str, str] | None = None
) -> tuple[model.Matrix, dict[str, str]]:
    """The matrix of `columns` (in version order), and the diff files it links to; `expected` scenarios
    (name -> file) are rows even if no cluster ran them."""
    return compare.compare([results.load(c, out) for c in columns], out, expected)


def write(matrix: model.Matrix, diffs: dict[str, str], out: Path) -> list[Path]:
    """Write the three reports and the diff files; return the reports' paths."""
    reports = {
        MARKDOWN: render_md.render(matrix, diffs),
        JSON: document.dumps(matrix),
        HTML: render_html.render(matrix, diffs),
    }
    return write_files(out, diffs, reports)


def write_files(out: Path, diffs: dict[str, str], reports: Mapping[str, str]) -> list[Path]:
    """Write the diff files (an earlier report's removed first) and each report atomically (name -> text);
    return the reports' paths. The upgrade report writes its files the same way."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / compare.DIFF_DIR, ignore_errors=True)  # an earlier report's diffs
    for relative, text in diffs.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    written = []
    for name, text in reports.items():
        path = out / name
        partial = path.with_name(name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        written.append(path)
    return written


def columns_from_results(paths: list[Path], out: Path) -> list[model.Column]:
    """Columns for existing run documents, ordered by the Kubernetes version each records."""
    found = [(_header(path), path) for path in paths]
    found.sort(key=lambda item: _version_key(str(item[0].get("server_version", ""))))
    labels = [f"{header.get('cluster_kind', '?')} {header.get('server_version', '?')}" for header, _ in found]
    columns = []
    for (header, path), (label, slug) in zip(found, spec.unique_names(labels), strict=True):
        relative = os.path.relpath(path.resolve(), out.resolve())
        provider = str(header.get("cluster_kind", "?"))
        columns.append(model.Column(slug, label, provider, str(path), results=relative))
    return columns


def _header(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MatrixError(f"cannot read run results {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        raise MatrixError(f"{path} is not a kdbgtest-run/1 document of a started run (`kdbgtest run --json`)")
    run: dict[str, object] = data["run"]
    return run


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)) or (999,)
