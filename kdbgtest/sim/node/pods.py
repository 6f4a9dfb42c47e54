"""The pod worker: one pod on one node, from sandbox to deletion, as the kubelet's pod worker + containerd.

Init containers run in order, then the regular containers each under a supervisor that restarts them by
`restartPolicy` with CrashLoopBackOff; ephemeral containers start as soon as they appear in the spec and are
never restarted. On deletion every container gets SIGTERM, SIGKILL after the grace period, then the sandbox
goes and the pod is removed from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import ClusterState
from kdbgtest.sim.node import backoff, command, containers, pulling, security, spec, status, volumes
from kdbgtest.sim.node.instance import Instance

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RETRY = 10.0  # nominal seconds between retries of a container that cannot be created yet
MIN_GRACE = 2  # the kubelet's minimumGracePeriodInSeconds


class PodSandbox(Protocol):
    """The pod's network/IPC/UTS (and shared PID) namespaces."""

    ip: str

    def ns_path(self, kind: str) -> str | None: ...


@dataclass
class NodeContext:
    """What every pod worker of a node shares."""

    name: str
    state: ClusterState
    config: SimConfig
    runtime: Runtime
    puller: pulling.Puller
    backoff: backoff.Backoff
    pods_dir: Path
    node_root: Path
    host_ip: str
    new_sandbox: Callable[[Obj, Path], Awaitable[PodSandbox]]
    stop_sandbox: Callable[[PodSandbox], Awaitable[None]]
    lookup: command.Lookup | None = None

    def seconds(self, nominal: float) -> float:
        return nominal * self.config.time_scale


class Runtime(Protocol):
    """The container runtime calls a pod worker makes (implemented over runc in agent.py)."""

    async def start(self, cfg: spec.ContainerConfig, bundle: Path) -> Any: ...

    async def remove(self, container_id: str) -> None: ...


class SandboxFailed(Exception):
    """The pod sandbox could not be created (event FailedCreatePodSandBox, retried)."""


class StartFailed(Exception):
    """The runtime could not start the container process (containerd's StartError)."""


