"""What the parts of a pod worker share: the node's context, the runtime and sandbox contracts, the pod's paths
and its background tasks.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import ClusterState
from kdbgtest.sim.node import backoff, command, pulling, spec
from kdbgtest.sim.versions import KUBELET, ComponentVersions

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RETRY = 10.0  # nominal seconds between retries of a container that cannot be created yet
MIN_GRACE = 2  # the kubelet's minimumGracePeriodInSeconds
EventFn = Callable[[str, str, str], None]  # (type, reason, message) of an Event about the pod


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


@dataclass(frozen=True)
class PodPaths:
    """Where a pod lives on the node: its directory (volumes, sandbox, bundles) and its log directory."""

    dir: Path
    log_dir: Path
    node_root: Path
    name: str
    namespace: str

    @classmethod
    def of(cls, ctx: NodeContext, pod: Obj) -> PodPaths:
        meta = pod["metadata"]
        namespace, name, uid = meta.get("namespace", "default"), meta["name"], meta["uid"]
        log_dir = ctx.node_root / "var/log/pods" / f"{namespace}_{name}_{uid}"
        return cls(ctx.pods_dir / uid, log_dir, ctx.node_root, name, namespace)

    def remove(self) -> None:
        """The pod's directory, its log directory and the /var/log/containers links to it."""
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        links = self.node_root / "var/log/containers"
        for link in links.glob(f"{self.name}_{self.namespace}_*.log") if links.is_dir() else []:
            if str(link.readlink()).startswith(f"/{self.log_dir.relative_to(self.node_root)}/"):
                link.unlink(missing_ok=True)


class PodTasks:
    """A pod worker's background tasks, and the creations (sandbox, container) termination must wait for."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._tasks: set[asyncio.Task[Any]] = set()
        self._creating: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pod %s task failed", self.label, exc_info=task.exception())

    async def guarded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a creation to its end even if the caller is cancelled meanwhile (termination waits for it)."""
        task = asyncio.create_task(coro)
        self._creating.add(task)
        task.add_done_callback(self._creating.discard)
        return await asyncio.shield(task)

    async def end(self) -> None:
        """Cancel the background tasks and wait for them, then for the creations under way."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._creating, return_exceptions=True)
