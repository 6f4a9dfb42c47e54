"""Mutated copies of a scenario file, each of which a sound scenario must fail.

    for mutant in mutants.of(path): mutant.write(tmp_path), mutant.kind, mutant.describe

Three kinds, at most one of each per scenario, the rest of the YAML unchanged:
- `wrong-expected`: the first expected string of a step's checks or dialogue (`expect`, `regex`, `equals`,
  `contains`), in step order, gets `-mutated` appended (before a trailing `$` anchor of a regex); regexes
  that capture a variable (named groups) only when nothing else is checked;
- `wrong-target`: the last debug step with `target` names a container the pod does not have;
- `missing-flag`: the flag of a debug step that the assertions depend on is taken away (the highest one in
  `FLAGS`, on the last debug step that has it). Where kubectl's default would do the same as the flag
  (`share_processes: true`, `profile: general`), it is turned off explicitly instead; where even that gives
  the same pod (an equivalent mutant), the next flag is taken.
From the mutated step on, waits, polls and dialogue expectations get short timeouts, so that a mutant that
fails by a timeout fails in seconds.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MARK = "-mutated"
WRONG_TARGET = "no-such-container"
EXPECT_TIMEOUT = 2  # seconds for a dialogue expectation (default 10)
END_TIMEOUT = 5  # seconds for a session to end (default 15)
WAIT_TIMEOUT = 6  # seconds for a wait step (fixture readiness is left alone)
WITHIN = 5  # seconds an assert/events step polls
# Flags whose absence the assertions must notice, most specific first, with what kubectl does without them.
FLAGS: dict[str, Any] = {
    "replace": False,
    "same_node": False,
    "share_processes": True,  # the flag's default (and the general profile's)
    "set_image": {},
    "keep_labels": False,
    "keep_liveness": False,
    "keep_init_containers": True,
    "keep_annotations": False,
    "keep_readiness": False,
    "keep_startup": False,
    "target": None,
    "profile": "general",  # kubectl 1.37's default
    "container": None,  # copy mode only, naming the existing container the copy changes
    "custom": None,
}
# Where the flag only restates kubectl's default, the mutant turns it off instead of removing it.
OFF: dict[str, Any] = {"share_processes": False, "profile": "legacy"}
Doc = dict[str, Any]


@dataclass(frozen=True)
class Mutant:
    scenario: str
    kind: str  # wrong-expected | wrong-target | missing-flag
    step: str  # the mutated step's name
    step_index: int  # its position in `steps`
    describe: str  # the mutation, e.g. "step 'x': session regex 'a' -> 'a-mutated'"
    marker: str | None  # text the failure message must contain (the wrong expectation), if any
    doc: Doc

    def write(self, directory: Path) -> Path:
        path = directory / f"{self.scenario}.{self.kind}.yaml"
        path.write_text(yaml.safe_dump(self.doc, sort_keys=False, width=1000))
        return path


def of(path: Path) -> list[Mutant]:
    """Every applicable mutant of the scenario file at `path`."""
    doc = yaml.safe_load(path.read_text())
    found = [wrong_expected(doc), wrong_target(doc), missing_flag(doc)]
    return [m for m in found if m is not None]


def wrong_literal(text: str, *, regex: bool) -> str:
    """`text` made wrong: `-mutated` appended, inside a regex's trailing line anchor."""
    if regex:
        match = re.search(r"(\\r\?)?\$$", text)
        if match:
            return text[: match.start()] + MARK + text[match.start() :]
    return text + MARK


def _captures(text: str) -> bool:
    return "(?P<" in text


def _mutate_output_check(check: Doc, where: str, captures: bool) -> str | None:
    for key in ("equals", "contains", "regex"):
        values = check.get(key)
        items = values if isinstance(values, list) else [values]
        for number, value in enumerate(items):
            if isinstance(value, str) and (captures or not _captures(value)):
                items[number] = wrong_literal(value, regex=key == "regex")
                check[key] = items if isinstance(values, list) else items[0]
                return f"{where}.{key} {value!r} -> {items[number]!r}"
    return None


