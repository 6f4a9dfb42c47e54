"""The scenario language as typed objects.

A scenario file is YAML: a name, requirements, fixtures to deploy, and an ordered list of steps, each with exactly
one action (`apply`, `wait`, `debug`, `exec`, `kubectl`, `assert`) and optional checks on what it printed. These
pydantic models are the single definition of the language: the loader validates against them and
`kdbgtest schema` publishes them as JSON Schema.

Strings may hold `${var}` references; they are substituted at run time (see `kdbgtest.scenario.variables`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

# A duration in seconds. YAML `30` or `2.5`.
Seconds = Annotated[float, Field(gt=0, description="seconds")]
# A string or list of strings (a single string is shorthand for a list of one).
Strings = str | list[str]


class Strict(BaseModel):
    """Base for every model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------------------------
# Checks on output, exit codes and API objects


class OutputCheck(Strict):
    """What a stream (stdout, stderr, combined output or session transcript) must or must not show."""

    contains: Strings | None = Field(None, description="literal text(s) that must appear")
    not_contains: Strings | None = Field(None, description="literal text(s) that must not appear")
    regex: Strings | None = Field(
        None, description="Python regex(es) searched in the text; named groups become variables"
    )
    not_regex: Strings | None = Field(None, description="regex(es) that must not match")
    equals: str | None = Field(None, description="the whole text, compared after stripping outer whitespace")
    lines: int | None = Field(None, ge=0, description="exact number of non-empty lines")
    min_lines: int | None = Field(None, ge=0)
    max_lines: int | None = Field(None, ge=0)


class CommandExpect(Strict):
    """Expectations on a finished command (kubectl, exec, or a non-interactive debug)."""

    exit_code: int | None = Field(0, description="expected exit code; null accepts any")
    stdout: OutputCheck | None = None
    stderr: OutputCheck | None = None
    output: OutputCheck | None = Field(None, description="stdout and stderr together")


class ValueCheck(Strict):
    """A check on one value extracted from an API object with a JMESPath expression."""

    path: str = Field(description="JMESPath over the object, e.g. spec.ephemeralContainers[0].targetContainerName")
    equals: Any = Field(None, description="expected value (compared after variable substitution)")
    not_equals: Any = None
    exists: bool | None = Field(None, description="true: the path yields a non-null value; false: it yields null")
    contains: Any = Field(None, description="the value (string or list) contains this")
    regex: str | None = Field(None, description="the value, as a string, matches this regex")
    length: int | None = Field(None, ge=0, description="length of the list, object or string")
    min_length: int | None = Field(None, ge=0)
    # Which checks the user wrote (e.g. `equals: null`) is `model_fields_set`, not a value test.


# ---------------------------------------------------------------------------------------------------------------
# Interactive dialogue


class SendLine(Strict):
    """Type a line (Enter is added) into the session."""

    send: str


class SendControl(Strict):
    """Send a control character: `d` for Ctrl-D (end of input), `c` for Ctrl-C, `l` for Ctrl-L (redraw)."""

    control: Literal["c", "d", "z", "\\", "l"]


class ExpectText(Strict):
    """Wait until the session prints text matching a literal or a regex (named groups become variables)."""

    expect: str | None = Field(None, description="literal text to wait for")
    regex: str | None = Field(None, description="Python regex to wait for; named groups become variables")
    timeout: Seconds = 10.0


class ExpectEnd(Strict):
    """Wait for the session's program to exit, optionally with a given exit code."""

    end: Literal[True]
    exit_code: int | None = None
    timeout: Seconds = 15.0


def _dialogue_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in (("send", "send"), ("control", "control"), ("end", "end")):
            if key in value:
                return tag
        if "expect" in value or "regex" in value:
            return "expect"
    return None


DialogueItem = Annotated[
    Annotated[SendLine, Tag("send")]
    | Annotated[SendControl, Tag("control")]
    | Annotated[ExpectText, Tag("expect")]
    | Annotated[ExpectEnd, Tag("end")],
    Discriminator(_dialogue_kind),
]


# ---------------------------------------------------------------------------------------------------------------
# Actions

WaitFor = Literal[
    "running",  # pod phase Running and every regular container running
    "ready",  # pod condition Ready
    "crashloop",  # a container waiting with reason CrashLoopBackOff (and restarts >= `restarts`)
    "terminated",  # a container terminated (pod phase Succeeded/Failed for restartPolicy Never)
    "completed",  # pod phase Succeeded
    "deleted",  # object gone
    "container-running",  # `container` (regular or ephemeral) running
    "container-terminated",  # `container` (regular or ephemeral) terminated
    "waiting",  # `container` waiting with `reason`
    "node-ready",  # node condition Ready
]


