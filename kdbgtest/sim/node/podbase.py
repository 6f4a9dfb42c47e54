"""What a pod worker is made of: the node context it shares, its state, and how it reports status and events.

`launch.Launcher` (starting containers) and `pods.PodWorker` (the pod's lifecycle) build on `PodBase`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import ClusterState
from kdbgtest.sim.node import backoff, command, pulling, spec, status
from kdbgtest.sim.node.instance import Instance
from kdbgtest.sim.versions import KUBELET, ComponentVersions

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RETRY = 10.0  # nominal seconds between retries of a container that cannot be created yet
MIN_GRACE = 2  # the kubelet's minimumGracePeriodInSeconds
_FIELDS = {"init": "initContainers", "regular": "containers", "ephemeral": "ephemeralContainers"}


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
    versions: ComponentVersions
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

    @property
    def minor(self) -> int:
        """The Kubernetes minor version the kubelet runs now (it may change while pods run: an upgrade)."""
        return self.versions.minor(KUBELET)

    def feature(self, gate: str) -> bool:
        """Whether a feature gate is on for the kubelet now."""
        return self.versions.feature(KUBELET, gate)


class Runtime(Protocol):
    """The container runtime calls a pod worker makes (implemented over runc in agent.py)."""

    async def start(self, cfg: spec.ContainerConfig, bundle: Path) -> Any: ...

    async def remove(self, container_id: str) -> None: ...

    async def exec(
        self, cfg: spec.ContainerConfig, argv: list[str], *, tty: bool = False, stdin: bool = False
    ) -> Any: ...


class SandboxFailed(Exception):
    """The pod sandbox could not be created (event FailedCreatePodSandBox, retried)."""


class StartFailed(Exception):
    """The runtime could not start the container process (containerd's StartError)."""


class ExecFailed(Exception):
    """The runtime could not start an exec'd process; the message is containerd's (`failed to exec ...`)."""


class PodBase:
    """A pod worker's state, status reporting and task bookkeeping."""

    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        self.dir = ctx.pods_dir / self.uid
        self.log_dir = ctx.node_root / "var/log/pods" / f"{self.namespace}_{self.name}_{self.uid}"
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
        self._terminated = False  # every container was stopped because the pod is going away
        self._force_grace: int | None = None
        self._no_grace = asyncio.Event()  # the node stops: a termination in progress waits no longer
        self._counts: dict[str, int] = {}
        self.first_attempts: dict[str, asyncio.Event] = {}  # container -> set once its first start was tried
        self._main: asyncio.Task[None] | None = None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pod %s/%s task failed", self.namespace, self.name, exc_info=task.exception())

    async def _guarded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a creation to its end even if the worker is cancelled meanwhile (termination waits for it)."""
        task = asyncio.create_task(coro)
        self._creating.add(task)
        task.add_done_callback(self._creating.discard)
        return await asyncio.shield(task)

    def attempted(self, container: str) -> None:
        """The container's start was tried (it runs, or it could not be started): the next one may start."""
        event = self.first_attempts.get(container)
        if event is not None:
            event.set()

    def deleting(self) -> bool:
        return self._gone or bool(self.pod["metadata"].get("deletionTimestamp"))

    def event(self, type_: str, reason: str, message: str, container: str | None = None) -> None:
        """Record an Event about the pod, or about one of its containers (fieldPath spec.containers{NAME})."""
        if self._gone:
            return
        involved: Obj = self.pod
        rec = self.records.get(container) if container is not None else None
        if rec is not None:
            meta = self.pod["metadata"]
            involved = {
                "apiVersion": "v1", "kind": "Pod", "name": self.name, "namespace": self.namespace,
                "uid": self.uid, "resourceVersion": meta.get("resourceVersion", ""),
                "fieldPath": f"spec.{_FIELDS[rec.kind]}{{{rec.name}}}",
            }  # fmt: skip
        self.ctx.state.record_event(involved, reason, message, type_)

    def container_event(self, container: str) -> Callable[[str, str, str], None]:
        """`event` bound to one container."""
        return lambda type_, reason, message: self.event(type_, reason, message, container)

    def publish(self) -> None:
        """Write the pod status to the store (skipped once the pod has left it)."""
        if self._gone:
            return
        updated = self.ctx.state.update_pod_status(self.namespace, self.name, self.build_status())
        if updated is not None and updated["metadata"].get("uid") == self.uid:
            self.pod = updated

    def build_status(self) -> Obj:
        pod_spec, recs = self.pod["spec"], self.records
        phase = status.phase(self.pod, recs, terminal=self._terminated)
        result: Obj = {
            "phase": phase,
            "conditions": status.conditions(
                self.pod, recs, phase, self.sandbox is not None, self.ctx.minor
            ),
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
        generation = self.pod["metadata"].get("generation")
        if self.ctx.minor >= 34 and generation is not None:  # PodObservedGenerationTracking (beta)
            result["observedGeneration"] = generation
            for cond in result["conditions"]:
                if cond["type"] != "PodScheduled":
                    cond["observedGeneration"] = generation
        return result
