"""`matrix.json`: the matrix for machines, format `kdbgtest-matrix/1` (keys sorted, paths relative to it).

    {
      "format": "kdbgtest-matrix/1",
      "exit_code": 0 | 1 | 2,             # 1: a scenario failed somewhere; 2: a cluster could not be used
      "summary": {"columns", "scenarios", "failing", "regressions", "fixes", "differences"},   # counts
      "columns": [{"id", "label", "provider", "source", "server_version", "cluster_name",
                   "kubectl_version", "results", "error"}],                  # in version order
      "scenarios": [{"scenario", "path", "cells": {"<column id>": {"verdict", "reason", "link"}}}],
      "regressions": [{"scenario", "before", "after", "before_verdict", "after_verdict", "reason",
                       "step", "link"}],                                     # before/after: column ids
      "fixes": [...same keys as regressions],
      "differences": [{"scenario", "aspect", "before", "after", "summary", "step", "index", "diff",
                       "links": {"<column id>": "<path>"}}]
    }

`verdict` is passed | failed | error | skipped | missing; `aspect` is skipped-vs-run | output | observed.
`load` reads a document back into the same objects (`from_json(to_json(m)) == m`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from kdbgtest.matrix import model
from kdbgtest.matrix.spec import MatrixError

FORMAT = "kdbgtest-matrix/1"


def to_json(matrix: model.Matrix) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "exit_code": matrix.exit_code,
        "summary": {
            "columns": len(matrix.columns),
            "scenarios": len(matrix.rows),
            "failing": len(matrix.failing),
            "regressions": len(matrix.regressions),
            "fixes": len(matrix.fixes),
            "differences": len(matrix.differences),
        },
        "columns": [dataclasses.asdict(c) for c in matrix.columns],
        "scenarios": [dataclasses.asdict(r) for r in matrix.rows],
        "regressions": [dataclasses.asdict(c) for c in matrix.regressions],
        "fixes": [dataclasses.asdict(c) for c in matrix.fixes],
        "differences": [dataclasses.asdict(d) for d in matrix.differences],
    }


def dumps(matrix: model.Matrix) -> str:
    return json.dumps(to_json(matrix), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def from_json(document: dict[str, Any]) -> model.Matrix:
    """The matrix of a `kdbgtest-matrix/1` document."""
    if document.get("format") != FORMAT:
        raise MatrixError(f"not a {FORMAT} document (format: {document.get('format')!r})")
    rows = [
        model.Row(r["scenario"], r["path"], {k: model.Cell(**v) for k, v in r["cells"].items()})
        for r in document["scenarios"]
    ]
    return model.Matrix(
        columns=[model.Column(**{**c, "nodes": tuple(c.get("nodes", ()))}) for c in document["columns"]],
        rows=rows,
        regressions=[model.Change(**c) for c in document["regressions"]],
        fixes=[model.Change(**c) for c in document["fixes"]],
        differences=[model.Difference(**d) for d in document["differences"]],
    )


def load(path: Path) -> model.Matrix:
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MatrixError(f"cannot read the matrix document {path}: {exc}") from None
