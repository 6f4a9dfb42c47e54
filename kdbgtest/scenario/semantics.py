"""Semantic checks after the model's own: step names, regexes, JMESPath, variables, and the per-step rules.

`check` runs on a valid `Scenario`. `check_parts` runs when the scenario as a whole is invalid: it validates
each step and fixture on its own and checks those that are valid, so one wrong type does not hide other
mistakes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jmespath
import jmespath.exceptions
import pydantic

from kdbgtest.scenario import model, rules, variables
from kdbgtest.scenario.issues import step_label
from kdbgtest.scenario.positions import Loc, Positions
from kdbgtest.scenario.structure import Found

T = TypeVar("T")
_STEP = pydantic.TypeAdapter[model.Step](model.Step)
_APPLY = pydantic.TypeAdapter(model.ApplyAction)
_VARS = pydantic.TypeAdapter(dict[str, str])


@dataclass(frozen=True)
class Parts:
    """The valid parts of a scenario (None where a part is invalid), each with its data path."""

    vars: dict[str, str] | None
    fixtures: Sequence[tuple[Loc, model.ApplyAction | None]]
    steps: Sequence[tuple[Loc, model.Step | None]]


def check(scenario: model.Scenario, data: Any, positions: Positions, path: Path) -> list[Found]:
    parts = Parts(
        vars=dict(scenario.vars),
        fixtures=[(("fixtures", i), f) for i, f in enumerate(scenario.fixtures)],
        steps=[(("steps", i), s) for i, s in enumerate(scenario.steps)]
        + [(("finally", i), s) for i, s in enumerate(scenario.finally_)],
    )
    return list(_check(parts, data, positions, path))


def check_parts(data: Any, positions: Positions, path: Path) -> list[Found]:
    if not isinstance(data, dict):
        return []
    parts = Parts(
        vars=_try(_VARS, data.get("vars", {})),
        fixtures=[(loc, _try(_APPLY, item)) for loc, item in _items(data, "fixtures")],
        steps=[(loc, _try(_STEP, item)) for loc, item in [*_items(data, "steps"), *_items(data, "finally")]],
    )
    return list(_check(parts, data, positions, path))


def _try(adapter: pydantic.TypeAdapter[T], value: Any) -> T | None:
    try:
        return adapter.validate_python(value, by_alias=True, by_name=False)
    except pydantic.ValidationError:
        return None


def _items(data: dict[str, Any], key: str) -> list[tuple[Loc, Any]]:
    items = data.get(key)
    return [((key, i), item) for i, item in enumerate(items)] if isinstance(items, list) else []


def _check(parts: Parts, data: Any, positions: Positions, path: Path) -> Iterator[Found]:
    step_rules = rules.Rules(positions, path.parent)
    yield from _duplicate_names(data, positions)
    for loc, fixture in parts.fixtures:
        if fixture is not None:
            yield from step_rules.apply(loc, fixture)
    for loc, step in parts.steps:
        if step is not None:
            yield from step_rules.step(loc, step)
            yield from _patterns(loc, step, positions)
    yield from _VariableCheck(parts, data, positions).run()


# -- names ---------------------------------------------------------------------------------------------------


def _duplicate_names(data: Any, positions: Positions) -> Iterator[Found]:
    seen: dict[str, tuple[str, Loc]] = {}
    if not isinstance(data, dict):
        return
    for section in ("steps", "finally"):
        for index, item in enumerate(data.get(section) or []):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            loc = (section, index, "name")
            first, first_loc = seen.setdefault(name, (step_label(section, index, item), loc))
            if first_loc != loc:
                line = positions.value(first_loc).line
                yield Found(
                    loc, positions.value(loc), f"duplicate step name '{name}' (also {first}, line {line})"
                )


# -- regexes and JMESPath ------------------------------------------------------------------------------------


def _patterns(loc: Loc, step: model.Step, positions: Positions) -> Iterator[Found]:
    for where, pattern in regexes(loc, step, captures_only=False):
        try:
            re.compile(blank(pattern))
        except re.error as exc:
            yield Found(where, positions.value(where), f"invalid regex '{pattern}': {exc}")
    if isinstance(step, model.AssertStep):
        for index, value in enumerate(step.assert_.checks):
            where = (*loc, "assert", "checks", index, "path")
            problem = _jmespath_problem(value.path)
            if problem is not None:
                yield Found(where, positions.value(where), f"invalid JMESPath '{value.path}': {problem}")


def _jmespath_problem(expression: str) -> str | None:
    try:
        jmespath.compile(blank(expression))
    except jmespath.exceptions.EmptyExpressionError:
        return "it is empty"
    except jmespath.exceptions.IncompleteExpressionError as exc:
        return f"incomplete expression at position {exc.lex_position}"
    except jmespath.exceptions.LexerError as exc:
        return f"{exc.message} at position {exc.lexer_position}"
    except jmespath.exceptions.ParseError as exc:
        return f"unexpected '{exc.token_value}' at position {exc.lex_position}"
    return None


def blank(text: str) -> str:
    """`text` with each `${name}` replaced by a plain word, to check its syntax before variables are known."""
    return "".join(
        "x" if isinstance(piece, variables.Reference) else piece for piece in variables.split(text)
    )


def regexes(loc: Loc, step: model.Step, *, captures_only: bool) -> Iterator[tuple[Loc, str]]:
    """Every regex of a step with its data path, in run order (with `captures_only`: those that capture)."""
    for index, item in enumerate(step.session or []):
        if isinstance(item, model.ExpectText) and item.regex is not None:
            yield (*loc, "session", index, "regex"), item.regex
    for where, check in output_checks(loc, step):
        keys = ("regex",) if captures_only else ("regex", "not_regex")
        for key in keys:
            yield from _strings((*where, key), getattr(check, key))
    if captures_only:
        return
    if isinstance(step, model.AssertStep):
        for index, value in enumerate(step.assert_.checks):
            if value.regex is not None:
                yield (*loc, "assert", "checks", index, "regex"), value.regex
    if isinstance(step, model.EventsStep) and step.events.message is not None:
        yield (*loc, "events", "message"), step.events.message


def output_checks(loc: Loc, step: model.Step) -> Iterator[tuple[Loc, model.OutputCheck]]:
    """The step's output checks in the order they are evaluated: transcript, then stdout, stderr, output."""
    if step.transcript is not None:
        yield (*loc, "transcript"), step.transcript
    if step.expect is not None:
        for key in ("stdout", "stderr", "output"):
            check = getattr(step.expect, key)
            if check is not None:
                yield (*loc, "expect", key), check


