"""Semantic checks after the model's own: step names, regexes, JMESPath, variables, and the per-step rules.

Names, regexes, JMESPath and variables are checked on the loaded data itself, so they are reported even in a
step that also has a structural error. The per-step rules (`rules.py`) need typed steps: `check` runs them on
a valid `Scenario`, `check_parts` on each step and fixture that is valid on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jmespath
import jmespath.exceptions
import pydantic

from kdbgtest.scenario import consistency, model, rules, variables
from kdbgtest.scenario.issues import step_label
from kdbgtest.scenario.positions import Loc, Positions
from kdbgtest.scenario.structure import Found

T = TypeVar("T")
_STEP = pydantic.TypeAdapter[model.Step](model.Step)
_APPLY = pydantic.TypeAdapter(model.ApplyAction)
_OUTPUTS = (("transcript",), ("expect", "stdout"), ("expect", "stderr"), ("expect", "output"))


def check(scenario: model.Scenario, data: Any, positions: Positions, path: Path) -> list[Found]:
    """Semantic issues of a structurally valid scenario."""
    fixtures = [(("fixtures", i), f) for i, f in enumerate(scenario.fixtures)]
    steps = [(("steps", i), s) for i, s in enumerate(scenario.steps)]
    steps += [(("finally", i), s) for i, s in enumerate(scenario.finally_)]
    return [*_typed(fixtures, steps, positions, path), *_untyped(data, positions)]


def check_parts(data: Any, positions: Positions, path: Path) -> list[Found]:
    """Semantic issues of a scenario with structural errors, in the parts that can still be checked."""
    if not isinstance(data, dict):
        return []
    fixtures = [(loc, _try(_APPLY, item)) for loc, item in _items(data, "fixtures")]
    steps = [(loc, _try(_STEP, item)) for loc, item in [*_items(data, "steps"), *_items(data, "finally")]]
    return [*_typed(fixtures, steps, positions, path), *_untyped(data, positions)]


def _try(adapter: pydantic.TypeAdapter[T], value: Any) -> T | None:
    try:
        return adapter.validate_python(value, by_alias=True, by_name=False)
    except pydantic.ValidationError:
        return None


def _items(data: dict[str, Any], key: str) -> list[tuple[Loc, Any]]:
    items = data.get(key)
    return [((key, i), item) for i, item in enumerate(items)] if isinstance(items, list) else []


def _typed(
    fixtures: Sequence[tuple[Loc, model.ApplyAction | None]],
    steps: Sequence[tuple[Loc, model.Step | None]],
    positions: Positions,
    path: Path,
) -> Iterator[Found]:
    step_rules = rules.Rules(positions, path.parent)
    consistent = consistency.Consistency(positions)
    for loc, fixture in fixtures:
        if fixture is not None:
            yield from step_rules.apply(loc, fixture)
    for loc, step in steps:
        if step is not None:
            yield from step_rules.step(loc, step)
            yield from consistent.step(loc, step)


def _untyped(data: Any, positions: Positions) -> Iterator[Found]:
    if not isinstance(data, dict):
        return
    consistent = consistency.Consistency(positions)
    yield from consistent.scenario(data)
    yield from _duplicate_names(data, positions)
    for loc, raw in [*_items(data, "steps"), *_items(data, "finally")]:
        if isinstance(raw, dict):
            yield from _bad_regexes(loc, raw, positions)
            yield from _bad_jmespath(loc, raw, positions)
            for where, pattern, captures in regexes(loc, raw):
                for name in capture_names(pattern) if captures else []:
                    yield from consistent.variable_name(where, name, "named group")
    yield from _VariableCheck(data, positions).run()


# -- names ---------------------------------------------------------------------------------------------------


def _duplicate_names(data: dict[str, Any], positions: Positions) -> Iterator[Found]:
    seen: dict[str, tuple[str, Loc]] = {}
    for (section, index), item in [*_items(data, "steps"), *_items(data, "finally")]:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        loc = (section, index, "name")
        first, first_loc = seen.setdefault(name, (step_label(str(section), int(str(index)), item), loc))
        if first_loc != loc:
            line = positions.value(first_loc).line
            message = f"duplicate step name '{name}' (also {first}, line {line})"
            yield Found(loc, positions.value(loc), message)


# -- regexes and JMESPath ------------------------------------------------------------------------------------


def regexes(loc: Loc, raw: dict[str, Any]) -> Iterator[tuple[Loc, str, bool]]:
    """Every regex of a step as (data path, pattern, whether its named groups become variables), in run
    order: session items, transcript, expect's stdout/stderr/output, assert checks, the events message."""
    session = raw.get("session")
    for index, item in enumerate(session if isinstance(session, list) else []):
        if isinstance(item, dict) and isinstance(item.get("regex"), str):
            yield (*loc, "session", index, "regex"), item["regex"], True
    for sub in _OUTPUTS:
        check = lookup(raw, sub)
        if isinstance(check, dict):
            for key in ("regex", "not_regex"):
                for where, text in _strings((*loc, *sub, key), check.get(key)):
                    yield where, text, key == "regex"
    checks = lookup(raw, ("assert", "checks"))
    for index, item in enumerate(checks if isinstance(checks, list) else []):
        if isinstance(item, dict) and isinstance(item.get("regex"), str):
            yield (*loc, "assert", "checks", index, "regex"), item["regex"], False
    message = lookup(raw, ("events", "message"))
    if isinstance(message, str):
        yield (*loc, "events", "message"), message, False


