"""Executing one step (or fixture) of a scenario.

`execute` returns an `Outcome`; a step whose checks do not hold has `Outcome.message` set. Deadlines that
expire raise `StepTimeout` and other user-facing problems raise `KdbgtestError`; the engine turns both into a
failed step.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kdbgtest.base import process, waiting
from kdbgtest.base.errors import KdbgtestError, ScenarioError, StepTimeout
from kdbgtest.base.k8s import Obj
from kdbgtest.debug import argv as debug_argv
from kdbgtest.debug import driver as debug_driver
from kdbgtest.fixtures import catalog
from kdbgtest.runner import checks, cleanup, kube, resolve, shared_namespace, waits
from kdbgtest.scenario import model, variables

BUDGET_ROUNDING = 0.1  # seconds: budget() rounds the time left to this


@dataclass
class Context:
    """Everything a step needs: the cluster, the driver, the run's namespace and variables."""

    client: kube.Kubectl
    driver: debug_driver.Driver
    namespace: str
    base_dir: Path  # the scenario file's directory (`apply: {file: ...}` is relative to it)
    variables: dict[str, str]
    tracker: cleanup.Tracker
    scale: float = 1.0  # --timeout-scale: every deadline is multiplied by it
    other_driver: Callable[[str], debug_driver.Driver] | None = None  # a step's own `driver:` choice
    deadline: float = math.inf  # time.monotonic() by which the whole scenario must be done
    allow_outside_files: bool = False  # --allow-outside-files: `apply: {file:}` may leave base_dir's tree
    shared: shared_namespace.SharedNamespace | None = None  # --namespace: label what is applied
    identity: model.Identity | None = None  # the scenario's `as`: whom steps act as unless they say otherwise

    def budget(self, seconds: float) -> float:
        """`seconds` scaled, but never past the scenario's deadline; StepTimeout when none is left."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise StepTimeout("the scenario ran past its `timeout`; no time is left for this step")
        return min(seconds * self.scale, round(remaining, 1) or remaining)

    def deadline_reached(self) -> bool:
        """Whether the scenario's deadline has come, give or take the 0.1 s `budget` rounds what is left to
        (a wait capped by the deadline may end up to 0.05 s before it)."""
        return time.monotonic() >= self.deadline - BUDGET_ROUNDING


@dataclass
class Outcome:
    """What a step did; `message` is empty when every check held."""

    message: str = ""
    argv: list[str] | None = None
    transcript: Path | None = None
    output_tail: str = ""
    captures: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------------------
# apply and wait


def render_apply(
    action: model.ApplyAction, base_dir: Path, values: Mapping[str, str], *, allow_outside: bool = False
) -> tuple[list[Obj], model.WaitAction | None]:
    """Manifests of an apply action and the state to wait for afterwards (a fixture's default, or none).

    Fixture parameters (defaults included, e.g. `node: ${node}`) and manifest files get variables substituted;
    the action itself was substituted before.
    """
    wait: model.WaitAction | None = action.wait or None
    if action.fixture is not None:
        fixture = catalog.FIXTURES.get(action.fixture)
        if fixture is None:
            raise ScenarioError(f"unknown fixture {action.fixture!r}; known: {', '.join(sorted(catalog.FIXTURES))}")
        try:
            params = variables.substitute(fixture.params(action.params), values)
        except KeyError as exc:
            raise ScenarioError(f"fixture {action.fixture!r} has no parameter(s) {exc.args[0]}") from None
        if action.wait is None:
            ready = fixture.ready(params)
            wait = model.WaitAction.model_validate(ready) if ready is not None else None
        try:
            return fixture.render(params), wait
        except ValueError as exc:
            raise ScenarioError(f"fixture {action.fixture!r}: {exc}") from None
    if action.manifest is not None:
        items = action.manifest if isinstance(action.manifest, list) else [action.manifest]
        return list(items), wait
    if action.file is not None:
        return variables.substitute(_read_manifests(manifest_path(base_dir, action.file, allow_outside)), values), wait
    raise ScenarioError("an apply needs one of `fixture`, `manifest` or `file`")


def manifest_path(base_dir: Path, file: str, allow_outside: bool) -> Path:
    """`file` relative to the scenario's directory; ScenarioError if it resolves (`..`, an absolute path, a
    symlink) outside that directory's tree, unless `allow_outside`."""
    path = base_dir / file
    resolved, tree = path.resolve(), base_dir.resolve()
    if not allow_outside and not resolved.is_relative_to(tree):
        raise ScenarioError(
            f"manifest file {file!r} resolves to {resolved}, outside the scenario's directory {tree}; move it "
            "under that directory, or pass --allow-outside-files to allow it"
        )
    return path


def _read_manifests(path: Path) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read manifest file {path}: {exc}") from None
    return [doc for doc in docs if isinstance(doc, dict)]


