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
from kdbgtest.scenario.positions import Positions

Result = tuple[model.Scenario | None, list[ScenarioIssue]]


def validate(data: Any, positions: Positions, path: Path) -> Result:
    """The typed scenario (None if any structural error) and every issue found in `data`."""
    if not isinstance(data, dict):
        mark = positions.value(())
        message = f"a scenario file must be a mapping with 'name' and 'steps', got {structure.got(data)}"
        return None, [ScenarioIssue(path, mark.line, mark.col, message)]
    if "name" not in data and "steps" not in data:
        mark = positions.value(())
        keys = ", ".join(str(key) for key in list(data)[:5]) or "nothing"
        message = (
            f"not a scenario file: a scenario is a YAML mapping with top-level 'name' and 'steps', this one has "
            f"{keys}; other YAML files are skipped in a scenario directory, but a file named on its own must be "
            "a scenario"
        )
        return None, [ScenarioIssue(path, mark.line, mark.col, message)]
    try:
        scenario = model.Scenario.model_validate(data, by_alias=True, by_name=False)
    except pydantic.ValidationError as exc:
        found = structure.translate(exc.errors(), data, positions)
        found += semantics.check_parts(data, positions, path)
        return None, _issues(found, path, data)
    return scenario, _issues(semantics.check(scenario, data, positions, path), path, data)


def _issues(found: list[structure.Found], path: Path, data: Any) -> list[ScenarioIssue]:
    """Sorted, de-duplicated issues, each message prefixed with its step: `step 3 'attach-debug': ...`."""
    issues = {_issue(f, path, data) for f in found}
    return sorted(issues)


def _issue(found: structure.Found, path: Path, data: Any) -> ScenarioIssue:
    context = context_of(found.loc, data)
    message = found.message
    if context is not None:
        # "step 2 'x' must have exactly one of ..." reads as one sentence; everything else gets a colon.
        joiner = " " if message.startswith("must have exactly one of") else ": "
        message = f"{context}{joiner}{message}"
    return ScenarioIssue(path, found.mark.line, found.mark.col, message)
