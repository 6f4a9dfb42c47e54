"""Per-step rules the model cannot express: what each debug mode needs and forbids, apply's sources, waits,
which steps may carry a session or command expectations.

Each rule yields `Found(loc, mark, message)`; `loc` is the data path of the offending key so the message
points at it. Where kubectl itself rejects the same combination, its message is quoted so users recognise it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from kdbgtest.fixtures import catalog
from kdbgtest.scenario import model, variables
from kdbgtest.scenario.positions import Loc, Positions
from kdbgtest.scenario.structure import Found, suggest

COPY_ONLY = (
    "copy_to",
    "replace",
    "same_node",
    "set_image",
    "share_processes",
    "keep_labels",
    "keep_annotations",
    "keep_liveness",
    "keep_readiness",
    "keep_startup",
    "keep_init_containers",
)
KUBECTL_SAYS = {
    "replace": "--replace may only be used with --copy-to.",
    "same_node": "--same-node may only be used with --copy-to.",
    "set_image": "--set-image may only be used with --copy-to.",
}
CUSTOM_FORBIDDEN = ("name", "command", "image", "lifecycle", "volumeDevices")
INTERACTIVE_ACTIONS = ("debug", "exec", "kubectl")
COMMAND_ACTIONS = ("debug", "exec", "kubectl", "apply")


# The files named by `apply: {file: ...}` that validation looked for, each with whether it was there, for whoever
# sets a list here (`cache`: a kept result holds only while each file still is, or still is not, there).
LOOKED_FOR: ContextVar[list[tuple[str, bool]] | None] = ContextVar("LOOKED_FOR", default=None)
KUBECTL_REFUSES = "(kubectl: "  # a rule that quotes kubectl's own refusal of the same flags


def expects_failure(step: model.StepBase) -> bool:
    """Whether the step's `expect` accepts a failed command (a non-zero `exit_code`, or `null`: any)."""
    return step.expect is not None and step.expect.exit_code != 0


