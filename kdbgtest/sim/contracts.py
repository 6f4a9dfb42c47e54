"""The seam inside the offline cluster between the API server (sim/apiserver) and the node agent (sim/node).

The API server owns the object store and HTTP; the node agent (one per sim node, in the same process and event
loop) runs pods with runc, writes their statuses and events back through `ClusterState`, and serves
attach/exec/logs through `NodeRuntime`. Neither side imports the other's modules: only this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from kdbgtest.base.k8s import Obj


@dataclass(frozen=True)
class PodChange:
    """A pod was added, modified or deleted (deleted: `pod` is its last state)."""

    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    pod: Obj


class ClusterState(Protocol):
    """What the node agent may read and write in the API server's store."""

    def pods_on_node(self, node: str) -> list[Obj]:
        """Every pod bound to `node` (spec.nodeName), as stored."""
        ...

    def subscribe_pods(self, node: str, callback: Callable[[PodChange], None]) -> None:
        """Call `callback` (from the event loop) on every change of a pod bound to `node`."""
        ...

    def update_pod_status(self, namespace: str, name: str, status: Obj) -> Obj | None:
        """Replace the pod's `status`, bumping resourceVersion and notifying watchers; None if the pod is gone."""
        ...

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        """The node has stopped every container of a pod marked for deletion: remove it from the store."""
        ...

    def record_event(self, involved: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        """Create (or bump the count of) an Event about `involved` (a pod), as the kubelet does."""
        ...

    def set_node_status(self, name: str, status: Obj) -> None:
        """Replace a node's status (conditions, nodeInfo, addresses)."""
        ...


class StreamError(Exception):
    """Attach/exec cannot start. `status` is the metav1.Status sent on the error channel (or as HTTP body)."""

    def __init__(self, status: Obj) -> None:
        self.status = status
        super().__init__(status.get("message", "stream error"))


class ContainerStream(Protocol):
    """One attach or exec connection to a container's stdio."""

    tty: bool

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(1 for stdout | 2 for stderr, data) chunks until the process ends or the stream is detached."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def result(self) -> Obj:
        """Final metav1.Status for the error channel: {"status":"Success"} or a NonZeroExitCode Failure."""
        ...

    async def detach(self) -> None:
        """The client went away: stop relaying (an attached container keeps running)."""
        ...


class NodeRuntime(Protocol):
    """What the API server asks of the node a pod runs on."""

    name: str

    async def attach(self, namespace: str, pod: str, container: str, *, stdin: bool, tty: bool) -> ContainerStream:
        """Attach to a running container (regular or ephemeral); StreamError if it cannot be attached."""
        ...

    async def exec(
        self, namespace: str, pod: str, container: str, command: list[str], *, stdin: bool, tty: bool
    ) -> ContainerStream:
        """Start `command` in a running container; StreamError with the runtime's message if it cannot start."""
        ...

    def logs(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        previous: bool = False,
        follow: bool = False,
        tail_lines: int | None = None,
        timestamps: bool = False,
    ) -> AsyncIterator[bytes]:
        """The container's log, as the kubelet serves it. Raises LogsUnavailable with the kubelet's message."""
        ...

    async def start(self) -> None:
        """Create the node sandbox and begin syncing pods."""
        ...

    async def stop(self) -> None:
        """Stop every container and the sandbox, and remove everything the node made."""
        ...


class LogsUnavailable(Exception):
    """Logs cannot be served; the message is the kubelet's (e.g. previous terminated container ... not found)."""


NodeFactory = Callable[[str, ClusterState], Awaitable[NodeRuntime]]
