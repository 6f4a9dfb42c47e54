"""Performing debug and exec steps through the kubernetes Python client instead of kubectl.

`ApiDriver` builds exactly what kubectl 1.37 builds (`podgen`, `profiles`), sends it the way kubectl does
(`api_client`: ephemeral containers as a strategic merge patch of the `ephemeralcontainers` subresource, copies
and node pods as a create, `--replace` as a delete with grace 0), waits for the debug container like kubectl (a
watch until it runs or terminated; `Warning: container C: MSG` for waiting messages), then attaches through the
client's WebSocket stream and plays the dialogue (`api_stream`); a debugger already terminated, or an attach
that fails, gives its logs as kubectl does. It prints what kubectl prints (stdout: `Targeting ...`, `Defaulting
debug container name to ...`, `Creating debugging pod ...`, `Session ended, ...`; stderr: the attach hints,
warnings, and errors in kubectl's format with exit code 1), so the same scenario checks hold for both drivers.
tests/unit/debug/test_debug_api_driver_sim.py compares both drivers' objects and output on the offline cluster.

Plain `kubectl` steps are delegated to the `KubectlDriver`: such a step is by definition a kubectl command.

Honest limits (each one gives a clear error or is visible in the result, never a silent difference):
- `CommandResult.argv` is the kubectl command the step stands for, prefixed with `kubernetes-client:`;
- `--image` is not checked against the image reference grammar client-side (the server's validation applies);
- kubectl's `--env` order is random (a Go map); here it is sorted;
- custom profiles with strategic-merge directives (`$patch`, ...) are refused (see `merge`);
- without a TTY, Ctrl-C/Z/\\ cannot be "pressed" (they would signal kubectl itself; see `api_stream`);
- a reused ephemeral container name is refused by the server under both drivers, but the patch differs from
  kubectl's (kubectl diffs two containers of the same name; here only the changed fields are sent);
- an interrupted session is not re-attached and the watch is not resumed from a bookmark (kubectl's
  `UntilWithSync` would); a broken watch is simply opened again until the step's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.base import k8s
from kdbgtest.base.errors import ScenarioError, StepTimeout
from kdbgtest.base.k8s import Obj
from kdbgtest.debug import api_stream, argv, dialogue, podgen, stuck
from kdbgtest.debug.api_client import Api, Failure
from kdbgtest.debug.driver import DEBUG_CONTAINER, DEBUG_POD, CommandResult, Driver, SessionFailed, StepRequest
from kdbgtest.debug.kubectl_driver import KubectlDriver, known_captures
from kdbgtest.scenario import model

ARGV_PREFIX = "kubernetes-client:"
# What kubectl prints on stderr before it attaches (unless -q), with or without -i/-t.
HINT = [
    "All commands and output from this session will be recorded in container logs, including credentials and "
    "sensitive information passed through the command prompt.",
    "If you don't see a command prompt, try pressing enter.",
]


@dataclass
class Step:
    """One debug/exec step in progress: what it printed, captured and attaches to."""

    argv: list[str]
    request: StepRequest
    deadline: float
    started: float = field(default_factory=time.monotonic)
    printed: podgen.Printed = field(default_factory=podgen.Printed)
    captures: dict[str, str] = field(default_factory=dict)

    def remaining(self, what: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"the step's timeout ran out before {what}")
        return left

    def result(
        self, code: int | None, *, stdout: str = "", stderr: str = "", transcript: Path | None = None
    ) -> CommandResult:
        out = "".join(line + "\n" for line in self.printed.stdout) + stdout
        err = "".join(line + "\n" for line in self.printed.stderr) + stderr
        return CommandResult(
            argv=self.argv,
            exit_code=code,
            stdout=out,
            stderr=err,
            output=out + err,
            transcript=transcript,
            captures=dict(self.captures),
            duration=time.monotonic() - self.started,
        )


@dataclass(frozen=True)
class Target:
    """The container to attach to once created: pod, namespace, container, and whether it is ephemeral."""

    pod: str
    namespace: str
    container: str
    ephemeral: bool


class ApiDriver(Driver):
    """Debug and exec steps through the kubernetes client; `kubectl` steps through `kubectl_driver`."""

    def __init__(
        self,
        kubeconfig: Path,
        context: str | None,
        artifacts: Path,
        *,
        kubectl_driver: KubectlDriver,
        identity: model.Identity | None = None,
    ) -> None:
        self.api = Api(kubeconfig, context, identity)
        self.artifacts = artifacts
        self.kubectl_driver = kubectl_driver
        self._where = (kubeconfig, context)

    def close(self) -> None:
        self.api.close()

    def acting_as(self, identity: model.Identity) -> ApiDriver:
        """A driver (with its own client) that sends Impersonate-User/-Group headers, as kubectl --as does."""
        kubeconfig, context = self._where
        return ApiDriver(
            kubeconfig,
            context,
            self.artifacts,
            kubectl_driver=self.kubectl_driver.acting_as(identity),
            identity=identity,
        )

    # -- the Driver protocol ------------------------------------------------------------------------------

    def debug_step(self, action: model.DebugAction, request: StepRequest) -> CommandResult:
        """Create the debug container (ephemeral, copy or node pod) and, like kubectl, attach if asked."""
        namespace = request.namespace
        custom = Path(f"{request.slug}.custom.json") if action.custom is not None else None
        step = _step(argv.debug_argv(action, namespace=namespace, custom_file=custom), request)
        step.captures.update(known_captures(action))
        self.api.warnings.clear()
        refused = ""
        try:
            podgen.check(action, step.printed)
            target = self._create(action, namespace, step)
        except podgen.Refused as exc:
            refused = f"error: {exc}\n"
        except Failure as exc:
            refused = exc.text + "\n"
        step.printed.stderr += [f"Warning: {text}" for text in self.api.warnings]  # as kubectl prints them
        if refused:
            return step.result(1, stderr=refused)
        if target is None or not podgen.attaches(action):
            return step.result(0)
        return self._attach(action, target, step)

    def exec_step(self, action: model.ExecAction, request: StepRequest) -> CommandResult:
        """`kubectl exec` through the exec WebSocket; the exit code comes from the status channel."""
        namespace = request.namespace
        step = _step(argv.exec_argv(action, namespace=namespace), request)
        try:
            container = self._exec_container(action, namespace, step)
            ws = self.api.exec(action.pod, namespace, container, list(action.command), interactive=action.interactive)
        except Failure as exc:
            return step.result(1, stderr=exc.text + "\n")
        if action.interactive:
            term = self._terminal(ws, step, tty=True, press_enter=False)
            return self._play(term, step, wait_for_hint=False)
        out, err, status = api_stream.collect(ws, step.remaining("the exec"), f"exec in {action.pod}")
        ended = api_stream.exit_status(status)
        return step.result(ended.code, stdout=out, stderr=err + (ended.line + "\n" if ended.line else ""))

    def kubectl_step(self, action: model.KubectlAction, request: StepRequest) -> CommandResult:
        """A `kubectl` step is by definition kubectl: run by the kubectl driver."""
        return self.kubectl_driver.kubectl_step(action, request)

    # -- creating the debug container -----------------------------------------------------------------------

    def _create(self, action: model.DebugAction, namespace: str, step: Step) -> Target | None:
        if action.mode == "node":
            return self._node(action, namespace, step)
        if not action.pod:
            raise ScenarioError(f"a debug step in {action.mode} mode needs `pod:`; add the name of the pod to debug")
        pod = self.api.read_pod(action.pod, namespace)
        if action.copy_to:
            return self._copy(action, pod, namespace, step)
        ec, patch = podgen.ephemeral(action, pod, step.printed)
        step.captures[DEBUG_CONTAINER] = ec["name"]
        self.api.add_ephemeral(action.pod, namespace, patch)
        return Target(action.pod, namespace, ec["name"], ephemeral=True)

    def _copy(self, action: model.DebugAction, pod: Obj, namespace: str, step: Step) -> Target | None:
        copied, container = podgen.pod_copy(action, pod, step.printed)
        if container:
            step.captures[DEBUG_CONTAINER] = container
        self.api.create_pod(namespace, copied)
        if action.replace:
            self.api.delete_pod_now(pod["metadata"]["name"], namespace)
        return Target(copied["metadata"]["name"], namespace, container, ephemeral=False) if container else None

    def _node(self, action: model.DebugAction, namespace: str, step: Step) -> Target:
        if not action.node:
            raise ScenarioError("a debug step in node mode needs `node:`; add the node name (e.g. ${node})")
        self.api.read_node(action.node)
        pod = podgen.node_pod(action, action.node, step.printed)
        name, container = pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]
        step.captures.update({DEBUG_POD: name, DEBUG_CONTAINER: container})
        self.api.create_pod(namespace, pod)
        return Target(name, namespace, container, ephemeral=False)

    # -- attaching ------------------------------------------------------------------------------------------

    def _attach(self, action: model.DebugAction, target: Target, step: Step) -> CommandResult:
        """Wait for the container, then attach like kubectl: its logs instead if it already terminated, or
        (with a warning) if the attach is refused."""
        tty = podgen.tty_of(action)
        try:
            terminated = self.api.wait_container(
                target.pod, target.namespace, target.container, step.remaining, step.printed.stderr.append
            )
            if terminated:
                return self._logs_instead(target, step, action.interactive)
        except Failure as exc:
            return step.result(1, stderr=exc.text + "\n")
        except stuck.CannotStart as exc:
            raise SessionFailed(str(exc), step.result(None)) from None
        if not action.quiet:
            step.printed.stderr += HINT
        try:
            ws = self.api.attach(target.pod, target.namespace, target.container, stdin=action.interactive, tty=tty)
        except Failure as exc:
            step.printed.stderr.append(_attach_warning(target, exc.detail))
            return self._logs_instead(target, step, action.interactive)
        if not action.interactive:
            out, err, status = api_stream.collect(ws, step.remaining("the attach"), f"attach to {target.container}")
            ended = api_stream.exit_status(status)
            if ended.error:
                step.printed.stderr.append(_attach_warning(target, ended.error))
                return self._logs_instead(target, step, interactive=False)
            return step.result(ended.code, stdout=out, stderr=err + (ended.line + "\n" if ended.line else ""))
        hint = not action.quiet
        on_end = self._attach_end(target, session_line=_session_ended(target) if hint and tty else "")
        term = self._terminal(ws, step, tty=tty, press_enter=hint, on_end=on_end, redraw=True)
        return self._play(term, step, wait_for_hint=hint)

    def _attach_end(self, target: Target, session_line: str) -> Callable[[api_stream.Ended], tuple[str, int]]:
        """What kubectl prints when an attach ends: `Session ended, ...` (TTY, not -q), or, if the attach
        failed, a warning and the container's logs (and it exits 0)."""

        def on_end(ended: api_stream.Ended) -> tuple[str, int]:
            if not ended.error:
                text, code = api_stream.default_end(ended)
                return text + (session_line + "\r\n" if session_line else ""), code
            try:
                logs = self.api.logs(target.pod, target.namespace, target.container)
            except Failure as exc:
                return _attach_warning(target, ended.error) + "\r\n" + exc.text + "\r\n", 1
            return _attach_warning(target, ended.error) + "\r\n" + logs.replace("\n", "\r\n"), 0

        return on_end

    def _logs_instead(self, target: Target, step: Step, interactive: bool) -> CommandResult:
        """kubectl prints the debug container's logs when it cannot attach (it terminated, or attach failed)."""
        try:
            logs = self.api.logs(target.pod, target.namespace, target.container)
        except Failure as exc:
            return step.result(1, stderr=exc.text + "\n")
        if not interactive:
            return step.result(0, stdout=logs)
        transcript = step.request.artifact(self.artifacts, ".transcript.txt")
        transcript.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(line + "\n" for line in [*step.printed.stdout, *step.printed.stderr]) + logs
        transcript.write_text(text, encoding="utf-8")
        captures, duration = dict(step.captures), time.monotonic() - step.started
        return CommandResult(step.argv, 0, text, "", text, transcript, captures, duration)

    # -- sessions -------------------------------------------------------------------------------------------

    def _terminal(
        self,
        ws: Any,
        step: Step,
        *,
        tty: bool,
        press_enter: bool,
        on_end: Callable[[api_stream.Ended], tuple[str, int]] = api_stream.default_end,
        redraw: bool = False,
    ) -> api_stream.StreamTerminal:
        preface = "".join(line + "\r\n" for line in [*step.printed.stdout, *step.printed.stderr])
        step.printed = podgen.Printed()  # now part of the terminal's text
        return api_stream.StreamTerminal(
            ws,
            name="the session",
            transcript=step.request.artifact(self.artifacts, ".transcript.txt"),
            tty=tty,
            preface=preface,
            press_enter=press_enter,
            redraw=redraw,
            on_end=on_end,
        )

    def _play(self, term: api_stream.StreamTerminal, step: Step, *, wait_for_hint: bool) -> CommandResult:
        return dialogue.play(
            term,
            step.request.session,
            argv=step.argv,
            started=step.started,
            deadline=step.deadline,
            captures=step.captures,
            wait_for_hint=wait_for_hint,
        )

    # -- API calls ------------------------------------------------------------------------------------------

    def _exec_container(self, action: model.ExecAction, namespace: str, step: Step) -> str:
        """The container kubectl exec picks, with its `Defaulted container ...` line, and its phase check."""
        pod = k8s.as_pod(self.api.read_pod(action.pod, namespace))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise Failure(f"error: cannot exec into a container in a completed pod; current phase is {phase}")
        if action.container:
            return action.container
        spec = pod["spec"]
        default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if default and default in podgen.container_names(pod):
            return str(default)
        first = str(spec["containers"][0]["name"])
        if len(spec["containers"]) > 1 or spec.get("initContainers") or spec.get("ephemeralContainers"):
            names = [c["name"] for c in spec["containers"]]
            names += [f"{c['name']} (ephem)" for c in spec.get("ephemeralContainers") or []]
            names += [f"{c['name']} (init)" for c in spec.get("initContainers") or []]
            step.printed.stderr.append(f'Defaulted container "{first}" out of: {", ".join(names)}')
        return first


def _session_ended(target: Target) -> str:
    """What kubectl prints when a TTY session ends (attach.go; `-n` since 1.36)."""
    again = f"kubectl attach {target.pod} -c {target.container} -n {target.namespace} -i -t"
    if target.ephemeral:
        return (
            "Session ended, the ephemeral container will not be restarted but may be reattached using "
            f"'{again}' if it is still running"
        )
    return f"Session ended, resume using '{again}' command"


def _attach_warning(target: Target, error: str) -> str:
    return f"warning: couldn't attach to pod/{target.pod}, falling back to streaming logs: {error}"


def _step(args: list[str], request: StepRequest) -> Step:
    """A step starting now, its argv the kubectl command it stands for."""
    return Step([ARGV_PREFIX, *args], request, time.monotonic() + request.timeout)
