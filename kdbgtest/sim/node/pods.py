"""The pod worker: one pod on one node, from sandbox to deletion, as the kubelet's pod worker + containerd.

It wires together parts with one job each, handing each what it needs when it is built:
`podreport.PodReport` (the pod, its container records, events and status), `podsandbox.Sandbox` (volumes and
namespaces), `launch.Launcher` (starting one container), `probewatch.ProbeWatch` (probes of running ones),
`supervise.Supervisor` (which container runs when, restarts and back-off) and `termination.Stopper` (SIGTERM,
SIGKILL after the grace period). On deletion every container gets SIGTERM, SIGKILL after the grace period (at
once if the node stops meanwhile), then the sandbox goes and the pod is removed from the store.
"""

from __future__ import annotations

import asyncio
import logging

from kdbgtest.sim.node import spec, status
from kdbgtest.sim.node.instance import Instance, Instances
from kdbgtest.sim.node.launch import Launcher
from kdbgtest.sim.node.podcontext import MIN_GRACE, NodeContext, Obj, PodPaths, PodTasks
from kdbgtest.sim.node.podreport import PodReport
from kdbgtest.sim.node.podsandbox import Sandbox
from kdbgtest.sim.node.probewatch import ProbeWatch
from kdbgtest.sim.node.supervise import Supervisor
from kdbgtest.sim.node.termination import Stopper, deletion_grace

log = logging.getLogger(__name__)


class PodWorker:
    """Runs one pod; `update` feeds it new versions of the pod, `removed` tells it the pod is gone."""

    def __init__(self, ctx: NodeContext, pod: Obj) -> None:
        self.ctx = ctx
        self._paths = PodPaths.of(ctx, pod)
        label = f"{self._paths.namespace}/{self._paths.name}"
        self._tasks = PodTasks(label)
        self.instances = Instances()
        self._sandbox = Sandbox(ctx, self._paths.dir, label)
        self.report = PodReport(ctx, pod, self._sandbox)
        self._stopper = Stopper(ctx.runtime, self.report)
        probes = ProbeWatch(ctx, self.report, self._sandbox, self.instances, self._stopper)
        launcher = Launcher(ctx, self.report, self._paths, self._sandbox, self.instances, self._tasks, probes)
        self._supervisor = Supervisor(ctx, self.report, launcher, self._stopper, self._tasks)
        self.done = asyncio.Event()
        self._changed = asyncio.Event()
        self._forced_grace: int | None = None
        self._main: asyncio.Task[None] | None = None

    # -- what the node agent and the streams read -----------------------------------------------------
    @property
    def uid(self) -> str:
        return self.report.uid

    @property
    def namespace(self) -> str:
        return self.report.namespace

    @property
    def name(self) -> str:
        return self.report.name

    @property
    def pod(self) -> Obj:
        return self.report.pod

    @property
    def records(self) -> dict[str, status.ContainerRecord]:
        return self.report.records

    @property
    def current(self) -> dict[str, Instance]:
        return self.instances.current

    @property
    def by_id(self) -> dict[str, Instance]:
        return self.instances.by_id

    @property
    def configs(self) -> dict[str, spec.ContainerConfig]:
        return self.instances.configs

    def deleting(self) -> bool:
        return self.report.deleting()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    def update(self, pod: Obj) -> None:
        if self.report.update(pod):
            self._changed.set()

    def removed(self, grace: int | None = None) -> None:
        """The pod left the store (force delete) or the node stops (grace 0, which also cuts short a
        termination already waiting out its grace period, as a kubelet shutting down does)."""
        self.report.leave()
        self._forced_grace = grace
        if grace == 0:
            self._stopper.node_stops()
        self._changed.set()

    async def _run(self) -> None:
        try:
            self.report.add_records()
            self.report.publish()
            self._tasks.spawn(self._lifecycle())
            while not self.deleting():
                await self._changed.wait()
                self._changed.clear()
                if self._sandbox.up:
                    self._supervisor.start_new_ephemerals()
            await self._terminate()
        except Exception:
            log.exception("pod worker %s/%s failed", self.namespace, self.name)
            raise
        finally:
            self.done.set()

    async def _lifecycle(self) -> None:
        await self._sandbox.set_up(self.report.pod, self._tasks, self.report.event)
        self.report.publish()
        self._supervisor.start_new_ephemerals()
        if await self._supervisor.run_inits():
            await self._supervisor.run_regular(self.report.spec_containers("regular"))
        if not self.deleting():
            await self._finish_terminal()

    async def _finish_terminal(self) -> None:
        """Every regular container is done for good: stop the ephemeral ones and the sandbox (kubelet)."""
        await self._stopper.stop_all(self.instances.running(), MIN_GRACE)
        await self._sandbox.stop()
        self.report.publish()

    async def _terminate(self) -> None:
        await self._tasks.end()
        await self._stopper.stop_all(self.instances.running(), deletion_grace(self.report.pod, self._forced_grace))
        await self._sandbox.stop()
        self.report.terminated()
        self.report.publish()  # the terminal status, as the kubelet writes it before the pod is removed
        await asyncio.to_thread(self._paths.remove)
        if not self.report.gone and self.report.still_stored():
            self.ctx.state.finish_pod_deletion(self.namespace, self.name)