def apply(
    action: model.ApplyAction, ctx: Context, timeout: float, expect: model.CommandExpect | None = None
) -> Outcome:
    """Create the manifests in the run's namespace (stdin), then wait for the declared state.

    A fixture (no `expect`) must be created. A step's `expect` (default: exit code 0) is checked on what
    `kubectl create` did, so a refusal can be the expected result; the wait follows only a creation that
    succeeded and held the checks."""
    outcome, wait, done = _create(action, ctx, timeout, check=expect is None)
    if expect is not None:
        found = checks.check_command(expect, done.returncode, done.stdout, done.stderr, done.output)
        outcome.message, outcome.captures = "\n".join(found.failures), found.captures
        if found.failures or done.returncode != 0:
            return outcome
    if wait is not None:
        seen = waits.wait_state(ctx.client, wait, namespace=ctx.namespace, timeout=ctx.budget(wait.timeout))
        outcome.output_tail += f"\n{seen}"
    return outcome


def create_fixture(action: model.ApplyAction, ctx: Context, timeout: float) -> Callable[[], str] | None:
    """A fixture's first half: create its manifests (they must be created). The second half, if it declares
    a wait: a call that waits for its state (within its own timeout, counted from the call) and says what it
    saw, so that a scenario's fixtures can be awaited together (`together.run`)."""
    _, wait, _ = _create(action, ctx, timeout, check=True)
    if wait is None:
        return None
    awaited = wait
    return lambda: waits.wait_state(ctx.client, awaited, namespace=ctx.namespace, timeout=ctx.budget(awaited.timeout))


def _create(
    action: model.ApplyAction, ctx: Context, timeout: float, *, check: bool
) -> tuple[Outcome, model.WaitAction | None, process.Completed]:
    manifests, wait = render_apply(action, ctx.base_dir, ctx.variables, allow_outside=ctx.allow_outside_files)
    if ctx.shared is not None:
        manifests = ctx.shared.adopt(manifests)
    done = ctx.client.create_all(manifests, namespace=ctx.namespace, timeout=timeout, check=check)
    for manifest in manifests:
        if manifest.get("kind") in cleanup.CLUSTER_KINDS and done.returncode == 0:
            ctx.tracker.add_cluster_object(str(manifest["kind"]).lower(), str(manifest["metadata"]["name"]))
    return Outcome(argv=done.argv, output_tail=checks.tail(done.output, 5)), wait, done


def wait(action: model.WaitAction, ctx: Context, timeout: float) -> Outcome:
    seen = waits.wait_state(ctx.client, action, namespace=ctx.namespace, timeout=timeout)
    return Outcome(output_tail=seen)


# ------------------------------------------------------------------------------------------------------------
# Commands: debug, exec, kubectl


def command_outcome(step: model.StepBase, result: debug_driver.CommandResult, ctx: Context) -> Outcome:
    """Check a finished command against the step's `expect` and `transcript`; collect captures.

    `expect` and `transcript` are substituted now, so they may use what this very step captured.
    """
    track(result, ctx)
    values = {**ctx.variables, **result.captures}
    expect = resolve.resolve(step.expect, values) if step.expect else model.CommandExpect()
    found = checks.check_command(expect, result.exit_code, result.stdout, result.stderr, result.output)
    if step.transcript is not None:
        # The session as assertions see it: the driver's cleaned text (the raw file keeps the escapes).
        found.merge(checks.check_output(resolve.resolve(step.transcript, values), result.output, "transcript"))
    return Outcome(
        message="\n".join(found.failures),
        argv=list(result.argv),
        transcript=result.transcript,
        output_tail=checks.tail(result.output),
        captures={**result.captures, **found.captures},
    )


def track(result: debug_driver.CommandResult, ctx: Context) -> None:
    """Remember a pod a debug step created (a copy, a node-debugger pod) so cleanup removes it."""
    if debug_driver.DEBUG_POD in result.captures:
        ctx.tracker.add_pod(ctx.namespace, result.captures[debug_driver.DEBUG_POD])


def session_failure(exc: debug_driver.SessionError, ctx: Context) -> Outcome:
    """A dialogue that did not go as written: its message, with what the session showed up to then."""
    track(exc.result, ctx)
    return Outcome(
        message=str(exc),
        argv=list(exc.result.argv),
        transcript=exc.result.transcript,
        output_tail=checks.tail(exc.result.output),
        captures=dict(exc.result.captures),
    )