class WaitAction(Strict):
    """Wait, with a deadline, for a pod or node to reach a state."""

    pod: str | None = None
    node: str | None = None
    for_: WaitFor = Field(alias="for")
    container: str | None = Field(None, description="container the state refers to (default: the first)")
    restarts: int | None = Field(None, ge=0, description="minimum restartCount (crashloop, running)")
    reason: str | None = Field(None, description="waiting/terminated reason, e.g. ImagePullBackOff")
    timeout: Seconds = 60.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ApplyAction(Strict):
    """Create objects in the scenario's namespace: a built-in fixture, an inline manifest or a manifest file."""

    fixture: str | None = Field(None, description="name of a built-in fixture (see `kdbgtest fixtures`)")
    params: dict[str, Any] = Field(default_factory=dict, description="the fixture's parameters")
    manifest: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="inline Kubernetes object(s)")
    file: str | None = Field(None, description="manifest file, relative to the scenario file")
    wait: WaitAction | Literal[False] | None = Field(
        None, description="state to wait for after applying (built-in fixtures have a default; false: none)"
    )


DebugMode = Literal["ephemeral", "copy", "node"]
Profile = Literal["legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"]


class DebugAction(Strict):
    """A `kubectl debug` invocation. Each field maps to one kubectl flag (see `kdbgtest.debug.argv`)."""

    mode: DebugMode
    pod: str | None = Field(None, description="pod to debug (ephemeral and copy modes)")
    node: str | None = Field(None, description="node to debug (node mode)")
    image: str | None = Field(None, description="--image")
    container: str | None = Field(None, description="-c/--container: debug container name, or existing one (copy)")
    target: str | None = Field(None, description="--target: container whose process namespace to join")
    profile: Profile | None = Field(None, description="--profile")
    custom: dict[str, Any] | None = Field(None, description="--custom: partial container spec, merged by kubectl")
    env: dict[str, str] = Field(default_factory=dict, description="--env NAME=VALUE")
    copy_to: str | None = Field(None, description="--copy-to")
    replace: bool = Field(False, description="--replace")
    same_node: bool = Field(False, description="--same-node")
    share_processes: bool | None = Field(None, description="--share-processes (unset: kubectl's default)")
    set_image: dict[str, str] = Field(default_factory=dict, description="--set-image container=image (* for all)")
    keep_labels: bool | None = None
    keep_annotations: bool | None = None
    keep_liveness: bool | None = None
    keep_readiness: bool | None = None
    keep_startup: bool | None = None
    keep_init_containers: bool | None = None
    arguments_only: bool = Field(False, description="--arguments-only: command becomes args")
    command: list[str] | None = Field(None, description="the command after --")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    interactive: bool = Field(False, description="-i -t: attach in a terminal and run `session`")
    tty: bool | None = Field(None, description="-t (default: same as interactive)")
    attach: bool | None = Field(None, description="--attach (default: kubectl's, true iff interactive)")
    quiet: bool = Field(False, description="-q")
    driver: Literal["kubectl", "api"] | None = Field(
        None, description="how the step is performed (default: the run's --driver, kubectl)"
    )


class ExecAction(Strict):
    """`kubectl exec` into a container."""

    pod: str
    container: str | None = None
    command: list[str]
    interactive: bool = Field(False, description="-i -t, then run `session`")


class KubectlAction(Strict):
    """Any kubectl command, in the scenario's namespace (args exclude `kubectl` itself)."""

    args: list[str]
    interactive: bool = Field(False, description="run in a terminal, then run `session` (e.g. attach -it)")


class AssertObject(Strict):
    """Checks on one API object, fetched with kubectl as JSON: once, polled until they hold (`within`), or
    polled to show they keep holding (`during`)."""

    object: str = Field(description="KIND/NAME in the scenario namespace, e.g. pod/app, node/${node}")
    namespace: str | None = Field(None, description="another namespace (default: the scenario's)")
    checks: list[ValueCheck] = Field(min_length=1)
    within: Seconds | None = Field(None, description="poll until the checks hold, for at most this long")
    during: Seconds | None = Field(
        None,
        description="poll for this long: the checks must hold at every poll (fails at the first that does not)",
    )