def _bad_regexes(loc: Loc, raw: dict[str, Any], positions: Positions) -> Iterator[Found]:
    for where, pattern, _ in regexes(loc, raw):
        try:
            re.compile(blank(pattern))
        except re.error as exc:
            yield Found(where, positions.value(where), f"invalid regex '{pattern}': {exc}")


def _bad_jmespath(loc: Loc, raw: dict[str, Any], positions: Positions) -> Iterator[Found]:
    checks = lookup(raw, ("assert", "checks"))
    for index, item in enumerate(checks if isinstance(checks, list) else []):
        expression = item.get("path") if isinstance(item, dict) else None
        if isinstance(expression, str):
            problem = jmespath_problem(expression)
            if problem is not None:
                where = (*loc, "assert", "checks", index, "path")
                yield Found(where, positions.value(where), f"invalid JMESPath '{expression}': {problem}")


def jmespath_problem(expression: str) -> str | None:
    """Why `expression` is not valid JMESPath (None if it is); `${var}` references count as names."""
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
    """`text` with each `${name}` replaced by a plain word, to check its syntax before values are known."""
    pieces = variables.split(text)
    return "".join("x" if isinstance(piece, variables.Reference) else piece for piece in pieces)


def capture_names(pattern: str) -> list[str]:
    """Named groups of a regex (empty if the regex is invalid)."""
    try:
        return list(re.compile(blank(pattern)).groupindex)
    except re.error:
        return []


def _strings(loc: Loc, value: Any) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield (*loc, index), item


def lookup(data: Any, loc: Loc) -> Any:
    """The value at `loc` in `data`, or None."""
    for element in loc:
        if isinstance(data, dict):
            data = data.get(element)
        elif isinstance(data, list) and isinstance(element, int) and 0 <= element < len(data):
            data = data[element]
        else:
            return None
    return data


# -- variables -----------------------------------------------------------------------------------------------


class _VariableCheck:
    """Every `${name}` must be defined before it is used: built-ins, vars, or captured earlier."""

    def __init__(self, data: dict[str, Any], positions: Positions) -> None:
        self.data = data
        self.positions = positions
        self.known = set(variables.BUILTINS)
        self.later: dict[str, str] = {}  # captured name -> where it is first captured
        self.steps = [(loc, raw) for loc, raw in [*_items(data, "steps"), *_items(data, "finally")]]

    def run(self) -> Iterator[Found]:
        scenario_vars = self.data.get("vars")
        if isinstance(scenario_vars, dict):
            for name, value in scenario_vars.items():
                yield from self._uses(("vars", name), value)
                self.known.add(str(name))
        for loc, raw in _items(self.data, "fixtures"):
            yield from self._uses(loc, raw)
        for loc, raw in self.steps:
            if isinstance(raw, dict):
                self._note_captures(loc, raw)
        for loc, raw in self.steps:
            if isinstance(raw, dict):
                yield from self._step(loc, raw)

    def _note_captures(self, loc: Loc, raw: dict[str, Any]) -> None:
        label = step_label(str(loc[0]), int(str(loc[1])), raw)
        if "debug" in raw:
            for name in variables.DEBUG_CAPTURES:
                self.later.setdefault(name, label)
        for where, pattern, captures in regexes(loc, raw):
            if captures:
                in_session = where[2] == "session"
                place = f"session item {int(str(where[3])) + 1} of {label}" if in_session else label
                for name in capture_names(pattern):
                    self.later.setdefault(name, place)

    def _step(self, loc: Loc, raw: dict[str, Any]) -> Iterator[Found]:
        for action in model.STEP_ACTIONS:
            if action in raw:
                yield from self._uses((*loc, action), raw[action])
        session = raw.get("session")
        for index, item in enumerate(session if isinstance(session, list) else []):
            yield from self._uses((*loc, "session", index), item)
            if isinstance(item, dict) and isinstance(item.get("regex"), str):
                self.known.update(capture_names(item["regex"]))
        for key in ("transcript", "expect"):
            yield from self._uses((*loc, key), raw.get(key))
        if "debug" in raw:
            self.known.update(variables.DEBUG_CAPTURES)
        for _, pattern, captures in regexes(loc, raw):
            if captures:
                self.known.update(capture_names(pattern))

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
                f"; define it under 'vars', capture it with (?P<{ref.name}>...) in an earlier step, "
                f"or write $${{{ref.name}}} for a literal ${{{ref.name}}} (e.g. a shell variable)"
            )
        return f"unknown variable ${{{ref.name}}}{hint}"
