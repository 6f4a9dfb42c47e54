"""Which containers of a pod run when, and their restarts (the kubelet's SyncPod and `doBackOff`).

Init containers run in order, then the regular containers, started in order (each once the previous one's
start has been tried), each restarted by `restartPolicy` with CrashLoopBackOff; ephemeral containers start as
soon as they appear in the spec and are never restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from kdbgtest.sim.node import backoff, security
from kdbgtest.sim.node.launch import Launcher
from kdbgtest.sim.node.podcontext import NodeContext, Obj, PodTasks
from kdbgtest.sim.node.podreport import PodReport
from kdbgtest.sim.node.termination import Stopper


def _nothing() -> None:
    pass


@dataclass(eq=False)
class Supervisor:
    """Runs a pod's containers through the launcher and restarts them as its restart policy says."""

    _ctx: NodeContext
    _report: PodReport
    _launcher: Launcher
    _stopper: Stopper
    _tasks: PodTasks

    async def run_inits(self) -> bool:
        """Each init container to success, in order; False if one failed for good (or the pod is deleted)."""
        policy = self._report.pod["spec"].get("restartPolicy", "Always")
        for container in self._report.spec_containers("init"):
            while True:
                code, finish = await self._run_once(container, "init")
                if code == 0:
                    break
                if policy == "Never" or self._report.deleting():
                    return False
                await self._back_off(container, finish)
        return True

    async def run_regular(self, regular: list[Obj]) -> None:
        """Supervise the regular containers, starting them in spec order as the kubelet's SyncPod does: each
        after the previous one's first start attempt has ended (started, or failed to start)."""
        supervisors: list[asyncio.Task[None]] = []
        try:
            for container in regular:
                attempted = asyncio.Event()
                supervisor = asyncio.create_task(self._supervise(container, attempted.set))
                supervisors.append(supervisor)
                waiter = asyncio.create_task(attempted.wait())
                await asyncio.wait({supervisor, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            await asyncio.gather(*supervisors)
        finally:
            for supervisor in supervisors:
                supervisor.cancel()
            await asyncio.gather(*supervisors, return_exceptions=True)

    def start_new_ephemerals(self) -> None:
        """Start the ephemeral containers not seen before (each once, never restarted)."""
        if not self._ctx.feature("EphemeralContainers"):
            return  # a kubelet with the gate off ignores them
        started = False
        for ec in self._report.spec_containers("ephemeral"):
            if self._report.add_ephemeral_record(ec):
                self._tasks.spawn(self._run_once(ec, "ephemeral"))
                started = True
        if started:
            self._report.publish()

    async def _supervise(self, container: Obj, attempted: Callable[[], None]) -> None:
        policy = self._report.pod["spec"].get("restartPolicy", "Always")
        while True:
            code, finish = await self._run_once(container, "regular", attempted)
            if self._report.deleting() or policy == "Never" or (policy == "OnFailure" and code == 0):
                return
            await self._back_off(container, finish)

    async def _run_once(self, container: Obj, kind: str, attempted: Callable[[], None] = _nothing) -> tuple[int, float]:
        """Start one instance and wait for it; (exit code, nominal finish time)."""
        rec = self._report.records[container["name"]]
        if "terminated" in rec.state:  # a restart
            rec.last_state = {"terminated": rec.state["terminated"]}
            rec.restart_count += 1
        inst = await self._launcher.start(container, kind, attempted)
        if inst is None:
            return 128, self._ctx.backoff.now()
        code = await inst.wait()
        finish = self._ctx.backoff.now()
        terminated = inst.terminated(rec.container_id)
        if message := self._launcher.termination_message(container, inst):
            terminated["message"] = message
        rec.state = {"terminated": terminated}
        rec.ready = rec.started = False
        await self._stopper.reap(inst)
        self._report.publish()
        return code, finish

    async def _back_off(self, container: Obj, finish: float) -> None:
        """CrashLoopBackOff: wait out the back-off since `finish`, then count the restart (`doBackOff`)."""
        name = container["name"]
        key = f"{self._report.uid}_{name}"
        bo = self._ctx.backoff
        if bo.in_backoff_since(key, finish):
            ref = security.pod_ref(self._report.pod)
            delay = backoff.go_duration(bo.get(key))
            rec = self._report.records[name]
            rec.last_state = {"terminated": rec.state.get("terminated", {})}
            message = f"back-off {delay} restarting failed container={name} pod={ref}"
            rec.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
            self._report.event("Warning", "BackOff", f"Back-off restarting failed container {name} in pod {ref}", name)
            self._report.publish()
            await asyncio.sleep(bo.remaining(key, finish))
            rec.state = {"terminated": rec.last_state["terminated"]}
        bo.next(key, finish)