def run_command(step: model.StepBase, ctx: Context, timeout: float, slug: str) -> Outcome:
    """A debug, exec or kubectl step through the driver."""
    common: dict[str, Any] = {
        "namespace": ctx.namespace,
        "session": step.session,
        "timeout": timeout,
        "step_slug": slug,
    }
    driver = ctx.driver
    if isinstance(step, model.DebugStep) and step.debug.driver is not None and ctx.other_driver is not None:
        driver = ctx.other_driver(step.debug.driver)
    try:
        if isinstance(step, model.DebugStep):
            result = driver.debug(step.debug, **common)
        elif isinstance(step, model.ExecStep):
            result = driver.exec(step.exec, **common)
        elif isinstance(step, model.KubectlStep):
            chosen = debug_argv.chosen_namespace(step.kubectl.args)
            if chosen and chosen != ctx.namespace:
                ctx.tracker.namespaces.add(chosen)  # cleanup looks for node-debugger pods made there
            result = driver.kubectl(step.kubectl, **common)
        else:  # pragma: no cover - guarded by execute()
            raise TypeError(type(step).__name__)
    except debug_driver.SessionError as exc:
        return session_failure(exc, ctx)
    return command_outcome(step, result, ctx)


def can_i_args(action: model.CanIAction) -> list[str]:
    """`auth can-i VERB RESOURCE [--subresource=S] [-n NS | -A]` (the scenario's namespace is the default)."""
    args = ["auth", "can-i", action.verb, action.resource]
    if action.subresource:
        args.append(f"--subresource={action.subresource}")
    if action.all_namespaces:
        args.append("--all-namespaces")
    elif action.namespace:
        args.append(f"--namespace={action.namespace}")
    return args


def can_i(step: model.CanIStep, ctx: Context, timeout: float, slug: str) -> Outcome:
    """Ask `kubectl auth can-i`: yes is exit 0, no exit 1; anything else (an error) fails the step too."""
    action = step.can_i
    kubectl = model.KubectlAction(args=can_i_args(action))
    result = ctx.driver.kubectl(kubectl, namespace=ctx.namespace, session=None, timeout=timeout, step_slug=slug)
    answer = result.stdout.strip().split(" ")[0] if result.stdout.strip() else ""
    wanted = "yes" if action.allowed else "no"
    message = ""
    if result.exit_code not in (0, 1) or answer not in ("yes", "no"):
        message = f"`kubectl {' '.join(kubectl.args)}` gave no answer (exit code {result.exit_code}): " + (
            result.stderr.strip() or result.stdout.strip() or "(nothing printed)"
        )
    elif answer != wanted:
        message = f"`kubectl {' '.join(kubectl.args)}` said {answer}, expected {wanted}"
    if not message and step.expect is not None:
        found = checks.check_command(step.expect, result.exit_code, result.stdout, result.stderr, result.output)
        message = "\n".join(found.failures)
    return Outcome(message=message, argv=list(result.argv), output_tail=checks.tail(result.output))


# ------------------------------------------------------------------------------------------------------------
# assert and events


def _poll(evaluate: Callable[[], checks.CheckResult], within: float | None, what: str) -> checks.CheckResult:
    """Evaluate once, or until it holds for at most `within` seconds (then return the last failures)."""
    if within is None:
        return evaluate()

    def probe() -> tuple[bool, checks.CheckResult]:
        found = evaluate()
        return found.ok, found

    try:
        return kube.poll(
            probe,
            timeout=within,
            what=what,
            describe=lambda r: "; ".join(r.failures),
        )
    except StepTimeout as exc:
        return checks.CheckResult(failures=[str(exc)])


def assert_object(action: model.AssertObject, ctx: Context, timeout: float) -> Outcome:
    namespace = action.namespace or ctx.namespace
    argv = ctx.client.argv(["get", action.object, "-o", "json"], namespace)

    def evaluate() -> checks.CheckResult:
        obj = ctx.client.get(action.object, namespace=namespace, timeout=timeout)
        if obj is None:
            return checks.CheckResult(failures=[f"{action.object} not found in namespace {namespace}"])
        try:
            return checks.check_values(action.checks, obj)
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None

    if action.during is not None:
        found = _hold(evaluate, action.during, ctx, action.object)
    else:
        within = ctx.budget(action.within) if action.within else None
        found = _poll(evaluate, within, f"the checks on {action.object} to hold")
    return Outcome(message="\n".join(found.failures), argv=argv, captures=found.captures)


def _hold(evaluate: Callable[[], checks.CheckResult], period: float, ctx: Context, what: str) -> checks.CheckResult:
    """`evaluate` on every poll for `period` seconds (not scaled: it is what is asserted, not a deadline);
    the first poll where it fails ends it, saying when and what was seen."""
    left = ctx.deadline - time.monotonic()
    if left < period:
        raise StepTimeout(f"`during: {period:g}` needs {period:g}s, but the scenario's timeout leaves {left:.1f}s")

    def probe() -> tuple[bool, checks.CheckResult]:
        found = evaluate()
        return found.ok, found

    held, found, elapsed = waiting.holds_for(probe, period=period, interval=kube.FIRST_POLL, max_interval=kube.MAX_POLL)
    if held:
        return found
    head = f"the checks on {what} stopped holding after {elapsed:.1f}s of the {period:g}s period:"
    return checks.CheckResult(failures=[head, *found.failures], captures=found.captures)


