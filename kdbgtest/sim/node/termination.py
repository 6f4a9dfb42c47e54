"""Stopping a pod's containers as the runtime's StopContainer does: SIGTERM, SIGKILL after the grace period
(at once if the node stops meanwhile), then the runtime deletes what is left. Every wait has a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from kdbgtest.sim.node.instance import Instance
from kdbgtest.sim.node.podcontext import MIN_GRACE, Obj, Runtime
from kdbgtest.sim.node.podreport import PodReport

log = logging.getLogger(__name__)
KILL_WAIT = 5.0  # seconds a SIGKILLed container gets to be gone


def deletion_grace(pod: Obj, forced: int | None) -> int:
    """The grace period of a pod being deleted: `forced` (the node's), the deletion's, or the pod's own."""
    if forced is not None:
        return forced
    grace = pod["metadata"].get("deletionGracePeriodSeconds")
    if grace is None:
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    return max(int(grace), MIN_GRACE)


class Stopper:
    """Stops one pod's container instances and has the runtime delete them."""

    def __init__(self, runtime: Runtime, report: PodReport) -> None:
        self._runtime = runtime
        self._report = report
        self._no_grace = asyncio.Event()  # the node stops: a termination in progress waits no longer

    def node_stops(self) -> None:
        """Cut short a grace period being waited out, as a kubelet shutting down does."""
        self._no_grace.set()

    async def stop(self, inst: Instance, grace: int) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (the runtime's StopContainer)."""
        inst.kill(signal.SIGTERM)
        try:
            await asyncio.wait_for(inst.wait(), timeout=max(grace, MIN_GRACE))
        except TimeoutError:
            await self._force_stop(inst)

    async def stop_all(self, running: list[tuple[str, Instance]], grace: int) -> None:
        """SIGTERM every running container; SIGKILL the rest after `grace` seconds, or at once if the node stops."""
        for name, inst in running:
            if grace > 0:
                self._report.event("Normal", "Killing", f"Stopping container {name}", name)
            inst.kill(signal.SIGTERM if grace > 0 else signal.SIGKILL)
        exited = asyncio.gather(*(inst.wait() for _, inst in running))
        if not await self._within_grace(exited, grace):
            await asyncio.gather(*(self._force_stop(inst) for _, inst in running if inst.running))
        for name, inst in running:
            rec = self._report.records[name]
            rec.state = {"terminated": inst.terminated(inst.container_id)}
            rec.ready = rec.started = False
        # Together: one `runc delete` after another made a pod of many containers miss its deadline under load.
        await asyncio.gather(*(self.reap(inst) for _, inst in running))

    async def reap(self, inst: Instance) -> None:
        """Have the runtime delete the (exited) container."""
        with contextlib.suppress(Exception):
            await self._runtime.remove(inst.container_id.removeprefix("containerd://"))

    async def _force_stop(self, inst: Instance) -> None:
        """SIGKILL; if the process somehow survives, have the runtime delete the container (bounded waits)."""
        inst.kill(signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inst.wait(), timeout=KILL_WAIT)
            return
        log.warning("container %s survived SIGKILL; deleting it through the runtime", inst.container_id)
        await self.reap(inst)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inst.wait(), timeout=KILL_WAIT)

    async def _within_grace(self, exited: asyncio.Future[Any], grace: int) -> bool:
        """Whether `exited` came within `grace` seconds, a wait the node's stop (`node_stops`) ends."""
        no_grace = asyncio.ensure_future(self._no_grace.wait())
        try:
            await asyncio.wait({exited, no_grace}, timeout=max(grace, 0.1), return_when=asyncio.FIRST_COMPLETED)
            return exited.done()
        finally:
            no_grace.cancel()
            exited.cancel()  # nothing to cancel once done
