"""Starting one container of a pod: image, runtime config, `runc run`, probes (kubelet `startContainer`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.sim.node import command, containers, idmap, images, logs, pulling, security, spec, status, volumes
from kdbgtest.sim.node.instance import Instance, Instances
from kdbgtest.sim.node.podcontext import RETRY, NodeContext, Obj, PodPaths, PodTasks, StartFailed
from kdbgtest.sim.node.podreport import PodReport
from kdbgtest.sim.node.podsandbox import Sandbox
from kdbgtest.sim.node.probewatch import ProbeWatch


@dataclass(eq=False)
class Launcher:
    """Creates and starts a pod's containers in its sandbox, and has the probes of regular ones watched."""

    _ctx: NodeContext
    _report: PodReport
    _paths: PodPaths
    _sandbox: Sandbox
    _instances: Instances
    _tasks: PodTasks
    _probes: ProbeWatch

    async def start(self, container: Obj, kind: str, attempted: Callable[[], None]) -> Instance | None:
        """Image, config, create and start; None if the runtime failed to start it (StartError).

        `attempted` is called each time a start was tried (it runs, or it could not be started).
        """
        rec = self._report.records[container["name"]]
        image = await self._ensure_image(container, rec, attempted)
        rec.image = image.ref
        rec.image_id = f"{image.ref.rsplit(':', 1)[0]}@{image.image_id}"
        cid = containers.new_id()
        while (cfg := self._config(container, kind, image, cid, rec)) is None:
            attempted()
            await asyncio.sleep(self._ctx.seconds(RETRY))
        self._report.event("Normal", "Created", self._created_message(container["name"]), container["name"])
        try:
            inst: Instance | None = await self._tasks.guarded(self._launch(cfg, container, rec, kind))
        finally:
            attempted()
        return inst

    def _created_message(self, name: str) -> str:
        return f"Created container: {name}" if self._ctx.minor >= 32 else f"Created container {name}"

    async def _ensure_image(
        self, container: Obj, rec: status.ContainerRecord, attempted: Callable[[], None]
    ) -> images.Image:
        policy = container.get("imagePullPolicy") or pulling.default_policy(container["image"])
        while True:
            try:
                event = self._report.container_event(container["name"])
                return await self._ctx.puller.ensure(container["image"], policy, self._report.uid, event)
            except pulling.PullFailed as exc:
                rec.state = {"waiting": {"reason": exc.reason, "message": exc.message}}
                self._report.publish()
                attempted()
                await asyncio.sleep(max(exc.wait, 0.01))

    def _config(
        self, container: Obj, kind: str, image: images.Image, cid: str, rec: status.ContainerRecord
    ) -> spec.ContainerConfig | None:
        """The runtime config, or None after reporting CreateContainerConfigError / CreateContainerError."""
        reason = "CreateContainerConfigError"
        pod = self._report.pod
        host_network = bool(pod["spec"].get("hostNetwork"))
        try:
            return containers.build(
                pod, container, image, cid=cid, namespaces=self._sandbox.namespaces(pod),
                pod_volumes=self._sandbox.volumes, target_pid=self._target_pid(container, kind),
                lookup=self._ctx.lookup, hostname=self._ctx.name if host_network else self._report.name,
                etc_hosts=containers.hosts_file(pod, self._sandbox.ip, host_network),
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
        self._report.event("Warning", "Failed", f"Error: {message}", rec.name)
        self._report.publish()
        return None

    def _target_pid(self, container: Obj, kind: str) -> int | None:
        target = container.get("targetContainerName") if kind == "ephemeral" else None
        if not target or not containers.pid_mode_is_container(self._report.pod):
            return None
        inst = self._instances.current.get(target)
        if inst is None or not inst.running:
            raise containers.TargetNotFound(f"unable to find target container {target}")
        return inst.pid

    async def _launch(
        self, cfg: spec.ContainerConfig, container: Obj, rec: status.ContainerRecord, kind: str
    ) -> Instance | None:
        name, report = container["name"], self._report
        rec.container_id = f"containerd://{cfg.id}"
        try:
            process = await self._ctx.runtime.start(cfg, self._paths.dir / "containers" / cfg.id)
        except StartFailed as exc:
            message = str(exc)
            rec.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": message,
                                        "startedAt": "1970-01-01T00:00:00Z", "finishedAt": status.now(),
                                        "containerID": rec.container_id}}  # fmt: skip
            report.event("Warning", "Failed", f"Error: {message}", name)
            report.publish()
            return None
        count = self._instances.next_count(name)
        inst = Instance(
            rec.container_id, process, self._log_file(name, count, cfg.id), pid=process.pid,
            has_stdin=cfg.stdin, stdin_once=bool(container.get("stdinOnce")),
        )  # fmt: skip
        self._instances.add(name, inst, cfg)
        rec.state = {"running": {"startedAt": inst.started_at}}
        rec.started = kind != "ephemeral" and "startupProbe" not in container
        rec.ready = kind == "regular" and rec.started and "readinessProbe" not in container
        report.event("Normal", "Started", f"Started container {name}", name)
        if kind == "regular":
            self._tasks.spawn(self._probes.watch(container, rec, inst))
        report.publish()
        return inst

    def _termination_file(self, cid: str) -> Path:
        """The host file bind-mounted at the container's terminationMessagePath (kubelet + containerd)."""
        path: Path = self._paths.dir / "termination" / cid
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o666)
        path.chmod(0o666)
        idmap.shift(path)
        return path

    def termination_message(self, container: Obj, inst: Instance) -> str:
        """What the container wrote to its termination log; with FallbackToLogsOnError, else its log's tail.

        At most 4096 bytes of the file; of the log (only after a failure), the last 80 lines and 2048 bytes.
        """
        path: Path = self._paths.dir / "termination" / inst.container_id.removeprefix("containerd://")
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
        log_dir, node_root = self._paths.log_dir, self._paths.node_root
        path = log_dir / name / f"{count}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        # The kubelet's container GC keeps one dead instance per container: older logs go.
        (log_dir / name / f"{count - 2}.log").unlink(missing_ok=True)
        link = node_root / "var/log/containers" / f"{self._paths.name}_{self._paths.namespace}_{name}-{cid}.log"
        with contextlib.suppress(OSError):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f"/{path.relative_to(node_root)}")
        return path
