"""Checks the model cannot express (fixtures, regexes, variables, mode rules). Filled in next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdbgtest.scenario import model
from kdbgtest.scenario.positions import Positions
from kdbgtest.scenario.structure import Found


def check(scenario: model.Scenario, data: Any, positions: Positions, path: Path) -> list[Found]:
    return []


def check_parts(data: Any, positions: Positions, path: Path) -> list[Found]:
    return []