class PodWorker:
    """Runs one pod; `update` feeds it new versions of the pod, `removed` tells it the pod is gone."""

    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        self.dir = ctx.pods_dir / self.uid
        self.records: dict[str, status.ContainerRecord] = {}
        self.current: dict[str, Instance] = {}  # container name -> latest instance
        self.by_id: dict[str, Instance] = {}  # "containerd://ID" -> instance
        self.configs: dict[str, spec.ContainerConfig] = {}  # runtime id -> config
        self.sandbox: PodSandbox | None = None
        self.pod_ip = ""
        self.done = asyncio.Event()
        self._volumes: dict[str, Path] = {}
        self._start_time = status.now()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._creating: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self._gone = False
        self._force_grace: int | None = None
        self._counts: dict[str, int] = {}
        self._main: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    def update(self, pod: Obj) -> None:
        if not self._gone and pod["metadata"].get("uid") == self.uid:
            self.pod = pod
            self._changed.set()

    def removed(self, grace: int | None = None) -> None:
        """The pod left the store (force delete) or the node stops (grace 0)."""
        self._gone = True
        self._force_grace = grace
        self._changed.set()

    def deleting(self) -> bool:
        return self._gone or bool(self.pod["metadata"].get("deletionTimestamp"))

    async def _run(self) -> None:
        try:
            self._init_records()
            self.publish()
            self._spawn(self._lifecycle())
            while not self.deleting():
                await self._changed.wait()
                self._changed.clear()
                if self.sandbox is not None:
                    self._start_new_ephemerals()
            await self._terminate()
        except Exception:
            log.exception("pod worker %s/%s failed", self.namespace, self.name)
            raise
        finally:
            self.done.set()

    def _init_records(self) -> None:
        pod_spec = self.pod["spec"]
        waiting = status.INITIALIZING if pod_spec.get("initContainers") else status.CREATING
        for c in pod_spec.get("initContainers") or []:
            self.records[c["name"]] = status.ContainerRecord(c["name"], "init", c["image"])
        for c in pod_spec.get("containers") or []:
            self.records[c["name"]] = status.ContainerRecord(c["name"], "regular", c["image"], dict(waiting))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pod %s/%s task failed", self.namespace, self.name, exc_info=task.exception())

    async def _lifecycle(self) -> None:
        await self._setup()
        self._start_new_ephemerals()
        if await self._run_inits():
            regular = self.pod["spec"].get("containers") or []
            await asyncio.gather(*(self._supervise(c, "regular") for c in regular))
        if not self.deleting():
            await self._finish_terminal()

    async def _setup(self) -> None:
        """Volumes, then the pod sandbox (retried, with FailedMount / FailedCreatePodSandBox events)."""
        while True:
            try:
                self._volumes = await asyncio.to_thread(
                    volumes.prepare, self.pod, self.dir, self.ctx.node_root, self.ctx.lookup
                )
                break
            except volumes.VolumeError as exc:
                self.event("Warning", "FailedMount", str(exc))
                await asyncio.sleep(self.ctx.seconds(RETRY))
        while not await self._guarded(self._create_sandbox()):
            await asyncio.sleep(self.ctx.seconds(RETRY))
        self.publish()

    async def _create_sandbox(self) -> bool:
        try:
            self.sandbox = await self.ctx.new_sandbox(self.pod, self.dir)
        except SandboxFailed as exc:
            log.warning("pod %s/%s: sandbox failed: %s", self.namespace, self.name, exc)
            self.event("Warning", "FailedCreatePodSandBox",
                       f"Failed to create pod sandbox: rpc error: code = Unknown desc = {exc}")  # fmt: skip
            return False
        self.pod_ip = self.sandbox.ip
        return True

    async def _guarded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a creation to its end even if the worker is cancelled meanwhile (termination waits for it)."""
        task = asyncio.create_task(coro)
        self._creating.add(task)
        task.add_done_callback(self._creating.discard)
        return await asyncio.shield(task)

    # -- containers ---------------------------------------------------------------------------------
    async def _run_inits(self) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        for container in self.pod["spec"].get("initContainers") or []:
            while True:
                code, finish = await self._run_once(container, "init")
                if code == 0:
                    break
                if policy == "Never" or self.deleting():
                    return False
                await self._back_off(container, finish)
        return True

    async def _supervise(self, container: Obj, kind: str) -> None:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        while True:
            code, finish = await self._run_once(container, kind)
            if self.deleting() or policy == "Never" or (policy == "OnFailure" and code == 0):
                return
            await self._back_off(container, finish)

    async def _run_once(self, container: Obj, kind: str) -> tuple[int, float]:
        """Start one instance and wait for it; (exit code, nominal finish time)."""
        rec = self.records[container["name"]]
        if "terminated" in rec.state:  # a restart
            rec.last_state = {"terminated": rec.state["terminated"]}
            rec.restart_count += 1
        inst = await self._start(container, kind)
        if inst is None:
            return 128, self.ctx.backoff.now()
        code = await inst.wait()
        finish = self.ctx.backoff.now()
        rec.state = {"terminated": inst.terminated(rec.container_id)}
        rec.ready = rec.started = False
        await self._reap(inst)
        self.publish()
        return code, finish

    async def _back_off(self, container: Obj, finish: float) -> None:
        """CrashLoopBackOff: wait out the back-off since `finish`, then count the restart (`doBackOff`)."""
        name = container["name"]
        key = f"{self.uid}_{name}"
        bo = self.ctx.backoff
        if bo.in_backoff_since(key, finish):
            ref = security.pod_ref(self.pod)
            delay = backoff.go_duration(bo.get(key))
            rec = self.records[name]
            rec.last_state = {"terminated": rec.state.get("terminated", {})}
            message = f"back-off {delay} restarting failed container={name} pod={ref}"
            rec.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
            self.event("Warning", "BackOff", f"Back-off restarting failed container {name} in pod {ref}")
            self.publish()
            await asyncio.sleep(bo.remaining(key, finish))
            rec.state = {"terminated": rec.last_state["terminated"]}
        bo.next(key, finish)

    async def _start(self, container: Obj, kind: str) -> Instance | None:
        """Image, config, create and start; None if the runtime failed to start it (StartError)."""
        rec = self.records[container["name"]]
        image = await self._ensure_image(container, rec)
        rec.image = image.ref
        rec.image_id = f"{image.ref.rsplit(':', 1)[0]}@{image.image_id}"
        cid = containers.new_id()
        while (cfg := self._config(container, kind, image, cid, rec)) is None:
            await asyncio.sleep(self.ctx.seconds(RETRY))
        self.event("Normal", "Created", self._created_message(container["name"]))
        inst: Instance | None = await self._guarded(self._launch(cfg, container, rec, kind))
        return inst

    def _created_message(self, name: str) -> str:
        return f"Created container: {name}" if self.ctx.config.minor >= 32 else f"Created container {name}"

    async def _ensure_image(self, container: Obj, rec: status.ContainerRecord) -> Any:
        policy = container.get("imagePullPolicy") or pulling.default_policy(container["image"])
        while True:
            try:
                return await self.ctx.puller.ensure(container["image"], policy, self.uid, self.event)
            except pulling.PullFailed as exc:
                rec.state = {"waiting": {"reason": exc.reason, "message": exc.message}}
                self.publish()
                await asyncio.sleep(max(exc.wait, 0.01))

    def _config(
        self, container: Obj, kind: str, image: Any, cid: str, rec: status.ContainerRecord
    ) -> spec.ContainerConfig | None:
        """The runtime config, or None after reporting CreateContainerConfigError / CreateContainerError."""
        reason = "CreateContainerConfigError"
        try:
            return containers.build(
                self.pod, container, image, cid=cid, namespaces=self._namespaces(),
                pod_volumes=self._volumes, target_pid=self._target_pid(container, kind),
                lookup=self.ctx.lookup, hostname=self._hostname(),
                etc_hosts=containers.hosts_file(self.pod, self.pod_ip, self._host_network()),
            )  # fmt: skip
        except (security.ContainerConfigError, command.ConfigError, volumes.VolumeError) as exc:
            message = str(exc)
        except containers.TargetNotFound as exc:
            message = str(exc)
        except command.NoCommand as exc:
            reason = "CreateContainerError"
            message = f'failed to generate container "{cid}" spec: failed to generate spec: {exc}'
        rec.state = {"waiting": {"reason": reason, "message": message}}
        self.event("Warning", "Failed", f"Error: {message}")
        self.publish()
        return None

    def _namespaces(self) -> containers.Namespaces:
        """The sandbox's namespaces (it knows which are the node's); PID only when shared pod-wide."""
        pod_spec, sandbox = self.pod["spec"], self.sandbox
        assert sandbox is not None
        shared_pid = pod_spec.get("hostPID") or pod_spec.get("shareProcessNamespace")
        return containers.Namespaces(
            network=sandbox.ns_path("network"),
            ipc=sandbox.ns_path("ipc"),
            uts=sandbox.ns_path("uts"),
            pid=sandbox.ns_path("pid") if shared_pid else None,
        )

    def _host_network(self) -> bool:
        return bool(self.pod["spec"].get("hostNetwork"))

    def _hostname(self) -> str:
        return self.ctx.name if self._host_network() else self.name

    def _target_pid(self, container: Obj, kind: str) -> int | None:
        target = container.get("targetContainerName") if kind == "ephemeral" else None
        if not target or not containers.pid_mode_is_container(self.pod):
            return None
        inst = self.current.get(target)
        if inst is None or not inst.running:
            raise containers.TargetNotFound(f"unable to find target container {target}")
        return inst.pid

    async def _launch(
        self, cfg: spec.ContainerConfig, container: Obj, rec: status.ContainerRecord, kind: str
    ) -> Instance | None:
        name = container["name"]
        rec.container_id = f"containerd://{cfg.id}"
        try:
            process = await self.ctx.runtime.start(cfg, self.dir / "containers" / cfg.id)
        except StartFailed as exc:
            message = str(exc)
            rec.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                        "startedAt": "1970-01-01T00:00:00Z", "finishedAt": status.now(),
                                        "containerID": rec.container_id}}  # fmt: skip
            self.event("Warning", "Failed", f"Error: {message}")
            self.publish()
            return None
        count = self._counts[name] = self._counts.get(name, -1) + 1
        inst = Instance(
            rec.container_id, process, self.dir / "logs" / name / f"{count}.log", pid=process.pid,
            has_stdin=cfg.stdin, stdin_once=bool(container.get("stdinOnce")),
        )  # fmt: skip
        self.current[name] = self.by_id[rec.container_id] = inst
        self.configs[cfg.id] = cfg
        rec.state = {"running": {"startedAt": inst.started_at}}
        rec.started = kind != "ephemeral"
        rec.ready = kind == "regular"
        self.event("Normal", "Started", f"Started container {name}")
        self.publish()
        return inst

    async def _reap(self, inst: Instance) -> None:
        with contextlib.suppress(Exception):
            await self.ctx.runtime.remove(inst.container_id.removeprefix("containerd://"))

    def _start_new_ephemerals(self) -> None:
        started = False
        for ec in self.pod["spec"].get("ephemeralContainers") or []:
            if ec["name"] not in self.records:
                self.records[ec["name"]] = status.ContainerRecord(ec["name"], "ephemeral", ec["image"])
                self._spawn(self._run_once(ec, "ephemeral"))
                started = True
        if started:
            self.publish()

    # -- the end ------------------------------------------------------------------------------------
    async def _finish_terminal(self) -> None:
        """Every regular container is done for good: stop the ephemeral ones and the sandbox (kubelet)."""
        await self._kill_all(MIN_GRACE)
        await self._stop_sandbox()
        self.publish()

    async def _terminate(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._creating, return_exceptions=True)
        await self._kill_all(self._grace())
        await self._stop_sandbox()
        await asyncio.to_thread(shutil.rmtree, self.dir, True)
        if not self._gone and self._still_stored():
            self.ctx.state.finish_pod_deletion(self.namespace, self.name)

    def _grace(self) -> int:
        if self._force_grace is not None:
            return self._force_grace
        meta, pod_spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = pod_spec.get("terminationGracePeriodSeconds", 30)
        return max(int(grace), MIN_GRACE)

    async def _kill_all(self, grace: int) -> None:
        """SIGTERM every running container, SIGKILL those still running after `grace` seconds."""
        running = [(name, inst) for name, inst in self.current.items() if inst.running]
        for name, inst in running:
            if grace > 0:
                self.event("Normal", "Killing", f"Stopping container {name}")
            inst.kill(signal.SIGTERM if grace > 0 else signal.SIGKILL)
        waits = [inst.wait() for _, inst in running]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout=max(grace, 0.1))
        except TimeoutError:
            for _, inst in running:
                inst.kill(signal.SIGKILL)
            await asyncio.gather(*(inst.wait() for _, inst in running))
        for name, inst in running:
            rec = self.records[name]
            rec.state = {"terminated": inst.terminated(inst.container_id)}
            rec.ready = rec.started = False
            await self._reap(inst)

    async def _stop_sandbox(self) -> None:
        if self.sandbox is not None:
            sandbox, self.sandbox = self.sandbox, None
            await self.ctx.stop_sandbox(sandbox)

    def _still_stored(self) -> bool:
        pods = self.ctx.state.pods_on_node(self.ctx.name)
        return any(p["metadata"].get("uid") == self.uid for p in pods)

    # -- status and events --------------------------------------------------------------------------
    def event(self, type_: str, reason: str, message: str) -> None:
        if not self._gone:
            self.ctx.state.record_event(self.pod, reason, message, type_)

    def publish(self) -> None:
        """Write the pod status to the store (skipped once the pod has left it)."""
        if self._gone:
            return
        updated = self.ctx.state.update_pod_status(self.namespace, self.name, self.build_status())
        if updated is not None and updated["metadata"].get("uid") == self.uid:
            self.pod = updated

    def build_status(self) -> Obj:
        pod_spec, recs = self.pod["spec"], self.records
        phase = status.phase(self.pod, recs)
        result: Obj = {
            "phase": phase,
            "conditions": status.conditions(self.pod, recs, phase, self.sandbox is not None),
            "hostIP": self.ctx.host_ip,
            "hostIPs": [{"ip": self.ctx.host_ip}],
            "startTime": self._start_time,
            "qosClass": status.qos_class(self.pod),
        }
        if self.pod_ip:
            result["podIP"] = self.pod_ip
            result["podIPs"] = [{"ip": self.pod_ip}]
        names = [c["name"] for c in pod_spec.get("initContainers") or []]
        if names:
            result["initContainerStatuses"] = status.container_statuses(recs, "init", names)
        regular = [c["name"] for c in pod_spec.get("containers") or []]
        result["containerStatuses"] = status.container_statuses(recs, "regular", regular)
        ephemeral = [c["name"] for c in pod_spec.get("ephemeralContainers") or []]
        if any(n in recs for n in ephemeral):
            result["ephemeralContainerStatuses"] = status.container_statuses(recs, "ephemeral", ephemeral)
        return result
