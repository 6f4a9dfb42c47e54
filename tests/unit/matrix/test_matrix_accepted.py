"""Accepted behaviour differences: matched by scenario, step, aspect and text, marked with their reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest.matrix import accepted, model, render_md
from kdbgtest.matrix.spec import MatrixError


def _matrix(*differences: model.Difference) -> model.Matrix:
    columns = [model.Column("a", "sim 1.37", "sim", "sim:1.37"), model.Column("b", "local 1.37.2", "local", "local")]
    return model.Matrix(columns=columns, rows=[], differences=list(differences))


def _difference(scenario: str, step: str, summary: str) -> model.Difference:
    return model.Difference(scenario, "output", "a", "b", summary, step, 1, "differences/1.diff")


def test_a_matching_rule_marks_the_difference_and_the_headline_counts_it(tmp_path: Path) -> None:
    rules_file = tmp_path / "accepted.yaml"
    rules_file.write_text(
        "- scenario: copy-*\n  step: previous-logs-say-why\n  contains: 'app: fatal'\n"
        "  why: stdout and stderr interleave in either order\n"
    )
    rules = accepted.load(rules_file)
    open_one = _difference("copy-crashloop-shell", "copy-with-shell", "output: (nothing) -> BusyBox v1.35.0")
    known = _difference("copy-crashloop-shell", "previous-logs-say-why", "output: x -> y")
    matrix = accepted.apply(_matrix(open_one, known), {"differences/1.diff": "+app: fatal: config"}, rules)
    assert [d.accepted for d in matrix.differences] == ["", "stdout and stderr interleave in either order"]
    assert "2 behaviour difference(s) (1 accepted, 1 open)" in render_md.headline(matrix)
    assert "_accepted: stdout and stderr interleave in either order_" in render_md.render(matrix, {})


def test_a_rule_without_a_reason_is_one_line_naming_the_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "accepted.yaml"
    rules_file.write_text("- scenario: x\n  becuase: typo\n")
    with pytest.raises(MatrixError, match=r"accepted.yaml: entry 1 needs `scenario` and `why` \(unknown: becuase\)"):
        accepted.load(rules_file)