class EventCheck(Strict):
    """An event about an object must (or must not) exist."""

    object: str = Field(description="KIND/NAME the event is about, e.g. pod/app")
    reason: str | None = None
    message: str | None = Field(None, description="regex the event message must match")
    type: Literal["Normal", "Warning"] | None = None
    absent: bool = Field(False, description="true: no such event may exist")
    within: Seconds | None = None


class Identity(Strict):
    """Who a step acts as: kubectl `--as`/`--as-group` (the API driver sends the same impersonation headers).

    The cluster's user (the kubeconfig's) must be allowed to impersonate; the admin is."""

    user: str = Field(min_length=1, description="--as: the user name, e.g. alice")
    groups: list[str] = Field(default_factory=list, description="--as-group, one per group, e.g. [dev]")


class CanIAction(Strict):
    """`kubectl auth can-i VERB RESOURCE[/NAME] [--subresource=S]` and the answer it must give."""

    verb: str = Field(description="e.g. patch, create, get, impersonate")
    resource: str = Field(description="e.g. pods, nodes, pods/app (a named object)")
    subresource: str | None = Field(None, description="--subresource, e.g. ephemeralcontainers, attach, exec")
    namespace: str | None = Field(None, description="another namespace (default: the scenario's)")
    all_namespaces: bool = Field(False, description="-A: in every namespace")
    allowed: bool = Field(description="the expected answer: true for yes (exit 0), false for no (exit 1)")


# ---------------------------------------------------------------------------------------------------------------
# Steps


class StepBase(Strict):
    """What every step has: a unique name, a deadline, and checks on what it printed.

    Each subclass names its action key (`KIND`: the YAML key, `assert` for `assert_`); `step_kind` reads it.
    """

    KIND: ClassVar[str]
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="unique within the scenario; shown in reports")
    as_: Identity | None = Field(
        None, alias="as", description="act as this user (kubectl --as); default: the scenario's `as`, else the admin"
    )
    timeout: Seconds = Field(60.0, description="deadline for the whole step")
    expect: CommandExpect | None = Field(None, description="checks on the finished command")
    session: list[DialogueItem] | None = Field(None, description="dialogue for an interactive command")
    transcript: OutputCheck | None = Field(None, description="checks on the whole interactive transcript")


class ApplyStep(StepBase):
    """Create objects (a fixture, a manifest or a file), optionally waiting for a state."""

    KIND = "apply"

    apply: ApplyAction


class WaitStep(StepBase):
    """Wait, with a deadline, for a pod or node state."""

    KIND = "wait"

    wait: WaitAction


class DebugStep(StepBase):
    """Run `kubectl debug` (ephemeral, copy or node mode), optionally with an interactive session."""

    KIND = "debug"

    debug: DebugAction


class ExecStep(StepBase):
    """Run `kubectl exec` in a container."""

    KIND = "exec"

    exec: ExecAction


class KubectlStep(StepBase):
    """Run any kubectl command in the scenario's namespace."""

    KIND = "kubectl"

    kubectl: KubectlAction


class AssertStep(StepBase):
    """Check an API object's fields with JMESPath, optionally until they hold or for a period."""

    KIND = "assert"

    assert_: AssertObject = Field(alias="assert")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventsStep(StepBase):
    """Check that an event about an object exists (or does not)."""

    KIND = "events"

    events: EventCheck


class CanIStep(StepBase):
    """Ask `kubectl auth can-i` (as the step's `as`) and check the yes/no answer."""

    KIND = "can_i"

    can_i: CanIAction


STEP_TYPES: tuple[type[StepBase], ...] = (
    ApplyStep,
    WaitStep,
    DebugStep,
    ExecStep,
    KubectlStep,
    AssertStep,
    EventsStep,
    CanIStep,
)
STEP_ACTIONS = tuple(t.KIND for t in STEP_TYPES)  # apply, wait, debug, exec, kubectl, assert, events, can_i


def step_kind(step: StepBase) -> str:
    """The one place a step's kind is decided: its action key as written in YAML (`assert`, not `assert_`)."""
    return step.KIND


def _step_kind(value: Any) -> str | None:
    """The union's discriminator: a raw step's single action key, or a parsed step's kind."""
    if isinstance(value, dict):
        found = [key for key in STEP_ACTIONS if key in value]
        if len(found) == 1:
            return found[0]
    elif isinstance(value, StepBase):
        return step_kind(value)
    return None