def _mutate_first_string(value: Any) -> tuple[Any, str | None]:
    """`value` (a string, or a list/object holding one) with its first string made wrong; and that string."""
    if isinstance(value, str):
        return wrong_literal(value, regex=False), value
    children = list(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
    if not isinstance(value, dict | list):
        return value, None
    for key, child in children:
        changed, old = _mutate_first_string(child)
        if old is not None:
            value[key] = changed
            return value, old
    return value, None


def _mutate_step_literal(step: Doc, captures: bool) -> str | None:
    """Append the mark to the first expected string of `step`; what was changed, or None.

    Without `captures`, regexes with named groups (which mostly capture a value for later) are passed over.
    """
    for item in step.get("session") or []:
        for key in ("expect", "regex"):
            value = item.get(key)
            if isinstance(value, str) and (captures or not _captures(value)):
                item[key] = wrong_literal(value, regex=key == "regex")
                return f"session {key} {value!r} -> {item[key]!r}"
    for stream in ("stdout", "stderr", "output"):
        check = (step.get("expect") or {}).get(stream)
        if isinstance(check, dict) and (done := _mutate_output_check(check, f"expect.{stream}", captures)):
            return done
    transcript = step.get("transcript")
    if isinstance(transcript, dict) and (done := _mutate_output_check(transcript, "transcript", captures)):
        return done
    for number, check in enumerate((step.get("assert") or {}).get("checks") or []):
        for key in ("equals", "regex"):
            changed, old = _mutate_first_string(copy.deepcopy(check.get(key)))
            if old is not None:
                before, check[key] = check[key], changed
                return f"assert check {number} ({check['path']}) {key} {before!r} -> {changed!r}"
    return None


def wrong_expected(source: Doc) -> Mutant | None:
    for captures in (False, True):
        doc = copy.deepcopy(source)
        for index, step in enumerate(doc["steps"]):
            change = _mutate_step_literal(step, captures)
            if change is not None:
                shorten_timeouts(doc, index)
                what = f"step '{step['name']}': {change}"
                return Mutant(doc["name"], "wrong-expected", step["name"], index, what, MARK, doc)
    return None


def _debug_steps(doc: Doc) -> list[tuple[int, Doc]]:
    return [(i, s) for i, s in enumerate(doc["steps"]) if isinstance(s.get("debug"), dict)]


def wrong_target(source: Doc) -> Mutant | None:
    doc = copy.deepcopy(source)
    with_target = [(i, s) for i, s in _debug_steps(doc) if "target" in s["debug"]]
    if not with_target:
        return None
    index, step = with_target[-1]
    old, step["debug"]["target"] = step["debug"]["target"], WRONG_TARGET
    shorten_timeouts(doc, index)
    what = f"step '{step['name']}': debug.target {old!r} -> {WRONG_TARGET!r}"
    return Mutant(doc["name"], "wrong-target", step["name"], index, what, WRONG_TARGET, doc)


def _flag_value(action: Doc, flag: str) -> tuple[bool, Any]:
    """(applies, replacement; None: remove the key) for taking `flag` away from a debug action."""
    if flag not in action or action[flag] is None:
        return False, None
    if flag == "container" and (action.get("mode") != "copy" or "image" in action):
        return False, None  # a new container's name: without it kubectl only picks another name
    if flag == "profile" and _general_only_adds_what_custom_replaces(action):
        return False, None  # an equivalent mutant: the container comes out the same without the profile
    if action[flag] == FLAGS[flag]:
        return flag in OFF, OFF.get(flag)
    return True, None


def _general_only_adds_what_custom_replaces(action: Doc) -> bool:
    """For an ephemeral container, general only adds SYS_PTRACE; a `custom` capabilities.add replaces that
    list (kubectl's strategic merge), so general and no profile at all give the same container."""
    custom = action.get("custom") or {}
    replaced = "add" in ((custom.get("securityContext") or {}).get("capabilities") or {})
    return action.get("mode") == "ephemeral" and action["profile"] == "general" and replaced


def missing_flag(source: Doc) -> Mutant | None:
    doc = copy.deepcopy(source)
    steps = _debug_steps(doc)
    for flag in FLAGS:
        having = [(i, s) for i, s in steps if _flag_value(s["debug"], flag)[0]]
        if not having:
            continue
        index, step = having[-1]
        action = step["debug"]
        old, (_, new) = action[flag], _flag_value(action, flag)
        if new is None:
            del action[flag]
            what = f"step '{step['name']}': debug.{flag} {old!r} removed"
        else:
            action[flag] = new
            what = f"step '{step['name']}': debug.{flag} {old!r} -> {new!r}"
        shorten_timeouts(doc, index)
        return Mutant(doc["name"], "missing-flag", step["name"], index, what, None, doc)
    return None


def shorten_timeouts(doc: Doc, start: int) -> None:
    """Short deadlines for what runs from step `start` on (a mutant may fail by waiting in vain)."""
    for step in doc["steps"][start:]:
        for item in step.get("session") or []:
            if "send" not in item and "control" not in item:
                limit = END_TIMEOUT if "end" in item else EXPECT_TIMEOUT
                item["timeout"] = min(item.get("timeout", limit), limit)
        if isinstance(step.get("wait"), dict):
            step["wait"]["timeout"] = min(step["wait"].get("timeout", WAIT_TIMEOUT), WAIT_TIMEOUT)
        for action in ("assert", "events"):
            if isinstance(step.get(action), dict) and "within" in step[action]:
                step[action]["within"] = min(step[action]["within"], WITHIN)
