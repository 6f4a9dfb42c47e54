"""`${name}` variables in scenario strings.

Every string in a step (its action, session, transcript and expect checks; not its name, not mapping keys)
may hold `${name}` references, substituted just before the step runs. `$${` writes a literal `${`. Names are
Python identifiers. Known names are the built-ins below, the scenario's `vars`, the named groups of
regexes in earlier steps and session items (`(?P<debugger>debugger-\\w+)` defines `${debugger}`), and the
names every debug step captures (`DEBUG_CAPTURES`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kdbgtest.base.errors import ScenarioError

BUILTINS: dict[str, str] = {
    "namespace": "the scenario run's namespace (kdbg-<scenario>-<run id>)",
    "node": "name of the first schedulable node",
    "nodes": "names of all schedulable nodes, space-separated",
    "control_plane": "name of a control-plane node (empty if none is visible)",
    "run_id": "the run's short unique id",
    "scenario": "the scenario's name",
    "kubeconfig": "path of the kubeconfig kubectl uses",
    "scenario_dir": "absolute path of the scenario file's directory (for -f FILE, --custom FILE, apply files)",
}

# Captured automatically by every debug step, from what kubectl prints.
DEBUG_CAPTURES: dict[str, str] = {
    "debug_container": "the debug container the step created or changed (e.g. a generated debugger-xxxxx)",
    "debug_pod": "the pod the debug container runs in: the pod, its copy, or the node-debugger pod",
}

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)(\}|$)")


@dataclass(frozen=True)
class Reference:
    """One `${...}` in a string: its name, where it starts in the string, and whether it is well formed."""

    name: str
    start: int
    well_formed: bool
    closed: bool = True  # False when the string ends before the `}`

    @property
    def text(self) -> str:
        return "${" + self.name + ("}" if self.closed else "")


class UnknownVariable(ScenarioError):
    """A `${name}` had no value when its step ran."""


def references(text: str) -> Iterator[Reference]:
    """The `${...}` references in `text` (`$${` escapes are skipped)."""
    for piece in split(text):
        if isinstance(piece, Reference):
            yield piece


def split(text: str) -> Iterator[str | Reference]:
    """`text` as literal pieces and references, in order (`$${` yields the literal `${`)."""
    end = 0
    for match in _TOKEN.finditer(text):
        yield text[end : match.start()]
        if match.group(0) == "$${":
            yield "${"
        else:
            name, closed = match.group(1), match.group(2) == "}"
            yield Reference(name, match.start(), closed and NAME.fullmatch(name) is not None, closed)
        end = match.end()
    yield text[end:]


def malformed_message(ref: Reference) -> str:
    """The sentence for a reference that is not `${identifier}`."""
    return (
        f"malformed variable reference '{ref.text}'; write ${{name}} with a name of letters, digits and '_', "
        "or $${ for a literal ${"
    )


def suggestion(name: str, known: Iterator[str] | list[str] | set[str]) -> str:
    """`; did you mean ${x}?` for the closest known name, or an empty string."""
    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.7)
    return f"; did you mean ${{{match[0]}}}?" if match else ""


class Variables(Mapping[str, str]):
    """A run's variable values: built-ins, the scenario's vars (which may use built-ins), and captures."""

    def __init__(self, builtins: Mapping[str, str], scenario_vars: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(builtins)
        for name, value in (scenario_vars or {}).items():
            self._values[name] = substitute(value, self)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def capture(self, groups: Mapping[str, str | None]) -> None:
        """Record the named groups of a regex match (groups that did not participate are skipped)."""
        for name, value in groups.items():
            if value is not None:
                self._values[name] = value

    def set(self, name: str, value: str) -> None:
        self._values[name] = value


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """`value` with every `${name}` replaced, recursively through lists and dict values; `$${` becomes `${`.

    Non-string leaves are returned unchanged. An unknown or malformed reference raises `UnknownVariable`.
    """
    if isinstance(value, str):
        return _substitute_text(value, variables, escape=False)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, tuple):
        return tuple(substitute(item, variables) for item in value)
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def substitute_regex(pattern: str, variables: Mapping[str, str]) -> str:
    """A regex with each `${name}` replaced by the variable's value escaped, so it matches literally."""
    return _substitute_text(pattern, variables, escape=True)


def _substitute_text(text: str, variables: Mapping[str, str], *, escape: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        closed = match.group(2) == "}"
        ref = Reference(match.group(1), match.start(), closed and NAME.fullmatch(match.group(1)) is not None, closed)
        if not ref.well_formed:
            raise UnknownVariable(malformed_message(ref) + f" in {text!r}")
        if ref.name not in variables:
            raise UnknownVariable(
                f"variable ${{{ref.name}}} has no value{suggestion(ref.name, set(variables))} "
                f"(in {text!r}); known: {', '.join(sorted(variables))}"
            )
        found = variables[ref.name]
        return re.escape(found) if escape else found

    return _TOKEN.sub(replace, text)
