"""Settings that are each valid but cannot all hold: requirements that exclude every cluster, output checks
that no text satisfies, dialogue after the session's end, commands with nothing to run, variable names that
can never be referenced or that replace a built-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kdbgtest.scenario import model, variables
from kdbgtest.scenario.positions import Loc, Positions
from kdbgtest.scenario.structure import Found


class Consistency:
    def __init__(self, positions: Positions) -> None:
        self.positions = positions

    def found(self, loc: Loc, message: str) -> Found:
        return Found(loc, self.positions.key(loc), message)

    # -- scenario level (raw data, so they also run when other parts are invalid) ----------------------------

    def scenario(self, data: dict[str, Any]) -> Iterator[Found]:
        requires = data.get("requires")
        if isinstance(requires, dict):
            yield from self._requires(requires)
        scenario_vars = data.get("vars")
        if isinstance(scenario_vars, dict):
            for name in scenario_vars:
                yield from self.variable_name(("vars", name), str(name), "variable name")

    def _requires(self, requires: dict[str, Any]) -> Iterator[Found]:
        lowest, below = _minor(requires.get("kubernetes")), _minor(requires.get("below"))
        if lowest is not None and below is not None and below <= lowest:
            yield self.found(
                ("requires", "below"),
                f"'below: {requires['below']}' with 'kubernetes: {requires['kubernetes']}' excludes every "
                "version; the scenario would always be skipped",
            )
        needed, missing = requires.get("capabilities"), requires.get("missing")
        if isinstance(needed, list) and isinstance(missing, list):
            for index, name in enumerate(missing):
                if name in needed:
                    yield self.found(
                        ("requires", "missing", index),
                        f"capability '{name}' is in both 'capabilities' and 'missing'; keep one",
                    )

    def variable_name(self, loc: Loc, name: str, what: str) -> Iterator[Found]:
        """A vars key or capture group name must be referable and must not replace a built-in."""
        if variables.NAME.fullmatch(name) is None:
            yield self.found(loc, f"{what} '{name}' cannot be used as ${{{name}}}; use letters, digits and '_'")
        elif name in variables.BUILTINS:
            yield self.found(loc, f"{what} '{name}' would replace the built-in ${{{name}}}; choose another name")

    # -- step level (typed steps) ----------------------------------------------------------------------------

    def step(self, loc: Loc, step: model.Step) -> Iterator[Found]:
        yield from self._dialogue(loc, step)
        yield from self._nothing_to_run(loc, step)
        for where, check in _output_checks(loc, step):
            yield from self._line_bounds(where, check)

    def _dialogue(self, loc: Loc, step: model.Step) -> Iterator[Found]:
        items = step.session or []
        ends = [i for i, item in enumerate(items) if isinstance(item, model.ExpectEnd)]
        if ends and ends[0] < len(items) - 1:
            yield self.found(
                (*loc, "session", ends[0] + 1),
                f"session item {ends[0] + 2} comes after 'end: true' (item {ends[0] + 1}); "
                "nothing can happen after the session ends",
            )
        if isinstance(step, model.DebugStep) and step.debug.attach is False and items:
            yield self.found((*loc, "session"), "'session' needs kubectl to attach; remove 'attach: false'")

    def _nothing_to_run(self, loc: Loc, step: model.Step) -> Iterator[Found]:
        if isinstance(step, model.ExecStep) and not step.exec.command:
            yield self.found((*loc, "exec", "command"), "'command' is empty; give the program to run, e.g. [ls, /]")
        if isinstance(step, model.KubectlStep) and not step.kubectl.args:
            yield self.found((*loc, "kubectl", "args"), "'args' is empty; give kubectl's arguments, e.g. [get, pods]")
        if isinstance(step, model.DebugStep) and step.debug.command == []:
            yield self.found((*loc, "debug", "command"), "'command' is empty; remove it or give the program to run")

    def _line_bounds(self, loc: Loc, check: model.OutputCheck) -> Iterator[Found]:
        low, high = check.min_lines, check.max_lines
        if low is not None and high is not None and low > high:
            yield self.found((*loc, "min_lines"), f"'min_lines: {low}' is more than 'max_lines: {high}'")
        if check.lines is not None and (low is not None or high is not None):
            yield self.found((*loc, "lines"), "'lines' is exact; drop 'min_lines'/'max_lines' or use them instead")


def _output_checks(loc: Loc, step: model.Step) -> Iterator[tuple[Loc, model.OutputCheck]]:
    if step.transcript is not None:
        yield (*loc, "transcript"), step.transcript
    if step.expect is not None:
        for key in ("stdout", "stderr", "output"):
            check = getattr(step.expect, key)
            if check is not None:
                yield (*loc, "expect", key), check


def _minor(version: Any) -> int | None:
    """The minor number of `>=1.25` or `1.25` (None if it is not such a string)."""
    if not isinstance(version, str):
        return None
    _, dot, minor = version.lstrip(">= ").partition(".")
    return int(minor) if dot and minor.isdigit() else None