def _strings(loc: Loc, value: str | list[str] | None) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*loc, index), item


def capture_names(pattern: str) -> list[str]:
    """Named groups of a regex (empty if the regex is invalid)."""
    try:
        return list(re.compile(blank(pattern)).groupindex)
    except re.error:
        return []


# -- variables -----------------------------------------------------------------------------------------------


class _VariableCheck:
    """Every `${name}` must be defined before it is used: built-ins, vars, or captured earlier."""

    def __init__(self, parts: Parts, data: Any, positions: Positions) -> None:
        self.parts = parts
        self.data = data
        self.positions = positions
        self.known = set(variables.BUILTINS)
        self.later: dict[str, str] = {}  # captured name -> label of the first step capturing it

    def run(self) -> Iterator[Found]:
        if self.parts.vars is None:
            return
        for name, value in self.parts.vars.items():
            yield from self._uses(("vars", name), value)
            self.known.add(name)
        for loc, _fixture in self.parts.fixtures:
            yield from self._uses(loc, _lookup(self.data, loc))
        steps = self._checkable_steps()
        for loc, step in steps:
            for name in self._step_captures(loc, step):
                self.later.setdefault(name, step_label(str(loc[0]), int(str(loc[1])), step))
        for loc, step in steps:
            yield from self._step(loc, step)

    def _checkable_steps(self) -> list[tuple[Loc, model.Step]]:
        """Steps up to the first invalid one: after it, what is captured is unknown."""
        checkable = []
        for loc, step in self.parts.steps:
            if step is None:
                break
            checkable.append((loc, step))
        return checkable

    def _step_captures(self, loc: Loc, step: model.Step) -> list[str]:
        if isinstance(step, model.DebugStep):
            return [*variables.DEBUG_CAPTURES, *self._regex_captures(loc, step)]
        return self._regex_captures(loc, step)

    def _regex_captures(self, loc: Loc, step: model.Step) -> list[str]:
        return [
            name for _, pattern in regexes(loc, step, captures_only=True) for name in capture_names(pattern)
        ]

    def _step(self, loc: Loc, step: model.Step) -> Iterator[Found]:
        action = rules.action_key(step)
        yield from self._uses((*loc, action), _lookup(self.data, (*loc, action)))
        for index, item in enumerate(step.session or []):
            item_loc = (*loc, "session", index)
            yield from self._uses(item_loc, _lookup(self.data, item_loc))
            if isinstance(item, model.ExpectText) and item.regex is not None:
                self.known.update(capture_names(item.regex))
        for key in ("transcript", "expect"):
            yield from self._uses((*loc, key), _lookup(self.data, (*loc, key)))
        self.known.update(self._step_captures(loc, step))

    def _uses(self, loc: Loc, value: Any) -> Iterator[Found]:
        if isinstance(value, str):
            for ref in variables.references(value):
                message = self._problem(ref)
                if message is not None:
                    yield Found(loc, self.positions.within(loc, ref.start), message)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._uses((*loc, index), item)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from self._uses((*loc, key), item)

    def _problem(self, ref: variables.Reference) -> str | None:
        if not ref.well_formed:
            return variables.malformed_message(ref)
        if ref.name in self.known:
            return None
        if ref.name in self.later:
            return f"variable ${{{ref.name}}} is used before {self.later[ref.name]} captures it"
        hint = variables.suggestion(ref.name, self.known | set(self.later))
        if not hint:
            hint = (
                f"; define it under 'vars', or capture it with a named group (?P<{ref.name}>...) "
                "in an earlier step"
            )
        return f"unknown variable ${{{ref.name}}}{hint}"


def _lookup(data: Any, loc: Loc) -> Any:
    for element in loc:
        if isinstance(data, dict):
            data = data.get(element)
        elif isinstance(data, list) and isinstance(element, int) and element < len(data):
            data = data[element]
        else:
            return None
    return data
