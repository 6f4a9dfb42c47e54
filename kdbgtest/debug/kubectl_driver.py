"""Performing command steps with real kubectl: in a pseudo-terminal when interactive, else as a plain process.

kubectl runs with `KUBECTL_KUBERC=false`, so a user's `~/.kube/kuberc` (aliases, default flags) cannot change
what a scenario runs. The `custom` profile of a debug step is written as JSON into the artifacts directory
(`<step>.custom.json`); interactive sessions leave their raw transcript there (`<step>.transcript.txt`).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from kdbgtest.base import k8s, process
from kdbgtest.debug import ansi, argv, dialogue, hintwait, stuck
from kdbgtest.debug.driver import (
    DEBUG_CONTAINER,
    DEBUG_POD,
    CommandResult,
    Driver,
    StepRequest,
    impersonation_args,
)
from kdbgtest.debug.session import Session
from kdbgtest.scenario import model

KUBECTL_ENV = {"KUBECTL_KUBERC": "false"}
LOOK_TIMEOUT = 10.0  # seconds for the `kubectl get pod` that asks why a debug container does not start
# What kubectl prints about the debug container it creates (debug.go: debugByEphemeralContainer and
# generateNodeDebugPod).
_DEFAULTED = re.compile(r"^Defaulting debug container name to (?P<debug_container>[a-z0-9][-a-z0-9]*)\.$", re.M)
_NODE_POD = re.compile(
    r"^Creating debugging pod (?P<debug_pod>\S+) with container (?P<debug_container>\S+) on node \S+\.$", re.M
)


class KubectlDriver(Driver):
    """Runs `kubectl debug|exec|...` against one cluster; files for each step go into `artifacts`."""

    def __init__(
        self,
        kubectl: Path,
        kubeconfig: Path,
        context: str | None,
        artifacts: Path,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.base = argv.base_argv(kubectl, kubeconfig, context)
        self.artifacts = artifacts
        self.env = {**KUBECTL_ENV, **(env or {})}

    def close(self) -> None:
        """Nothing to release: every command is a process of its own, gone when its step ends."""

    def acting_as(self, identity: model.Identity) -> KubectlDriver:
        """This driver with `--as`/`--as-group` after the cluster flags of every command."""
        other = copy.copy(self)
        other.base = [*self.base, *impersonation_args(identity)]
        return other

    def debug_step(self, action: model.DebugAction, step: StepRequest) -> CommandResult:
        """`kubectl debug`; captures `debug_container` and `debug_pod` from the action and kubectl output."""
        custom = self._write_custom(action.custom, step) if action.custom is not None else None
        args = argv.debug_argv(action, namespace=step.namespace, custom_file=custom)
        known = known_captures(action)
        if not action.interactive:
            return self._run(args, step.timeout, known)
        tty = action.interactive if action.tty is None else action.tty
        hint = tty and not action.quiet and action.attach is not False
        look = self._looker(step.namespace, known)
        return self._interactive(args, step, wait_for_hint=hint, tty=tty, known=known, look=look)

    def exec_step(self, action: model.ExecAction, step: StepRequest) -> CommandResult:
        """`kubectl exec` (kubectl prints no prompt hint for exec, so a dialogue starts at once)."""
        args = argv.exec_argv(action, namespace=step.namespace)
        if not action.interactive:
            return self._run(args, step.timeout, {})
        return self._interactive(args, step, wait_for_hint=False, tty=True, known={})

    def kubectl_step(self, action: model.KubectlAction, step: StepRequest) -> CommandResult:
        """Any kubectl command. `attach`, `debug` and `run` with a TTY and without `-q` print the prompt hint,
        so their dialogue waits for it as a debug step's does."""
        args = argv.kubectl_argv(action, namespace=step.namespace)
        if not action.interactive:
            return self._run(args, step.timeout, {})
        hint = prints_prompt_hint(action.args)
        tty = requests_tty(action.args)
        return self._interactive(args, step, wait_for_hint=hint, tty=tty, known={})

    # -- the two ways of running ---------------------------------------------------------------------------

    def _run(self, args: list[str], timeout: float, known: dict[str, str]) -> CommandResult:
        done = process.run([*self.base, *args], timeout=timeout, check=False, env=self.env)
        output = ansi.strip(done.output)
        return CommandResult(
            argv=done.argv,
            exit_code=done.returncode,
            stdout=ansi.strip(done.stdout),
            stderr=ansi.strip(done.stderr),
            output=output,
            transcript=None,
            captures={**known, **printed_captures(output)},
            duration=done.duration,
        )

    def _interactive(
        self,
        args: list[str],
        step: StepRequest,
        *,
        wait_for_hint: bool,
        tty: bool,
        known: dict[str, str],
        look: Callable[[str, str], str | None] | None = None,
    ) -> CommandResult:
        """`look(container, text so far)`, if given, says why a container kubectl waits for cannot start."""
        full = [*self.base, *args]
        started = time.monotonic()
        deadline = started + step.timeout
        transcript = step.artifact(self.artifacts, ".transcript.txt")
        with Session(full, transcript=transcript, env=self.env) as term:
            first = None
            if wait_for_hint and look is not None:
                first = partial(hintwait.wait_for_hint, term, deadline, lambda c: look(c, term.text))
            return dialogue.play(
                term,
                step.session,
                argv=full,
                started=started,
                deadline=deadline,
                captures=known,
                scan=printed_captures,
                wait_for_hint=wait_for_hint and first is None,
                tty=tty,
                first=first,
            )

    def _looker(self, namespace: str, known: dict[str, str]) -> Callable[[str, str], str | None]:
        """How `_interactive` asks why a debug container does not start: the pod is the one the step names, or
        the node-debugger pod kubectl said it created."""

        def look(container: str, printed: str) -> str | None:
            pod = {**known, **printed_captures(printed)}.get(DEBUG_POD)
            if pod is None:
                return None
            get = [*self.base, "get", "pod", pod, "--namespace", namespace, "--output", "json"]
            done = process.run(get, timeout=LOOK_TIMEOUT, check=False, env=self.env)
            try:
                found = json.loads(done.stdout) if done.returncode == 0 else None
            except ValueError:
                return None
            why = stuck.cannot_start(k8s.as_pod(found), [container]) if isinstance(found, dict) else None
            return None if why is None else f"pod {pod}: {why}"

        return look

    def _write_custom(self, custom: dict[str, Any], step: StepRequest) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = step.artifact(self.artifacts, ".custom.json")
        path.write_text(json.dumps(custom, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def known_captures(action: model.DebugAction) -> dict[str, str]:
    """What the action itself says about the debug container and its pod (kubectl may print more)."""
    found: dict[str, str] = {}
    if action.container:
        found[DEBUG_CONTAINER] = action.container
    pod = action.copy_to if action.mode == "copy" else action.pod if action.mode == "ephemeral" else None
    if pod:
        found[DEBUG_POD] = pod
    return found


def requests_tty(args: list[str]) -> bool:
    """Whether `kubectl ARGS` asks for a TTY (`-t`, `-it`, `-ti`, `--tty`), looking only before `--`."""
    own = argv.own_args(args)
    return bool({"-t", "-it", "-ti", "--tty"} & _flag_names(own)) and "--tty=false" not in own


def prints_prompt_hint(args: list[str]) -> bool:
    """Whether `kubectl ARGS` will print `If you don't see a command prompt, ...` (it attaches with a TTY)."""
    own = argv.own_args(args)
    words = [a for a in own if not a.startswith("-")]
    quiet = bool({"-q", "--quiet"} & _flag_names(own)) and "--quiet=false" not in own
    return bool(words) and words[0] in ("attach", "debug", "run") and requests_tty(args) and not quiet


def _flag_names(args: list[str]) -> set[str]:
    """The flags among `args`, without their `=value`."""
    return {a.split("=", 1)[0] for a in args if a.startswith("-")}


def printed_captures(text: str) -> dict[str, str]:
    """`debug_container`/`debug_pod` from kubectl's `Defaulting debug container name to X.` and `Creating
    debugging pod P with container C on node N.` lines."""
    found: dict[str, str] = {}
    for pattern in (_DEFAULTED, _NODE_POD):
        match = pattern.search(text)
        if match:
            found.update(match.groupdict())
    return found