class Rules:
    """Checks for one scenario file; `positions` turn data paths into marks."""

    def __init__(self, positions: Positions, scenario_dir: Path) -> None:
        self.positions = positions
        self.scenario_dir = scenario_dir

    def found(self, loc: Loc, message: str, *, key: bool = True) -> Found:
        mark = self.positions.key(loc) if key else self.positions.value(loc)
        return Found(loc, mark, message)

    # -- steps -----------------------------------------------------------------------------------------------

    def step(self, loc: Loc, step: model.Step) -> Iterator[Found]:
        action = model.step_kind(step)
        yield from self._session_rules(loc, step, action)
        if isinstance(step, model.DebugStep):
            found = self.debug((*loc, "debug"), step.debug)
            if expects_failure(step):  # what kubectl itself refuses is then the point of the step
                found = (f for f in found if KUBECTL_REFUSES not in f.message)
            yield from found
        elif isinstance(step, model.ApplyStep):
            yield from self.apply((*loc, "apply"), step.apply)
        elif isinstance(step, model.WaitStep):
            yield from self.wait((*loc, "wait"), step.wait)
        elif isinstance(step, model.AssertStep):
            yield from self.assert_object((*loc, "assert"), step.assert_)
        elif isinstance(step, model.EventsStep):
            yield from self._object_name((*loc, "events", "object"), step.events.object)

    def _session_rules(self, loc: Loc, step: model.Step, action: str) -> Iterator[Found]:
        interactive = bool(getattr(getattr(step, action, None), "interactive", False))
        for key in ("session", "transcript"):
            if key not in step.model_fields_set:
                continue
            if action not in INTERACTIVE_ACTIONS:
                yield self.found((*loc, key), f"'{key}' only applies to interactive debug, exec and kubectl steps")
            elif not interactive:
                yield self.found((*loc, key), f"'{key}' needs 'interactive: true' in {action}")
        if "expect" in step.model_fields_set and action not in COMMAND_ACTIONS:
            yield self.found(
                (*loc, "expect"),
                "'expect' only applies to steps that run a command (debug, exec, kubectl, apply); "
                f"the {action} step runs none",
            )
        if interactive and step.expect is not None and step.expect.stderr is not None:
            yield self.found(
                (*loc, "expect", "stderr"),
                "'expect.stderr' cannot be checked in an interactive step: the terminal merges stderr into "
                "what the session shows, so stderr is always empty; check 'expect.output' or 'transcript'",
            )
        for index, item in enumerate(step.session or []):
            if isinstance(item, model.ExpectText) and (item.expect is None) == (item.regex is None):
                which = "both" if item.expect is not None else "neither"
                yield self.found(
                    (*loc, "session", index),
                    f"session item {index + 1} has {which} 'expect' and 'regex'; give exactly one",
                    key=False,
                )

    # -- debug -----------------------------------------------------------------------------------------------

    def debug(self, loc: Loc, debug: model.DebugAction) -> Iterator[Found]:
        given = debug.model_fields_set
        if debug.mode == "ephemeral":
            yield from self._needs(loc, debug, "pod", "the pod to add the ephemeral container to")
            yield from self._needs_image(loc, debug)
            yield from self._forbid(loc, given, "node", "'node' only applies to mode node; use 'pod'")
        elif debug.mode == "copy":
            yield from self._copy_rules(loc, debug)
        else:
            yield from self._needs(loc, debug, "node", "the node to debug")
            yield from self._needs_image(loc, debug)
            yield from self._forbid(loc, given, "pod", "'pod' does not apply to mode node; use 'node'")
        if debug.mode != "copy":
            for key in COPY_ONLY:
                said = f" (kubectl: {KUBECTL_SAYS[key]})" if key in KUBECTL_SAYS else ""
                yield from self._forbid(loc, given, key, f"'{key}' only applies to mode copy{said}")
        if debug.mode == "node":
            yield from self._forbid(loc, given, "target", "'target' only applies to mode ephemeral")
        yield from self._debug_flags(loc, debug)

    def _copy_rules(self, loc: Loc, debug: model.DebugAction) -> Iterator[Found]:
        yield from self._needs(loc, debug, "pod", "the pod to copy")
        yield from self._needs(loc, debug, "copy_to", "the name of the copy")
        yield from self._forbid(
            loc,
            debug.model_fields_set,
            "target",
            "'target' cannot be used in mode copy (kubectl: --target is incompatible with --copy-to. "
            "Use --share-processes instead.); use share_processes: true",
        )
        yield from self._forbid(loc, debug.model_fields_set, "node", "'node' only applies to mode node")
        if debug.image is None and not debug.set_image and not debug.command:
            yield self.found(
                loc,
                "debug mode copy needs 'image', 'set_image' or 'command' "
                "(kubectl: you must specify --image, --set-image or command arguments.)",
                key=False,
            )
        elif debug.command and debug.image is None and debug.container is None:
            yield self.found(
                (*loc, "command"),
                "'command' in mode copy needs 'image' or the 'container' to change (kubectl: you must "
                "specify an existing container or a new image when specifying args.)",
            )

    def _debug_flags(self, loc: Loc, debug: model.DebugAction) -> Iterator[Found]:
        if debug.tty and not debug.interactive:
            yield self.found(
                (*loc, "tty"),
                "'tty: true' needs 'interactive: true' "
                "(kubectl: -i/--stdin is required for containers with -t/--tty=true)",
            )
        if debug.arguments_only and not debug.command:
            yield self.found((*loc, "arguments_only"), "'arguments_only' needs 'command' (the arguments)")
        for key in CUSTOM_FORBIDDEN:
            if debug.custom is not None and key in debug.custom:
                yield self.found(
                    (*loc, "custom", key),
                    f"'custom' cannot set {key} (kubectl: name, command, image, lifecycle and volume devices "
                    "are not modifiable via custom profile); use the debug keys instead",
                )

    def _needs(self, loc: Loc, debug: model.DebugAction, key: str, what: str) -> Iterator[Found]:
        if getattr(debug, key) is None:
            yield self.found(loc, f"debug mode {debug.mode} needs '{key}' ({what})", key=False)

    def _needs_image(self, loc: Loc, debug: model.DebugAction) -> Iterator[Found]:
        if debug.image is None:
            yield self.found(
                loc,
                f"debug mode {debug.mode} needs 'image' (kubectl: you must specify --image when not using --copy-to.)",
                key=False,
            )

    def _forbid(self, loc: Loc, given: set[str], key: str, message: str) -> Iterator[Found]:
        if key in given:
            yield self.found((*loc, key), message)

    # -- apply, wait, assert ---------------------------------------------------------------------------------

    def apply(self, loc: Loc, apply: model.ApplyAction) -> Iterator[Found]:
        sources = [key for key in ("fixture", "manifest", "file") if getattr(apply, key) is not None]
        if len(sources) != 1:
            found = " and ".join(sources) if sources else "none"
            mark_loc = (*loc, sources[1]) if len(sources) > 1 else loc
            yield self.found(
                mark_loc,
                f"apply needs exactly one of fixture, manifest, file; found {found}",
                key=bool(sources),
            )
        if apply.params and apply.fixture is None:
            yield self.found((*loc, "params"), "'params' only applies to a built-in 'fixture'")
        if apply.fixture is not None:
            yield from self._fixture(loc, apply)
        if apply.file is not None:
            yield from self._file((*loc, "file"), apply.file)
        if isinstance(apply.manifest, dict):
            yield from self._manifest((*loc, "manifest"), apply.manifest, None)
        elif isinstance(apply.manifest, list):
            for index, item in enumerate(apply.manifest):
                yield from self._manifest((*loc, "manifest", index), item, index)
        if isinstance(apply.wait, model.WaitAction):
            yield from self.wait((*loc, "wait"), apply.wait)

    def _fixture(self, loc: Loc, apply: model.ApplyAction) -> Iterator[Found]:
        name = apply.fixture or ""
        fixture = catalog.FIXTURES.get(name)
        if fixture is None:
            match = suggest(name, list(catalog.FIXTURES))
            hint = f"did you mean '{match}'?" if match else f"known: {', '.join(sorted(catalog.FIXTURES))}"
            yield self.found((*loc, "fixture"), f"unknown fixture '{name}'; {hint}", key=False)
            return
        if name == "rbac" and not (apply.params.get("user") or apply.params.get("group")):
            yield self.found(
                (*loc, "params") if apply.params else (*loc, "fixture"),
                "fixture 'rbac' needs 'user' or 'group' (whom the role is bound to)",
            )
        elif name == "rbac" and {"rules", "cluster_role"} <= set(apply.params):
            yield self.found(
                (*loc, "params", "cluster_role"),
                "fixture 'rbac': give 'rules' (a new role) or 'cluster_role' (an existing one to bind), not both",
            )
        elif name == "rbac" and set(apply.params) <= set(fixture.defaults):
            try:
                fixture.render(fixture.params(apply.params))
            except (ValueError, TypeError, KeyError) as exc:
                yield self.found((*loc, "params"), f"fixture 'rbac': {exc}")
        for param in apply.params:
            if param not in fixture.defaults:
                match = suggest(param, list(fixture.defaults))
                known = ", ".join(fixture.defaults)
                hint = f"did you mean '{match}'?" if match else f"its parameters are {known}"
                yield self.found((*loc, "params", param), f"fixture '{name}' has no parameter '{param}'; {hint}")

    def _file(self, loc: Loc, file: str) -> Iterator[Found]:
        if any(ref.name != "scenario_dir" or not ref.well_formed for ref in variables.references(file)):
            return  # known only at run time (`${scenario_dir}` is known now)
        here = {"scenario_dir": str(self.scenario_dir.resolve())}
        target = self.scenario_dir / variables.substitute(file, here)
        there = target.is_file()
        looked = LOOKED_FOR.get()
        if looked is not None:
            looked.append((str(target), there))
        if not there:
            yield self.found(loc, f"manifest file '{file}' not found (looked for {target})", key=False)

    def _manifest(self, loc: Loc, manifest: dict[str, Any], index: int | None) -> Iterator[Found]:
        what = "the manifest" if index is None else f"manifest object {index + 1}"
        for key in ("apiVersion", "kind"):
            if key not in manifest:
                yield self.found(loc, f"{what} needs '{key}'", key=False)

    def wait(self, loc: Loc, wait: model.WaitAction) -> Iterator[Found]:
        if (wait.pod is None) == (wait.node is None):
            which = "both" if wait.pod is not None else "neither"
            yield self.found(loc, f"wait needs exactly one of 'pod' or 'node'; found {which}", key=False)
        elif wait.for_ == "node-ready" and wait.node is None:
            yield self.found((*loc, "for"), "'for: node-ready' waits for a node; give 'node', not 'pod'")
        elif wait.for_ != "node-ready" and wait.pod is None:
            yield self.found((*loc, "for"), f"'for: {wait.for_}' waits for a pod; give 'pod', not 'node'")
        if wait.for_ in ("container-running", "container-terminated") and wait.container is None:
            yield self.found((*loc, "for"), f"'for: {wait.for_}' needs 'container' (which container)")
        if wait.for_ == "waiting" and wait.reason is None:
            yield self.found((*loc, "for"), "'for: waiting' needs 'reason' (e.g. ImagePullBackOff)")

    def assert_object(self, loc: Loc, check: model.AssertObject) -> Iterator[Found]:
        yield from self._object_name((*loc, "object"), check.object)
        if check.within is not None and check.during is not None:
            yield self.found(
                (*loc, "during"),
                "'within' (until the checks hold) and 'during' (the checks keep holding) cannot be combined; "
                "use two assert steps, the first with 'within', then one with 'during'",
            )
        for index, value in enumerate(check.checks):
            if not value.model_fields_set - {"path"}:
                yield self.found(
                    (*loc, "checks", index),
                    f"check {index + 1} on '{value.path}' checks nothing; add equals, not_equals, exists, "
                    "contains, regex, length or min_length",
                    key=False,
                )

    def _object_name(self, loc: Loc, name: str) -> Iterator[Found]:
        kind, slash, rest = name.partition("/")
        if not slash or not kind or not rest:
            yield self.found(loc, f"'object' must be KIND/NAME, e.g. pod/app, got '{name}'", key=False)
