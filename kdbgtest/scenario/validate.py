"""Validation of loaded YAML data: the model's structural checks, then semantic checks the model cannot do.

Every problem becomes a `ScenarioIssue` with `file:line:col` and, inside a step, the step's label
(`step 3 'attach-debug': ...`). All problems of a file are reported, not only the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic

from kdbgtest.scenario import model, semantics, structure
from kdbgtest.scenario.issues import ScenarioIssue, context_of
from kdbgtest.scenario.positions import Loc, Mark, Positions

Result = tuple[model.Scenario | None, list[ScenarioIssue]]


def validate(data: Any, positions: Positions, path: Path) -> Result:
    """The typed scenario (None if any structural error) and every issue found in `data`."""
    if not isinstance(data, dict):
        mark = positions.value(())
        message = f"a scenario file must be a mapping with 'name' and 'steps', got {structure.got(data)}"
        return None, [ScenarioIssue(path, mark.line, mark.col, message)]
    issue = _issue_maker(path, data)
    try:
        scenario = model.Scenario.model_validate(data, by_alias=True, by_name=False)
    except pydantic.ValidationError as exc:
        found = structure.translate(exc.errors(), data, positions)
        issues = [issue(f.loc, f.mark, f.message) for f in found]
        issues += [issue(f.loc, f.mark, f.message) for f in semantics.check_parts(data, positions, path)]
        return None, _unique(issues)
    issues = [issue(f.loc, f.mark, f.message) for f in semantics.check(scenario, data, positions, path)]
    return scenario, _unique(issues)


def _issue_maker(path: Path, data: Any) -> Any:
    def make(loc: Loc, mark: Mark, message: str) -> ScenarioIssue:
        context = context_of(loc, data)
        if context is not None and not message.startswith("must have"):
            message = f"{context}: {message}"
        elif context is not None:
            message = f"{context} {message}"
        return ScenarioIssue(path, mark.line, mark.col, message)

    return make


def _unique(issues: list[ScenarioIssue]) -> list[ScenarioIssue]:
    return sorted(dict.fromkeys(issues))
