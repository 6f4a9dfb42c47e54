"""Witnesses: long-lived workloads that live through the whole upgrade and are looked at after every step.

One pod per fixture kind (crashloop, distroless, node-issue), each given an ephemeral container by `kubectl debug
--target`, and a copy made with `kubectl debug --copy-to`; plus one node-debugger pod (`kubectl debug node/N`),
left as kubectl leaves it. Every debug container runs a ticker, so attach, exec and logs can be tried on each.
Each command and its output is appended to `<dir>/<witness>.log`, the transcript the report links to.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import k8s, waiting
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.fixtures.catalog import FIXTURES
from kdbgtest.runner import kube, namespace
from kdbgtest.upgrade.model import Check

DEBUG_IMAGE = "busybox:1.37"
DEBUG_CONTAINER = "witness-dbg"
TICK = "witness tick"
TICKER = ["sh", "-c", f'i=0; while true; do i=$((i+1)); echo "{TICK} $i"; sleep 1; done']
READY_TIMEOUT = 180.0
CALL_TIMEOUT = 30.0
ATTACH_SECONDS = 10.0
REMOVE_TIMEOUT = 120.0
RECOVERY = 60.0  # how long a failed exec/logs/attach is tried again before it counts as failed
RETRY_PAUSE = 2.0
# fixture -> the container `--target` names ("": none; a crash-looping container is rarely up to be joined)
FIXTURE_KINDS = {"crashloop": "", "distroless": "app", "node-issue": "runaway"}
STUCK = ("CreateContainerConfigError", "CreateContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName")


@dataclass(frozen=True)
class Witness:
    pod: str
    container: str  # the debug container to attach/exec/log into
    kind: str  # "ephemeral" (in the fixture's pod), "copy", "node-debugger"
    previous_of: str = ""  # a container with an earlier instance: `logs --previous` must work


class Witnesses:
    """Deploy the witnesses into their own namespace, then `check` them at each checkpoint."""

    def __init__(self, client: kube.Kubectl, directory: Path, run_id: str, node: str, scratch: str) -> None:
        self.client = client
        self.scratch = scratch
        self.directory = directory
        self.run_id = run_id
        self.node = node
        self.namespace = namespace.namespace_name("upgrade-witnesses", run_id)
        self.witnesses: list[Witness] = []
        self._last: dict[tuple[str, str], tuple[str, int]] = {}  # (pod, container) -> (containerID, restarts)

    # ---- deploying ---------------------------------------------------------------------------------------

    def deploy(self) -> None:
        directory = self.directory
        directory.mkdir(parents=True, exist_ok=True)
        namespace.create(self.client, self.namespace, "upgrade-witnesses", self.run_id)
        for kind in FIXTURE_KINDS:
            fixture = FIXTURES[kind]
            given = {"node": self.node, "directory": self.scratch}
            params = fixture.params({k: v for k, v in given.items() if k in fixture.defaults})
            self.client.create_all(fixture.render(params), namespace=self.namespace, timeout=CALL_TIMEOUT)
        for kind in FIXTURE_KINDS:
            self._wait_started(kind)
        for kind, target in FIXTURE_KINDS.items():
            targeting = [f"--target={target}"] if target else []
            self._debug(kind, [kind, *targeting, f"--image={DEBUG_IMAGE}", f"-c={DEBUG_CONTAINER}"])
            self.witnesses.append(Witness(kind, DEBUG_CONTAINER, "ephemeral", "app" if kind == "crashloop" else ""))
            copy = f"{kind}-copy"
            self._debug(copy, [kind, f"--copy-to={copy}", "--share-processes", f"--image={DEBUG_IMAGE}",
                               f"-c={DEBUG_CONTAINER}"])  # fmt: skip
            self.witnesses.append(Witness(copy, DEBUG_CONTAINER, "copy"))
        said = self._debug("node-debugger", [f"node/{self.node}", f"--image={DEBUG_IMAGE}"])
        found = re.search(r"Creating debugging pod (\S+)", said)
        if found is None:
            raise KdbgtestError(f"kubectl debug node/{self.node} did not name its pod: {said.strip()}")
        self.witnesses.append(Witness(found[1], "debugger", "node-debugger"))
        for witness in self.witnesses:
            self._wait_running(witness)

    def _debug(self, log: str, args: list[str]) -> str:
        return self._kubectl(log, ["debug", *args, "--", *TICKER], timeout=60)

    def _wait_started(self, pod: str) -> None:
        def started() -> tuple[bool, str]:
            obj = k8s.as_pod(self.client.get(f"pod/{pod}", namespace=self.namespace) or {})
            statuses = k8s.container_statuses(obj, ["regular"])
            ok = bool(statuses) and all(s.get("restartCount", 0) > 0 or "running" in s.get("state", {})
                                        for s in statuses)  # fmt: skip
            return ok, f"phase {obj.get('status', {}).get('phase', '?')}, containers {_states(statuses)}"

        waiting.wait_for(started, timeout=READY_TIMEOUT, what=f"witness {pod} to start", interval=1.0, describe=str)

    def _wait_running(self, witness: Witness) -> None:
        def running() -> tuple[bool, str]:
            status = self._status(witness.pod, witness.container)
            waiting_reason = status.get("state", {}).get("waiting", {}).get("reason", "")
            if waiting_reason in STUCK:
                message = status["state"]["waiting"].get("message", "")
                where = f"{witness.pod}/{witness.container}"
                raise KdbgtestError(f"witness {where} cannot start: {waiting_reason} {message}")
            return "running" in status.get("state", {}), _states([status])

        waiting.wait_for(
            running, timeout=READY_TIMEOUT, what=f"{witness.pod}/{witness.container} to run", interval=1.0, describe=str
        )

    def drained(self, checkpoint: str) -> list[Check]:
        """After `kubectl drain`: each witness it deleted (bare pods: nothing recreates them) is recorded once, as
        the drain's expected effect, and not looked for again; the others stay witnesses."""
        found, kept = [], []
        for witness in self.witnesses:
            try:
                gone = self.client.get(f"pod/{witness.pod}", namespace=self.namespace) is None
            except KdbgtestError:
                gone = False  # unknown: keep looking at it, the next checkpoint says what it sees
            if gone:
                self._note(witness.pod, f"==== {checkpoint}: deleted by kubectl drain")
                detail = "deleted by kubectl drain (a bare pod: nothing recreates it); not looked at again"
                found.append(Check(checkpoint, witness.pod, "drained", True, detail,
                                   f"{self.directory.name}/{self._log_path(witness.pod).name}"))  # fmt: skip
            else:
                kept.append(witness)
        self.witnesses = kept
        return found

    def remove(self) -> str | None:
        """Delete the witnesses' namespace and wait for it to go; a problem is returned, not raised."""
        try:
            return namespace.delete(self.client, self.namespace, timeout=REMOVE_TIMEOUT)
        except KdbgtestError as exc:
            return f"removing the witnesses: {exc}"

    # ---- checking ----------------------------------------------------------------------------------------

    def check(self, checkpoint: str) -> list[Check]:
        """Everything about every witness, now; nothing raises (a failed look is a failed check)."""
        checks: list[Check] = []
        for witness in self.witnesses:
            log = self._log_path(witness.pod)
            self._note(witness.pod, f"==== checkpoint: {checkpoint}")

            def add(check: str, ok: bool, detail: str, witness: Witness = witness, log: Path = log) -> None:
                link = f"{self.directory.name}/{log.name}"
                checks.append(Check(checkpoint, witness.pod, check, ok, " ".join(detail.split())[:300], link))

            try:
                found = self.client.get(f"pod/{witness.pod}", namespace=self.namespace)
            except KdbgtestError as exc:
                add("running", False, f"cannot read the pod: {exc}")
                continue
            if found is None:
                add("running", False, "the pod is gone")
                continue
            pod = k8s.as_pod(found)
            phase = pod.get("status", {}).get("phase", "?")
            status = _container(pod, witness.container)
            add("running", phase == "Running" and "running" in status.get("state", {}),
                f"phase {phase}; {witness.container}: {_states([status])}")  # fmt: skip
            add(*self._preserved(witness, pod))
            looks = ["exec", "logs", "attach", *(["logs --previous"] if witness.previous_of else [])]
            for name in looks:
                ok, detail, recovered = _until_ok(functools.partial(self._look, witness, name))
                link = f"{self.directory.name}/{log.name}"
                checks.append(Check(checkpoint, witness.pod, name, ok, " ".join(detail.split())[:300], link, recovered))
        return checks

    def _look(self, w: Witness, check: str) -> tuple[bool, str]:
        """One try of exec, logs, attach or logs --previous."""
        if check == "exec":
            return self._try(w.pod, ["exec", w.pod, "-c", w.container, "--", "echo", "exec-ok"], "exec-ok")
        if check == "logs":
            return self._try(w.pod, ["logs", w.pod, "-c", w.container, "--tail=3"], TICK)
        if check == "attach":
            return self._attach(w)
        return self._try(w.pod, ["logs", w.pod, "-c", w.previous_of, "--previous"], "app: starting")

    def _preserved(self, witness: Witness, pod: k8s.Pod) -> tuple[str, bool, str]:
        """Each container's ID and restartCount against the last checkpoint: same ID (never recreated), and a
        count that never went down."""
        problems, seen = [], []
        for status in k8s.container_statuses(pod, ["regular", "ephemeral"]):
            key = (witness.pod, status["name"])
            now = (status.get("containerID", ""), int(status.get("restartCount", 0)))
            seen.append(f"{status['name']} restarts={now[1]}")
            before = self._last.get(key)
            if before is not None:
                if now[1] < before[1]:
                    problems.append(f"{status['name']}: restartCount went from {before[1]} to {now[1]}")
                elif now[1] == before[1] and now[0] != before[0]:
                    problems.append(f"{status['name']}: recreated (containerID changed, restartCount unchanged)")
            self._last[key] = now
        return "preserved", not problems, "; ".join(problems) or ", ".join(seen)

    def _try(self, log: str, args: list[str], expected: str) -> tuple[bool, str]:
        try:
            out = self._kubectl(log, args, timeout=CALL_TIMEOUT)
        except KdbgtestError as exc:
            return False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        last = out.strip().splitlines()[-1] if out.strip() else "(no output)"
        return expected in out, last

    def _attach(self, witness: Witness) -> tuple[bool, str]:
        """`kubectl attach` to the ticker: it must stream a tick within ATTACH_SECONDS; then it is stopped."""
        argv = self.client.argv(["attach", witness.pod, "-c", witness.container], self.namespace)
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
            deadline = time.monotonic() + ATTACH_SECONDS
            text = ""
            try:
                while time.monotonic() < deadline and proc.poll() is None:
                    waiting.pause(0.5)
                    out.seek(0)
                    text = out.read()
                    if TICK in text:
                        break
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            out.seek(0)
            text = out.read()
        self._note(witness.pod, f"$ {shlex.join(argv)}  (stopped after the first tick or {ATTACH_SECONDS:g}s)\n{text}")
        lines = text.strip().splitlines()
        return TICK in text, lines[-1] if lines else f"nothing streamed in {ATTACH_SECONDS:g}s (exit {proc.returncode})"

    # ---- helpers -----------------------------------------------------------------------------------------

    def _kubectl(self, log: str, args: list[str], *, timeout: float) -> str:
        argv = self.client.argv(args, self.namespace)
        try:
            done = self.client.run(args, namespace=self.namespace, timeout=timeout)
        except KdbgtestError as exc:
            self._note(log, f"$ {shlex.join(argv)}\n{exc}")
            raise
        self._note(log, f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr

    def _status(self, pod: str, container: str) -> k8s.ContainerStatus:
        return _container(k8s.as_pod(self.client.get(f"pod/{pod}", namespace=self.namespace) or {}), container)

    def _log_path(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def _note(self, name: str, text: str) -> None:
        with self._log_path(name).open("a", encoding="utf-8") as log:
            log.write(text.rstrip("\n") + "\n")


def _until_ok(look: Callable[[], tuple[bool, str]]) -> tuple[bool, str, float | None]:
    """`look` now; if it fails, again every RETRY_PAUSE seconds for up to RECOVERY seconds. A look that worked only
    later says after how long and what it saw first (a kubelet that just restarted may not know its pods yet)."""
    began = time.monotonic()
    ok, first = look()
    if ok:
        return True, first, None
    while time.monotonic() - began < RECOVERY:
        waiting.pause(RETRY_PAUSE)
        ok, _ = look()
        if ok:
            took = time.monotonic() - began
            return True, f"worked after {took:.1f}s; at first: {first}", took
    return False, f"{first} (still failing after {RECOVERY:g}s)", None


def _container(pod: k8s.Pod, name: str) -> k8s.ContainerStatus:
    for entry in k8s.container_statuses(pod, ["regular", "ephemeral"]):
        if entry.get("name") == name:
            return entry.copy()
    return {}


def _states(statuses: list[k8s.ContainerStatus]) -> str:
    parts = []
    for s in statuses:
        state = s.get("state", {})
        kind = next(iter(state), "unknown")
        detail = state.get(kind)
        reason = detail.get("reason", "") if isinstance(detail, dict) else ""
        parts.append(f"{s.get('name', '?')}={kind}{'/' + reason if reason else ''} restarts={s.get('restartCount', 0)}")
    return ", ".join(parts) or "(no status yet)"
