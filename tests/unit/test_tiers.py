"""The test tiers of tests/conftest.py: every module named as end to end exists (a renamed one would silently go
back to `unit`), and `-m unit` selects no module that drives real programs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]


def _tiers() -> Any:
    spec = importlib.util.spec_from_file_location("tests_root_conftest", TESTS / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_end_to_end_module_exists_and_is_e2e() -> None:
    tiers = _tiers()
    for name in tiers.END_TO_END:
        path = TESTS / name
        assert path.is_file(), f"tests/conftest.py names {name}, which does not exist"
        assert tiers.tier(path) == "e2e"


def test_unit_folders_are_unit_otherwise() -> None:
    tiers = _tiers()
    assert tiers.tier(TESTS / "unit" / "matrix" / "test_matrix_compare.py") == "unit"
    assert tiers.tier(TESTS / "sim" / "unit" / "test_versions.py") == "unit"
