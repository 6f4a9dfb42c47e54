"""Pydantic validation errors rewritten as one sentence each, with the position of the offending node.

- unknown key 'imag' in debug; did you mean 'image'?
- 'timeout' must be a number, got 'fast'
- exec needs 'command'
- step 2 'x' must have exactly one of apply, wait, debug, exec, kubectl, assert, events; found debug and exec
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from kdbgtest.scenario import model, typewalk
from kdbgtest.scenario.positions import Loc, Mark, Positions

DIALOGUE_KEYS = ("send", "control", "expect", "regex", "end")
STEP_KEYS = tuple(typewalk.field_keys(model.StepBase))

_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_COMPARISONS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
_PATTERNS = {
    "name": "lowercase letters, digits and '-', starting and ending with a letter or digit",
    "kubernetes": 'a minimum version such as ">=1.25"',
    "below": 'a version such as "1.30"',
}


@dataclass(frozen=True)
class Found:
    """One translated error: where (data path and position) and what."""

    loc: Loc
    mark: Mark
    message: str


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    """The closest candidate to `word`, if one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.7)
    return matches[0] if matches else None


def got(value: Any) -> str:
    """How a wrong value is shown: `'fast'`, `5`, `true`, `null`, `a list`, `a mapping`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def translate(errors: list[ErrorDetails], data: Any, positions: Positions) -> list[Found]:
    """One `Found` per mistake (union alternatives collapsed, typo'd keys not also reported missing)."""
    resolved = [(error, typewalk.resolve(error["loc"])) for error in errors]
    found: list[Found] = []
    for group in _collapse_unions(resolved):
        found.append(_message(group, data, positions))
    return _drop_missing_explained_by_typos(found)


def _collapse_unions(
    resolved: list[tuple[ErrorDetails, typewalk.Resolved]],
) -> list[list[tuple[ErrorDetails, typewalk.Resolved]]]:
    """Group errors; for an untagged union keep the branch that got furthest (the user's likely intent)."""
    plain: list[list[tuple[ErrorDetails, typewalk.Resolved]]] = []
    unions: dict[Loc, list[tuple[ErrorDetails, typewalk.Resolved]]] = {}
    for item in resolved:
        if item[1].union_at is None:
            plain.append([item])
        else:
            unions.setdefault(item[1].union_at, []).append(item)
    for members in unions.values():
        deepest = max(len(r.loc) for _, r in members)
        best = [m for m in members if len(m[1].loc) == deepest]
        branches = {r.branch for _, r in best}
        if len(branches) > 1 and len({r.loc for _, r in best}) == 1:
            plain.append(best)  # same node, several acceptable types: one combined message
        else:
            first_branch = best[0][1].branch
            plain.extend([m] for m in best if m[1].branch == first_branch)
    return plain


def _message(group: list[tuple[ErrorDetails, typewalk.Resolved]], data: Any, positions: Positions) -> Found:
    error, where = group[0]
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(where, data, positions)
    if kind == "missing":
        return _missing(where, data, positions)
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        return _no_tag(where, error["input"], positions)
    if len(group) > 1:
        wanted = " or ".join(dict.fromkeys(_expected(e, r.annotation) for e, r in group))
        text = f"{_subject(where)} must be {wanted}, got {got(error['input'])}"
        return Found(where.loc, positions.value(where.loc), text)
    return Found(where.loc, positions.value(where.loc), _value_message(error, where))


def _unknown_key(where: typewalk.Resolved, data: Any, positions: Positions) -> Found:
    key = str(where.loc[-1])
    parent = where.loc[:-1]
    if _is_dialogue(parent):
        return _dialogue_problem(parent, _lookup(data, parent), positions, key)
    message = f"unknown key '{key}' in {_owner_name(parent)}"
    misplaced = _misplaced(parent, key, data)
    if misplaced is not None:
        return Found(where.loc, positions.key(where.loc), f"{message}; {misplaced}")
    candidates = typewalk.field_keys(where.owner) if where.owner is not None else []
    match = suggest(key, candidates)
    if match is not None:
        message += f"; did you mean '{match}'?"
    elif candidates:
        message += f"; expected one of {', '.join(candidates)}"
    return Found(where.loc, positions.key(where.loc), message)


def _misplaced(parent: Loc, key: str, data: Any) -> str | None:
    """A hint when `key` belongs one level up (a step key in an action) or down (an action key in a step)."""
    is_step = len(parent) == 2 and parent[0] in ("steps", "finally")
    if len(parent) == 3 and parent[0] in ("steps", "finally") and key in STEP_KEYS:
        return f"'{key}' belongs to the step: move it out of {parent[2]}, one level up"
    step = _lookup(data, parent) if is_step else None
    if isinstance(step, dict):
        for action in (a for a in model.STEP_ACTIONS if a in step):
            if key in typewalk.field_keys(_ACTION_MODELS[action]):
                return f"'{key}' belongs to {action}: indent it under '{action}:'"
    return None


_ACTION_MODELS: dict[str, type[BaseModel]] = {
    "apply": model.ApplyAction,
    "wait": model.WaitAction,
    "debug": model.DebugAction,
    "exec": model.ExecAction,
    "kubectl": model.KubectlAction,
    "assert": model.AssertObject,
    "events": model.EventCheck,
    "can_i": model.CanIAction,
}


def _missing(where: typewalk.Resolved, data: Any, positions: Positions) -> Found:
    key = str(where.loc[-1])
    parent = where.loc[:-1]
    return Found(where.loc, positions.value(parent), f"{_owner_name(parent)} needs '{key}'")


def _no_tag(where: typewalk.Resolved, value: Any, positions: Positions) -> Found:
    if _is_dialogue(where.loc):
        return _dialogue_problem(where.loc, value, positions, None)
    return _step_action_problem(where.loc, value, positions)


def _step_action_problem(loc: Loc, value: Any, positions: Positions) -> Found:
    actions = ", ".join(model.STEP_ACTIONS)
    if not isinstance(value, dict):
        text = f"a step must be a mapping with 'name' and one of {actions}, got {got(value)}"
        return Found(loc, positions.value(loc), text)
    found = [key for key in value if key in model.STEP_ACTIONS]
    text = f"must have exactly one of {actions}; found {_and(found) if found else 'none'}"
    mark = positions.value(loc)
    if len(found) > 1:
        mark = positions.key((*loc, found[1]))
    elif not found:
        for key in value:
            match = suggest(str(key), model.STEP_ACTIONS) if key not in STEP_KEYS else None
            if match is not None:
                text += f"; did you mean '{match}' instead of '{key}'?"
                mark = positions.key((*loc, key))
                break
    return Found(loc, mark, text)


def _dialogue_problem(loc: Loc, value: Any, positions: Positions, extra: str | None) -> Found:
    number = loc[-1] + 1 if isinstance(loc[-1], int) else "?"
    keys = ", ".join(DIALOGUE_KEYS)
    if not isinstance(value, dict):
        return Found(loc, positions.value(loc), f"session item {number} must be a mapping with one of {keys}")
    found = [key for key in value if key in DIALOGUE_KEYS]
    if extra is not None and extra not in DIALOGUE_KEYS:
        allowed = ("timeout", "exit_code", *DIALOGUE_KEYS)
        match = suggest(extra, allowed)
        text = f"unknown key '{extra}' in session item {number}"
        text += f"; did you mean '{match}'?" if match else f"; expected one of {keys}, timeout, exit_code"
        return Found((*loc, extra), positions.key((*loc, extra)), text)
    text = f"session item {number} must have exactly one of {keys}; found {_and(found) if found else 'none'}"
    mark = positions.key((*loc, found[1])) if len(found) > 1 else positions.value(loc)
    if not found:
        for key in value:
            match = suggest(str(key), DIALOGUE_KEYS)
            if match is not None:
                text += f"; did you mean '{match}' instead of '{key}'?"
                mark = positions.key((*loc, key))
                break
    return Found(loc, mark, text)


def _value_message(error: ErrorDetails, where: typewalk.Resolved) -> str:
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    subject = _subject(where)
    if kind == "literal_error":
        return _literal_message(subject, where.annotation, value)
    if kind in _EXPECTED:
        text = f"{subject} must be {_EXPECTED[kind]}, got {got(value)}"
        if kind == "string_type" and isinstance(value, int | float | bool):
            text += "; put it in quotes"
        return text
    if kind in _COMPARISONS:
        op = _COMPARISONS[kind]
        bound = next(iter(ctx.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"{subject} must be {op} {bound}, got {got(value)}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"{subject} must have at least {least} item{'s' if least != 1 else ''}"
    if kind == "string_too_long":
        return f"{subject} must be at most {ctx.get('max_length')} characters, got {len(str(value))}"
    if kind == "string_pattern_mismatch":
        shape = _PATTERNS.get(str(where.loc[-1]), f"match {ctx.get('pattern')}")
        return f"{subject} must be {shape}, got {got(value)}"
    return f"{subject}: {error['msg'][:1].lower()}{error['msg'][1:]}, got {got(value)}"


def _literal_message(subject: str, annotation: Any, value: Any) -> str:
    options = list(get_args(annotation)) if get_origin(annotation) is Literal else []
    if options and all(isinstance(o, bool) for o in options):
        return f"{subject} must be {_and([got(o) for o in options], 'or')}, got {got(value)}"
    shown = ", ".join(repr(o) for o in options)
    text = f"{subject} must be one of {shown}, got {got(value)}"
    match = suggest(str(value), [str(o) for o in options]) if isinstance(value, str) else None
    return text + (f"; did you mean '{match}'?" if match else "")


def _expected(error: ErrorDetails, annotation: Any) -> str:
    if error["type"] == "literal_error" and get_origin(annotation) is Literal:
        return _and([got(o) for o in get_args(annotation)], "or")
    return _EXPECTED.get(error["type"], error["msg"])


def _subject(where: typewalk.Resolved) -> str:
    """How the node at `where.loc` is named: `'timeout'`, `item 2 of 'command'`, `'FOO' in env`."""
    loc = where.loc
    if not loc:
        return "the scenario"
    last = loc[-1]
    if isinstance(last, int):
        return f"item {last + 1} of {_quoted_key(loc[:-1])}"
    if where.owner is None and len(loc) > 1 and isinstance(loc[-2], str):
        return f"'{last}' in {loc[-2]}"
    return f"'{last}'"


def _quoted_key(loc: Loc) -> str:
    for element in reversed(loc):
        if isinstance(element, str):
            return f"'{element}'"
    return "the list"


def _owner_name(loc: Loc) -> str:
    """The mapping at `loc` as users see it: `debug`, `session item 2`, `the step`, `the scenario`."""
    if not loc:
        return "the scenario"
    if len(loc) == 2 and loc[0] in ("steps", "finally"):
        return "the step"
    if len(loc) == 2 and loc[0] == "fixtures":
        return "the fixture"
    last = loc[-1]
    if isinstance(last, int):
        if _is_dialogue(loc):
            return f"session item {last + 1}"
        return f"item {last + 1} of {_quoted_key(loc[:-1]).strip(chr(39))}"
    return str(last)


def _is_dialogue(loc: Loc) -> bool:
    return len(loc) >= 2 and loc[-2] == "session" and isinstance(loc[-1], int)


def _lookup(data: Any, loc: Loc) -> Any:
    for element in loc:
        if isinstance(data, dict):
            data = data.get(element)
        elif isinstance(data, list) and isinstance(element, int) and element < len(data):
            data = data[element]
        else:
            return None
    return data


def _and(words: Sequence[Hashable], last: str = "and") -> str:
    items = [str(w) for w in words]
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _drop_missing_explained_by_typos(found: list[Found]) -> list[Found]:
    """`for` missing plus unknown key `fo` in the same mapping is one mistake: keep only the typo message."""
    typos = {(f.loc[:-1], f.message.rsplit("'", 2)[-2]) for f in found if "did you mean" in f.message}
    return [f for f in found if not (_is_missing(f) and (f.loc[:-1], str(f.loc[-1])) in typos)]


def _is_missing(found: Found) -> bool:
    return bool(found.loc) and found.message.endswith(f"needs '{found.loc[-1]}'")
