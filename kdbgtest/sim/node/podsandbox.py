"""A pod's volumes and sandbox (its network/IPC/UTS and shared PID namespaces), as the kubelet sets them up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kdbgtest.sim.node import containers, volumes
from kdbgtest.sim.node.podcontext import RETRY, EventFn, NodeContext, Obj, PodSandbox, PodTasks, SandboxFailed

log = logging.getLogger(__name__)


class Sandbox:
    """Prepares the volumes, creates the sandbox (both retried, with the kubelet's events) and stops it."""

    def __init__(self, ctx: NodeContext, pod_dir: Path, label: str) -> None:
        self._ctx = ctx
        self._dir = pod_dir
        self._label = label  # namespace/name, for the log
        self._box: PodSandbox | None = None
        self.ip = ""  # the pod IP, kept once the sandbox has gone (the last status shows it)
        self.volumes: dict[str, Path] = {}

    @property
    def up(self) -> bool:
        return self._box is not None

    async def set_up(self, pod: Obj, tasks: PodTasks, event: EventFn) -> None:
        """Volumes, then the sandbox, each retried until it can be made (FailedMount, FailedCreatePodSandBox
        events); the sandbox's creation is finished even if this is cancelled (`tasks.guarded`). What they
        read of `pod` (volumes, host namespaces, name) cannot change in a pod's life: every retry uses it."""
        while True:
            try:
                self.volumes = await asyncio.to_thread(
                    volumes.prepare, pod, self._dir, self._ctx.node_root, self._ctx.lookup
                )
                break
            except volumes.VolumeError as exc:
                event("Warning", "FailedMount", str(exc))
                await asyncio.sleep(self._ctx.seconds(RETRY))
        while not await tasks.guarded(self._create(pod, event)):
            await asyncio.sleep(self._ctx.seconds(RETRY))

    async def _create(self, pod: Obj, event: EventFn) -> bool:
        try:
            self._box = await self._ctx.new_sandbox(pod, self._dir)
        except SandboxFailed as exc:
            log.warning("pod %s: sandbox failed: %s", self._label, exc)
            event("Warning", "FailedCreatePodSandBox",
                  f"Failed to create pod sandbox: rpc error: code = Unknown desc = {exc}")  # fmt: skip
            return False
        self.ip = self._box.ip
        return True

    def netns(self) -> str | None:
        return self._box.ns_path("network") if self._box is not None else None

    def namespaces(self, pod: Obj) -> containers.Namespaces:
        """The sandbox's namespaces for a container (it knows which are the node's); PID only when shared."""
        box = self._box
        assert box is not None
        shared_pid = pod["spec"].get("hostPID") or pod["spec"].get("shareProcessNamespace")
        return containers.Namespaces(
            network=box.ns_path("network"),
            ipc=box.ns_path("ipc"),
            uts=box.ns_path("uts"),
            pid=box.ns_path("pid") if shared_pid else None,
        )

    async def stop(self) -> None:
        if self._box is not None:
            box, self._box = self._box, None
            await self._ctx.stop_sandbox(box)
