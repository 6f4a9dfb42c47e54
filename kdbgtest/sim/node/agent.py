"""The node agent (the sim's kubelet): one per sim node, implementing `contracts.NodeRuntime`.

`create_node` builds it; `start` creates the node sandbox (root directory + PID/network/IPC/UTS namespaces),
posts the Node status and runs a `PodWorker` for every pod bound to the node; attach/exec/logs are served
from the workers; `stop` stops every container, every sandbox, and removes what the node made. A new kubelet
version (`kdbgtest.sim.versions`) re-posts the Node status, as a restarted kubelet does; pods keep running.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kdbgtest.sim import contracts
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import ClusterState, PodChange
from kdbgtest.sim.node import backoff, images, nodestatus, pulling, runc, sandbox, serve, status, toolbox
from kdbgtest.sim.node.podcontext import (
    MIN_GRACE,
    ExecFailed,
    NodeContext,
    PodSandbox,
    SandboxFailed,
    StartFailed,
)
from kdbgtest.sim.node.pods import PodWorker
from kdbgtest.sim.versions import KUBELET, ComponentVersions

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RUNTIME_VERSION = "containerd://kdbgtest-sim (runc)"


class RuncRuntime:
    """The pod workers' runtime: containers as runc containers in the node's PID namespace."""

    def __init__(self, runtime: runc.Runc, pid_parent: int) -> None:
        self.runc = runtime
        self.pid_parent = pid_parent

    async def start(self, cfg: runc.ContainerConfig, bundle: Path) -> runc.Process:
        try:
            return await self.runc.run(cfg, bundle, pid_parent=self.pid_parent)
        except runc.StartError as exc:
            raise StartFailed(exc.message) from exc
        except (runc.RuntimeFailure, OSError) as exc:  # the runtime itself failed: still a failed start
            log.warning("container %s did not start: %s", cfg.id, exc)
            raise StartFailed(runc.run_message(str(exc))) from exc

    async def remove(self, container_id: str) -> None:
        await self.runc.delete(container_id)

    async def exec(
        self, cfg: runc.ContainerConfig, argv: list[str], *, tty: bool = False, stdin: bool = False
    ) -> runc.Process:
        """`argv` in the container, as its process runs (user, env, cwd, capabilities)."""
        try:
            return await self.runc.exec(
                cfg.id, argv, tty=tty, stdin=stdin, env=cfg.env, cwd=cfg.cwd, uid=cfg.uid, gid=cfg.gid,
                capabilities=cfg.capabilities, additional_gids=cfg.additional_gids,
            )  # fmt: skip
        except (runc.StartError, runc.RuntimeFailure, OSError) as exc:
            message = exc.message if isinstance(exc, runc.StartError) else runc.exec_message(str(exc))
            exec_id = secrets.token_hex(32)
            raise ExecFailed(f'failed to exec in container: failed to start exec "{exec_id}": {message}') from exc


class Node:
    """One sim node (`contracts.NodeRuntime`)."""

    def __init__(
        self,
        name: str,
        state: ClusterState,
        config: SimConfig,
        *,
        images: images.ImageStore,
        runtime: runc.Runc,
        versions: ComponentVersions,
    ) -> None:
        self.name = name
        self.state = state
        self.config = config
        self.versions = versions
        self.images = images
        self.runc = runtime
        self.sandbox: sandbox.NodeSandbox | None = None
        self.workers: dict[str, PodWorker] = {}  # pod uid -> worker
        self._ctx: NodeContext | None = None
        self._stopping = False
        self._ready_since = ""  # when the node became Ready (the conditions' lastTransitionTime)

    # -- NodeRuntime: lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        index = self.config.node_names.index(self.name) if self.name in self.config.node_names else 0
        self.sandbox = sandbox.NodeSandbox(self.name, self.config.state_path, self.runc, self.images, index=index)
        await self.sandbox.start()
        scale = self.config.time_scale
        self._ctx = NodeContext(
            name=self.name, state=self.state, config=self.config, versions=self.versions,
            runtime=RuncRuntime(self.runc, self.sandbox.pid),
            puller=pulling.Puller(self.images, backoff.Backoff(scale=scale), scale, lambda: self._minor,
                                  imported=toolbox.imported),
            backoff=backoff.Backoff(scale=scale), pods_dir=self.sandbox.dir / "pods",
            node_root=self.sandbox.root, host_ip=self.sandbox.ip, new_sandbox=self._new_pod_sandbox,
            stop_sandbox=self._stop_pod_sandbox, lookup=self._lookup,
        )  # fmt: skip
        self._ready_since = status.now()
        self._post_status()
        self.versions.subscribe(self._on_version)
        self.state.subscribe_pods(self.name, self._on_change)
        for pod in self.state.pods_on_node(self.name):
            self._on_change(PodChange("ADDED", pod))

    async def stop(self) -> None:
        self._stopping = True
        for worker in list(self.workers.values()):
            worker.removed(grace=0)
        await asyncio.gather(*(w.done.wait() for w in list(self.workers.values())))
        if self.sandbox is not None:
            await self.sandbox.stop()

    @property
    def _minor(self) -> int:
        return self.versions.minor(KUBELET)

    def _post_status(self) -> None:
        assert self.sandbox is not None
        kubelet = self.versions.version(KUBELET)
        held = toolbox.node_images()
        node_status = nodestatus.build(self.name, self.sandbox.ip, kubelet, RUNTIME_VERSION, self._ready_since, held)
        self.state.set_node_status(self.name, node_status)

    def _on_version(self, component: str, _: str) -> None:
        """A new kubelet version: its first status says so (containers are left alone, as a restart does)."""
        if component == KUBELET and not self._stopping:
            self._post_status()

    # -- pods ---------------------------------------------------------------------------------------
    def _on_change(self, change: PodChange) -> None:
        if self._stopping or self._ctx is None:
            return
        uid = change.pod["metadata"].get("uid", "")
        worker = self.workers.get(uid)
        if change.type == "DELETED":
            if worker is not None:  # removed without waiting for us (force delete): the minimum grace
                worker.removed(grace=MIN_GRACE)
            return
        if worker is None:
            if change.pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                return  # a finished pod from before this node agent started: nothing to run
            worker = self.workers[uid] = PodWorker(self._ctx, change.pod)
            asyncio.get_running_loop().create_task(self._run_worker(worker))
        worker.update(change.pod)

    async def _run_worker(self, worker: PodWorker) -> None:
        worker.start()
        await worker.done.wait()
        self.workers.pop(worker.uid, None)

    async def _new_pod_sandbox(self, pod: Obj, pod_dir: Path) -> PodSandbox:
        assert self.sandbox is not None
        pod_spec = pod["spec"]
        box = sandbox.PodSandbox(
            self.sandbox, pod["metadata"]["name"], bundle=pod_dir / "sandbox",
            host_network=bool(pod_spec.get("hostNetwork")), host_pid=bool(pod_spec.get("hostPID")),
            host_ipc=bool(pod_spec.get("hostIPC")),
        )  # fmt: skip
        try:
            await box.start()
        except (sandbox.SandboxError, runc.StartError, runc.RuntimeFailure, OSError) as exc:
            raise SandboxFailed(str(exc)) from exc
        return box

    async def _stop_pod_sandbox(self, box: PodSandbox) -> None:
        assert isinstance(box, sandbox.PodSandbox)
        await box.stop()

    def _lookup(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        """configMap/secret data from the store, if it offers `find` (secrets decoded)."""
        find = getattr(self.state, "find", None)
        obj = find(kind, namespace, name) if find is not None else None
        if obj is None:
            return None
        data = dict(obj.get("data") or {})
        if kind == "secrets":
            data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
            data.update(obj.get("stringData") or {})
        return data

    def _worker(self, namespace: str, pod: str) -> PodWorker:
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == pod and not worker.deleting():
                return worker
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == pod:
                return worker
        raise contracts.LogsUnavailable(f'pod "{pod}" cannot be found - no logs available')

    # -- NodeRuntime: streams -----------------------------------------------------------------------
    async def attach(
        self, namespace: str, pod: str, container: str, *, stdin: bool, tty: bool
    ) -> contracts.ContainerStream:
        worker = self._stream_worker(namespace, pod)
        return serve.attach_to(worker, container, stdin=stdin, tty=tty, minor=self._minor)

    async def exec(
        self, namespace: str, pod: str, container: str, command: list[str], *, stdin: bool, tty: bool
    ) -> contracts.ContainerStream:
        worker = self._stream_worker(namespace, pod)
        return await serve.exec_in(worker, container, command, stdin=stdin, tty=tty, minor=self._minor)

    async def logs(
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
        """The kubelet's log stream; LogsUnavailable is raised by the first read, before any data."""
        worker = self._worker(namespace, pod)
        async for chunk in serve.logs_of(worker, container, previous=previous, follow=follow,
                                         tail_lines=tail_lines, timestamps=timestamps):  # fmt: skip
            yield chunk

    def _stream_worker(self, namespace: str, pod: str) -> PodWorker:
        try:
            return self._worker(namespace, pod)
        except contracts.LogsUnavailable:
            raise serve.upgrade_error(f"pod {pod}_{namespace} not found", self._minor) from None


async def create_node(
    name: str,
    state: ClusterState,
    config: SimConfig,
    *,
    images: images.ImageStore,
    runc: runc.Runc,
    versions: ComponentVersions | None = None,
) -> Node:
    """A node agent for node `name` (not started: call `start`); `versions` default: all at the config's."""
    return Node(name, state, config, images=images, runtime=runc, versions=versions or ComponentVersions(config))