Step = Annotated[
    Annotated[ApplyStep, Tag("apply")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[DebugStep, Tag("debug")]
    | Annotated[ExecStep, Tag("exec")]
    | Annotated[KubectlStep, Tag("kubectl")]
    | Annotated[AssertStep, Tag("assert")]
    | Annotated[EventsStep, Tag("events")]
    | Annotated[CanIStep, Tag("can_i")],
    Discriminator(_step_kind),
]


# ---------------------------------------------------------------------------------------------------------------
# Scenario

Capability = Literal[
    "ephemeral-containers",  # the pods/ephemeralcontainers subresource works
    "target-namespace",  # --target puts the debugger in the target's PID namespace
    "node-debug",  # node debugging pods with host namespaces and /host
    "profiles",  # kubectl debug --profile (general, baseline, restricted, netadmin)
    "sysadmin-profile",  # --profile=sysadmin (kubectl >= 1.30)
    "toolbox-image",  # the kdbgtest/debug-toolbox:1 image (images/debug) can run on the nodes
    "named-users",  # the kubeconfig has users kdbgtest-alice, kdbgtest-bob (authenticating as alice, bob)
]


class Requirements(Strict):
    """What a cluster must offer; a scenario whose requirements are not met is skipped with the reason."""

    kubernetes: str | None = Field(None, pattern=r"^>=\s*1\.\d+$", description='minimum version, e.g. ">=1.25"')
    below: str | None = Field(None, pattern=r"^1\.\d+$", description="run only on versions below this")
    capabilities: list[Capability] = Field(default_factory=list)
    missing: list[Capability] = Field(
        default_factory=list, description="run only where these are absent (e.g. a copy-mode fallback)"
    )
    nodes: int = Field(1, ge=1, description="minimum number of schedulable nodes")


PsaLevel = Literal["privileged", "baseline", "restricted"]


class PodSecurity(Strict):
    """Pod Security admission levels for the scenario's namespace: each becomes the label
    `pod-security.kubernetes.io/<mode>` (and `<mode>-version` when `version` is given)."""

    enforce: PsaLevel | None = Field(None, description="pods that violate it are refused")
    warn: PsaLevel | None = Field(None, description="violations are admitted with a `Warning:` kubectl prints")
    audit: PsaLevel | None = Field(None, description="violations are recorded in the audit log only")
    version: str | None = Field(
        None, pattern=r"^(latest|v1\.\d+)$", description="policy version of every mode given (default: latest)"
    )


class NamespaceSpec(Strict):
    """Labels on the scenario's namespace (kdbgtest still creates and removes it)."""

    labels: dict[str, str] = Field(default_factory=dict, description="extra labels, e.g. Pod Security's")
    psa: PodSecurity | None = Field(None, description="shorthand for the pod-security.kubernetes.io labels")

    def all_labels(self) -> dict[str, str]:
        """`labels` with the `psa` shorthand spelled out (an explicit label wins)."""
        found: dict[str, str] = {}
        if self.psa is not None:
            for mode in ("enforce", "warn", "audit"):
                level = getattr(self.psa, mode)
                if level is not None:
                    found[f"pod-security.kubernetes.io/{mode}"] = level
                    if self.psa.version:
                        found[f"pod-security.kubernetes.io/{mode}-version"] = self.psa.version
        return {**found, **self.labels}


class Scenario(Strict):
    """One debugging workflow: deploy the broken workload, debug it, check what the session shows."""

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    requires: Requirements = Field(default_factory=Requirements)
    vars: dict[str, str] = Field(default_factory=dict, description="scenario variables, used as ${name}")
    namespace: NamespaceSpec | None = Field(None, description="labels for the scenario's namespace (e.g. `psa`)")
    as_: Identity | None = Field(
        None, alias="as", description="every step acts as this user unless it says otherwise (fixtures: the admin)"
    )
    fixtures: list[ApplyAction] = Field(default_factory=list, description="applied (and waited for) first")
    steps: list[Step] = Field(min_length=1)
    finally_: list[Step] = Field(default_factory=list, alias="finally", description="always run, even on failure")
    timeout: Seconds = Field(300.0, description="deadline for the whole scenario")
    serial: bool = Field(
        False,
        description="never run at the same time as another scenario (with `kdbgtest run -n N`, it runs after the "
        "concurrent ones, alone); for a scenario that changes something others can see, e.g. a node",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def modes(self) -> set[str]:
        """The debug modes this scenario exercises (used for pytest markers and `kdbgtest list`)."""
        return {s.debug.mode for s in [*self.steps, *self.finally_] if isinstance(s, DebugStep)}
