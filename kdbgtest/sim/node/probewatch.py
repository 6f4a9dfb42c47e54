"""The probes of a pod's running containers: readiness and started in the status, a restart on a failed
liveness or startup probe (the kubelet's prober manager; one probe's rules are in `probes`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

from kdbgtest.sim.node import probes, status
from kdbgtest.sim.node.instance import Instance, Instances
from kdbgtest.sim.node.podcontext import ExecFailed, NodeContext, Obj
from kdbgtest.sim.node.podreport import PodReport
from kdbgtest.sim.node.podsandbox import Sandbox
from kdbgtest.sim.node.termination import KILL_WAIT, Stopper


@dataclass(eq=False)
class ProbeWatch:
    """Watches the probes of one pod's container instances."""

    _ctx: NodeContext
    _report: PodReport
    _sandbox: Sandbox
    _instances: Instances
    _stopper: Stopper

    async def watch(self, container: Obj, rec: status.ContainerRecord, inst: Instance) -> None:
        """Run the container's probes while it runs; a failed liveness/startup probe restarts it."""
        report = self._report

        def changed() -> None:
            if inst.running and self._instances.current.get(rec.name) is inst:
                rec.ready, rec.started = prober.ready, prober.started
                report.publish()

        prober = probes.Prober(container, self._ctx.config.time_scale, lambda p, t: self._probe(p, t, inst),
                               report.container_event(rec.name), changed)  # fmt: skip
        rec.ready, rec.started = prober.ready, prober.started
        body = asyncio.create_task(self._body(prober))
        try:
            await asyncio.wait({body, asyncio.ensure_future(inst.wait())}, return_when=asyncio.FIRST_COMPLETED)
            if body.done() and inst.running:
                name = container["name"]
                message = f"Container {name} failed {body.result()} probe, will be restarted"
                report.event("Normal", "Killing", message, name)
                await self._stopper.stop(inst, int(report.pod["spec"].get("terminationGracePeriodSeconds", 30)))
        finally:
            body.cancel()

    async def _body(self, prober: probes.Prober) -> str:
        """Startup first, then readiness and liveness together; the kind of probe that failed for good."""
        if not await prober.startup():
            return "startup"
        readiness = asyncio.create_task(prober.readiness())
        try:
            return await prober.liveness()
        finally:
            readiness.cancel()

    async def _probe(self, probe: Obj, timeout: float, inst: Instance) -> tuple[bool, str]:
        return await probes.check(probe, self._sandbox.ip, self._sandbox.netns(),
                                  lambda argv, t: self._exec_output(inst, argv, t), timeout)  # fmt: skip

    async def _exec_output(self, inst: Instance, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run `argv` in the instance's container; (exit code, combined output); a timeout fails."""
        try:
            process = await self._ctx.runtime.exec(self._instances.config_of(inst), argv)
        except ExecFailed as exc:
            return 126, str(exc)

        async def run() -> tuple[int, str]:
            out = b"".join([data async for _, data in process.output()])
            return int(await process.wait()), out.decode(errors="replace")

        try:
            return await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            process.kill(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=KILL_WAIT)
            return 1, f"command timed out after {timeout:g}s"
