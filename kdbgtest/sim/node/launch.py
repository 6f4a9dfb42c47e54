"""Starting one container of a pod: image, runtime config, `runc run`, probes (kubelet `startContainer`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from kdbgtest.sim.node import (
    command,
    containers,
    idmap,
    images,
    logs,
    probes,
    pulling,
    security,
    spec,
    status,
    volumes,
)
from kdbgtest.sim.node.instance import Instance
from kdbgtest.sim.node.podbase import MIN_GRACE, RETRY, ExecFailed, Obj, PodBase, StartFailed

log = logging.getLogger(__name__)
KILL_WAIT = 5.0  # seconds a SIGKILLed container gets to be gone


class Launcher(PodBase):
    """Creates and starts containers for the pod worker, and watches their probes."""

    async def _start(self, container: Obj, kind: str) -> Instance | None:
        """Image, config, create and start; None if the runtime failed to start it (StartError)."""
        rec = self.records[container["name"]]
        image = await self._ensure_image(container, rec)
        rec.image = image.ref
        rec.image_id = f"{image.ref.rsplit(':', 1)[0]}@{image.image_id}"
        cid = containers.new_id()
        while (cfg := self._config(container, kind, image, cid, rec)) is None:
            self.attempted(container["name"])
            await asyncio.sleep(self.ctx.seconds(RETRY))
        self.event("Normal", "Created", self._created_message(container["name"]), container["name"])
        try:
            inst: Instance | None = await self._guarded(self._launch(cfg, container, rec, kind))
        finally:
            self.attempted(container["name"])
        return inst

    def _created_message(self, name: str) -> str:
        return f"Created container: {name}" if self.ctx.minor >= 32 else f"Created container {name}"

    async def _ensure_image(self, container: Obj, rec: status.ContainerRecord) -> images.Image:
        policy = container.get("imagePullPolicy") or pulling.default_policy(container["image"])
        while True:
            try:
                event = self.container_event(container["name"])
                return await self.ctx.puller.ensure(container["image"], policy, self.uid, event)
            except pulling.PullFailed as exc:
                rec.state = {"waiting": {"reason": exc.reason, "message": exc.message}}
                self.publish()
                self.attempted(container["name"])
                await asyncio.sleep(max(exc.wait, 0.01))

    def _config(
        self, container: Obj, kind: str, image: images.Image, cid: str, rec: status.ContainerRecord
    ) -> spec.ContainerConfig | None:
        """The runtime config, or None after reporting CreateContainerConfigError / CreateContainerError."""
        reason = "CreateContainerConfigError"
        try:
            return containers.build(
                self.pod, container, image, cid=cid, namespaces=self._namespaces(),
                pod_volumes=self._volumes, target_pid=self._target_pid(container, kind),
                lookup=self.ctx.lookup, hostname=self._hostname(),
                etc_hosts=containers.hosts_file(self.pod, self.pod_ip, self._host_network()),
                termination_log=self._termination_file(cid),
            )  # fmt: skip
        except (security.ContainerConfigError, command.ConfigError, volumes.VolumeError) as exc:
            message = str(exc)
        except containers.TargetNotFound as exc:
            message = str(exc)
        except command.NoCommand as exc:
            reason = "CreateContainerError"
            message = f'failed to generate container "{cid}" spec: failed to generate spec: {exc}'
        rec.state = {"waiting": {"reason": reason, "message": message}}
        self.event("Warning", "Failed", f"Error: {message}", rec.name)
        self.publish()
        return None

    def _namespaces(self) -> containers.Namespaces:
        """The sandbox's namespaces (it knows which are the node's); PID only when shared pod-wide."""
        pod_spec, sandbox = self.pod["spec"], self.sandbox
        assert sandbox is not None
        shared_pid = pod_spec.get("hostPID") or pod_spec.get("shareProcessNamespace")
        return containers.Namespaces(
            network=sandbox.ns_path("network"),
            ipc=sandbox.ns_path("ipc"),
            uts=sandbox.ns_path("uts"),
            pid=sandbox.ns_path("pid") if shared_pid else None,
        )

    def _host_network(self) -> bool:
        return bool(self.pod["spec"].get("hostNetwork"))

    def _hostname(self) -> str:
        return self.ctx.name if self._host_network() else self.name

    def _target_pid(self, container: Obj, kind: str) -> int | None:
        target = container.get("targetContainerName") if kind == "ephemeral" else None
        if not target or not containers.pid_mode_is_container(self.pod):
            return None
        inst = self.current.get(target)
        if inst is None or not inst.running:
            raise containers.TargetNotFound(f"unable to find target container {target}")
        return inst.pid

    async def _launch(
        self, cfg: spec.ContainerConfig, container: Obj, rec: status.ContainerRecord, kind: str
    ) -> Instance | None:
        name = container["name"]
        rec.container_id = f"containerd://{cfg.id}"
        try:
            process = await self.ctx.runtime.start(cfg, self.dir / "containers" / cfg.id)
        except StartFailed as exc:
            message = str(exc)
            rec.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                        "startedAt": "1970-01-01T00:00:00Z", "finishedAt": status.now(),
                                        "containerID": rec.container_id}}  # fmt: skip
            self.event("Warning", "Failed", f"Error: {message}", name)
            self.publish()
            return None
        count = self._counts[name] = self._counts.get(name, -1) + 1
        inst = Instance(
            rec.container_id, process, self._log_file(name, count, cfg.id), pid=process.pid,
            has_stdin=cfg.stdin, stdin_once=bool(container.get("stdinOnce")),
        )  # fmt: skip
        self.current[name] = self.by_id[rec.container_id] = inst
        self.configs[cfg.id] = cfg
        rec.state = {"running": {"startedAt": inst.started_at}}
        rec.started = kind != "ephemeral" and "startupProbe" not in container
        rec.ready = kind == "regular" and rec.started and "readinessProbe" not in container
        self.event("Normal", "Started", f"Started container {name}", name)
        if kind == "regular":
            self._spawn(self._watch_probes(container, rec, inst))
        self.publish()
        return inst

    def _termination_file(self, cid: str) -> Path:
        """The host file bind-mounted at the container's terminationMessagePath (kubelet + containerd)."""
        path: Path = self.dir / "termination" / cid
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o666)
        path.chmod(0o666)
        idmap.shift(path)
        return path

    def termination_message(self, container: Obj, inst: Instance) -> str:
        """What the container wrote to its termination log; with FallbackToLogsOnError, else its log's tail.

        At most 4096 bytes of the file; of the log (only after a failure), the last 80 lines and 2048 bytes.
        """
        path: Path = self.dir / "termination" / inst.container_id.removeprefix("containerd://")
        with contextlib.suppress(OSError):
            text: str = path.read_bytes()[:4096].decode(errors="replace")
            if text:
                return text
        if container.get("terminationMessagePolicy") != "FallbackToLogsOnError" or inst.exit_code == 0:
            return ""
        records, _ = logs.read_records(inst.log_path)
        tail = b"".join(r[1] + (b"\n" if r[2] else b"") for r in records[-80:])[-2048:]
        return tail.decode(errors="replace")

    def _log_file(self, name: str, count: int, cid: str) -> Path:
        """/var/log/pods/NS_POD_UID/NAME/N.log in the node root, linked from /var/log/containers (CRI)."""
        path = self.log_dir / name / f"{count}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        # The kubelet's container GC keeps one dead instance per container: older logs go.
        (self.log_dir / name / f"{count - 2}.log").unlink(missing_ok=True)
        link = self.ctx.node_root / "var/log/containers" / f"{self.name}_{self.namespace}_{name}-{cid}.log"
        with contextlib.suppress(OSError):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f"/{path.relative_to(self.ctx.node_root)}")
        return path

    async def _watch_probes(self, container: Obj, rec: status.ContainerRecord, inst: Instance) -> None:
        """Run the container's probes while it runs; a failed liveness/startup probe restarts it."""
        prober = probes.Prober(container, self.ctx.config.time_scale, lambda p, t: self._probe(p, t, inst),
                               self.container_event(rec.name))  # fmt: skip
        rec.ready, rec.started = prober.ready, prober.started

        def changed() -> None:
            if inst.running and self.current.get(rec.name) is inst:
                rec.ready, rec.started = prober.ready, prober.started
                self.publish()

        prober.changed = changed
        body = asyncio.create_task(self._probe_body(prober))
        try:
            await asyncio.wait(
                {body, asyncio.ensure_future(inst.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            if body.done() and inst.running:
                name = container["name"]
                message = f"Container {name} failed {body.result()} probe, will be restarted"
                self.event("Normal", "Killing", message, name)
                await self._stop_instance(inst, self._termination_grace())
        finally:
            body.cancel()

    async def _probe_body(self, prober: probes.Prober) -> str:
        """Startup first, then readiness and liveness together; the kind of probe that failed for good."""
        if not await prober.startup():
            return "startup"
        readiness = asyncio.create_task(prober.readiness())
        try:
            return await prober.liveness()
        finally:
            readiness.cancel()

    async def _probe(self, probe: Obj, timeout: float, inst: Instance) -> tuple[bool, str]:
        netns = self.sandbox.ns_path("network") if self.sandbox is not None else None
        return await probes.check(probe, self.pod_ip, netns, lambda argv, t: self._exec_output(inst, argv, t),
                                  timeout)  # fmt: skip

    async def _exec_output(self, inst: Instance, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run `argv` in the instance's container; (exit code, combined output); a timeout fails."""
        cfg = self.configs[inst.container_id.removeprefix("containerd://")]
        try:
            process = await self.ctx.runtime.exec(cfg, argv)
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

    def _termination_grace(self) -> int:
        return int(self.pod["spec"].get("terminationGracePeriodSeconds", 30))

    async def _stop_instance(self, inst: Instance, grace: int) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (the runtime's StopContainer)."""
        inst.kill(signal.SIGTERM)
        try:
            await asyncio.wait_for(inst.wait(), timeout=max(grace, MIN_GRACE))
        except TimeoutError:
            await self._force_stop(inst)

    async def _force_stop(self, inst: Instance) -> None:
        """SIGKILL; if the process somehow survives, have the runtime delete the container (bounded waits)."""
        inst.kill(signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inst.wait(), timeout=KILL_WAIT)
            return
        log.warning("container %s survived SIGKILL; deleting it through the runtime", inst.container_id)
        await self._reap(inst)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inst.wait(), timeout=KILL_WAIT)

    async def _reap(self, inst: Instance) -> None:
        with contextlib.suppress(Exception):
            await self.ctx.runtime.remove(inst.container_id.removeprefix("containerd://"))