_KINDS = {"pod": "Pod", "pods": "Pod", "po": "Pod", "node": "Node", "nodes": "Node", "no": "Node"}


def event_selector(action: model.EventCheck) -> str:
    """The field selector for events about `action.object` (and reason/type if given)."""
    kind, _, name = action.object.partition("/")
    kind = _KINDS.get(kind.lower(), kind[:1].upper() + kind[1:])
    parts = [f"involvedObject.kind={kind}", f"involvedObject.name={name}"]
    if action.reason:
        parts.append(f"reason={action.reason}")
    if action.type:
        parts.append(f"type={action.type}")
    return ",".join(parts)


def events(action: model.EventCheck, ctx: Context, timeout: float) -> Outcome:
    selector = event_selector(action)
    argv = ctx.client.argv(["get", "events", "-o", "json", "--field-selector", selector], ctx.namespace)
    message = re.compile(action.message) if action.message else None

    def evaluate() -> checks.CheckResult:
        items = ctx.client.items("events", namespace=ctx.namespace, fields=selector, timeout=timeout)
        matching = [e for e in items if message is None or message.search(str(e.get("message", "")))]
        wanted = f"event about {action.object} with {_describe_event(action)}"
        if action.absent and matching:
            return checks.CheckResult(failures=[f"found an {wanted}, which must not exist: {_show(matching[0])}"])
        if not action.absent and not matching:
            seen = "; ".join(_show(e) for e in items[-3:]) or "none"
            return checks.CheckResult(failures=[f"no {wanted}; events about it: {seen}"])
        return checks.CheckResult()

    within = ctx.budget(action.within) if action.within else None
    found = _poll(evaluate, within, f"events about {action.object}")
    return Outcome(message="\n".join(found.failures), argv=argv)


def _describe_event(action: model.EventCheck) -> str:
    parts = [f"{k} {v!r}" for k, v in (("reason", action.reason), ("type", action.type)) if v]
    if action.message:
        parts.append(f"message matching {action.message!r}")
    return ", ".join(parts) or "any reason"


def _show(event: Obj) -> str:
    return f"{event.get('type', '?')} {event.get('reason', '?')}: {event.get('message', '')}"


# ------------------------------------------------------------------------------------------------------------


def timeout_of(step: model.StepBase) -> float:
    """A step's own deadline: a wait step without an explicit `timeout` uses its wait's `timeout`."""
    if isinstance(step, model.WaitStep) and "timeout" not in step.model_fields_set:
        return step.wait.timeout
    if isinstance(step, model.WaitStep):
        return min(step.timeout, step.wait.timeout)
    return step.timeout


def identity_of(step: model.StepBase, ctx: Context) -> model.Identity | None:
    """Whom the step acts as: its own `as` (`as: null` is the admin), else the scenario's."""
    return step.as_ if "as_" in step.model_fields_set else ctx.identity


def execute(step: model.StepBase, ctx: Context, timeout: float, slug: str) -> Outcome:
    """Run one step (variables already substituted) within `timeout` seconds, as the user it names."""
    identity = identity_of(step, ctx)
    if identity is None:
        return _execute(step, ctx, timeout, slug)
    acting = dataclasses.replace(
        ctx,
        client=ctx.client.acting_as(debug_driver.impersonation_args(identity)),
        driver=ctx.driver.acting_as(identity),
        other_driver=None if ctx.other_driver is None else _acting_other(ctx.other_driver, identity),
    )
    try:
        return _execute(step, acting, timeout, slug)
    finally:
        acting.driver.close()


def _acting_other(
    other: Callable[[str], debug_driver.Driver], identity: model.Identity
) -> Callable[[str], debug_driver.Driver]:
    return lambda name: other(name).acting_as(identity)


def _execute(step: model.StepBase, ctx: Context, timeout: float, slug: str) -> Outcome:
    if isinstance(step, model.ApplyStep):
        expect = resolve.resolve(step.expect, ctx.variables) if step.expect else model.CommandExpect()
        return apply(step.apply, ctx, timeout, expect)
    if isinstance(step, model.WaitStep):
        return wait(step.wait, ctx, timeout)
    if isinstance(step, model.AssertStep):
        return assert_object(step.assert_, ctx, timeout)
    if isinstance(step, model.EventsStep):
        return events(step.events, ctx, timeout)
    if isinstance(step, model.DebugStep | model.ExecStep | model.KubectlStep):
        return run_command(step, ctx, timeout, slug)
    if isinstance(step, model.CanIStep):
        return can_i(step, ctx, timeout, slug)
    raise KdbgtestError(f"unknown step type {type(step).__name__}")
