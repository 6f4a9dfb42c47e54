"""The pod worker: one pod on one node, from sandbox to deletion, as the kubelet's pod worker + containerd.

Init containers run in order, then the regular containers, started in order (each once the previous one's
start has been tried), each under a supervisor that restarts it by `restartPolicy` with CrashLoopBackOff;
ephemeral containers start as soon as they appear in the spec and are never restarted. On deletion every
container gets SIGTERM, SIGKILL after the grace period (at once if the node stops meanwhile), then the sandbox
goes and the pod is removed from the store.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from typing import Any

from kdbgtest.sim.node import backoff, launch, security, status, volumes
from kdbgtest.sim.node.podbase import MIN_GRACE, RETRY, Obj, SandboxFailed

log = logging.getLogger(__name__)


class PodWorker(launch.Launcher):
    """Runs one pod; `update` feeds it new versions of the pod, `removed` tells it the pod is gone."""

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._main = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    def update(self, pod: Obj) -> None:
        if not self._gone and pod["metadata"].get("uid") == self.uid:
            self.pod = pod
            self._changed.set()

    def removed(self, grace: int | None = None) -> None:
        """The pod left the store (force delete) or the node stops (grace 0, which also cuts short a
        termination already waiting out its grace period, as a kubelet shutting down does)."""
        self._gone = True
        self._force_grace = grace
        if grace == 0:
            self._no_grace.set()
        self._changed.set()

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

    async def _lifecycle(self) -> None:
        await self._setup()
        self._start_new_ephemerals()
        if await self._run_inits():
            await self._run_regular(self.pod["spec"].get("containers") or [])
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

    async def _run_regular(self, regular: list[Obj]) -> None:
        """Supervise the regular containers, starting them in spec order as the kubelet's SyncPod does: each
        after the previous one's first start attempt has ended (started, or failed to start)."""
        supervisors: list[asyncio.Task[None]] = []
        try:
            for container in regular:
                attempted = self.first_attempts[container["name"]] = asyncio.Event()
                supervisor = asyncio.create_task(self._supervise(container, "regular"))
                supervisors.append(supervisor)
                waiter = asyncio.create_task(attempted.wait())
                await asyncio.wait({supervisor, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            await asyncio.gather(*supervisors)
        finally:
            for supervisor in supervisors:
                supervisor.cancel()
            await asyncio.gather(*supervisors, return_exceptions=True)

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
        terminated = inst.terminated(rec.container_id)
        if message := self.termination_message(container, inst):
            terminated["message"] = message
        rec.state = {"terminated": terminated}
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
            self.event(
                "Warning", "BackOff", f"Back-off restarting failed container {name} in pod {ref}", name
            )
            self.publish()
            await asyncio.sleep(bo.remaining(key, finish))
            rec.state = {"terminated": rec.last_state["terminated"]}
        bo.next(key, finish)

    def _start_new_ephemerals(self) -> None:
        if not self.ctx.feature("EphemeralContainers"):
            return  # a kubelet with the gate off ignores them
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
        self._terminated = True
        self.publish()  # the terminal status, as the kubelet writes it before the pod is removed
        await asyncio.to_thread(self._remove_files)
        if not self._gone and self._still_stored():
            self.ctx.state.finish_pod_deletion(self.namespace, self.name)

    def _remove_files(self) -> None:
        """The pod's directory, its log directory and the /var/log/containers links to it."""
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        links = self.ctx.node_root / "var/log/containers"
        for link in links.glob(f"{self.name}_{self.namespace}_*.log") if links.is_dir() else []:
            if str(link.readlink()).startswith(f"/{self.log_dir.relative_to(self.ctx.node_root)}/"):
                link.unlink(missing_ok=True)

    def _grace(self) -> int:
        if self._force_grace is not None:
            return self._force_grace
        meta, pod_spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = pod_spec.get("terminationGracePeriodSeconds", 30)
        return max(int(grace), MIN_GRACE)

    async def _kill_all(self, grace: int) -> None:
        """SIGTERM every running container; SIGKILL the rest after `grace` seconds, or at once if the node stops."""
        running = [(name, inst) for name, inst in self.current.items() if inst.running]
        for name, inst in running:
            if grace > 0:
                self.event("Normal", "Killing", f"Stopping container {name}", name)
            inst.kill(signal.SIGTERM if grace > 0 else signal.SIGKILL)
        exited = asyncio.gather(*(inst.wait() for _, inst in running))
        if not await self._within_grace(exited, grace):
            await asyncio.gather(*(self._force_stop(inst) for _, inst in running if inst.running))
        for name, inst in running:
            rec = self.records[name]
            rec.state = {"terminated": inst.terminated(inst.container_id)}
            rec.ready = rec.started = False
        # Together: one `runc delete` after another made a pod of many containers miss its deadline under load.
        await asyncio.gather(*(self._reap(inst) for _, inst in running))

    async def _within_grace(self, exited: asyncio.Future[Any], grace: int) -> bool:
        """Whether `exited` came within `grace` seconds, a wait the node's stop (`removed(grace=0)`) ends."""
        no_grace = asyncio.ensure_future(self._no_grace.wait())
        try:
            await asyncio.wait({exited, no_grace}, timeout=max(grace, 0.1), return_when=asyncio.FIRST_COMPLETED)
            return exited.done()
        finally:
            no_grace.cancel()
            exited.cancel()  # nothing to cancel once done

    async def _stop_sandbox(self) -> None:
        if self.sandbox is not None:
            sandbox, self.sandbox = self.sandbox, None
            await self.ctx.stop_sandbox(sandbox)

    def _still_stored(self) -> bool:
        pods = self.ctx.state.pods_on_node(self.ctx.name)
        return any(p["metadata"].get("uid") == self.uid for p in pods)
