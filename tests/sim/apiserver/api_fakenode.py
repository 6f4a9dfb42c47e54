"""A stand-in node agent for the API server's tests: containers are REAL local processes (no runc, no images).

Each container runs its `command + args` on this machine (under a pty when `tty: true`), so exec, attach and
logs carry real process I/O. It reports statuses and events through the store's `ClusterState`, like the
real node agent, and stops processes when a pod is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.contracts import ClusterState, LogsUnavailable, PodChange, StreamError


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exit_status(code: int, command: list[str]) -> Obj:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "reason": "NonZeroExitCode",
        "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {code}",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


class Proc:
    """One running process with pipes or a pty; output is logged and fanned out to attached streams."""

    def __init__(self, command: list[str], tty: bool) -> None:
        self.command, self.tty = command, tty
        self.log = bytearray()
        self.listeners: set[asyncio.Queue[tuple[int, bytes] | None]] = set()
        self.process: asyncio.subprocess.Process | None = None
        self.master = -1
        self.size: tuple[int, int] | None = None
        self.done = asyncio.Event()
        self.tasks: set[asyncio.Future[None]] = set()
        self.pipes: asyncio.Future[None] | None = None

    async def start(self) -> None:
        if self.tty:
            self.master, slave = pty.openpty()
            self.process = await asyncio.create_subprocess_exec(
                *self.command, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
            )
            os.close(slave)
            asyncio.get_running_loop().add_reader(self.master, self._read_pty)
        else:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
            self.pipes = asyncio.ensure_future(self._read_pipes())
        self.tasks.add(asyncio.ensure_future(self._reap()))

    def _publish(self, channel: int, data: bytes) -> None:
        self.log += data
        for queue in list(self.listeners):
            queue.put_nowait((channel, data))

    def _read_pty(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        self._publish(1, data)

    async def _read_pipes(self) -> None:
        assert self.process is not None

        async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
            while stream is not None and (data := await stream.read(4096)):
                self._publish(channel, data)

        await asyncio.gather(pump(self.process.stdout, 1), pump(self.process.stderr, 2))

    async def _reap(self) -> None:
        assert self.process is not None
        await self.process.wait()
        if self.pipes is not None:
            await self.pipes  # everything the process wrote is published before it counts as done
        if self.tty:
            await asyncio.sleep(0.05)  # let the pty reader drain what the process wrote last
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.master)
                os.close(self.master)
        self.done.set()
        for queue in list(self.listeners):
            queue.put_nowait(None)

    async def write(self, data: bytes) -> None:
        if self.tty:
            os.write(self.master, data)
        elif self.process is not None and self.process.stdin is not None:
            self.process.stdin.write(data)
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await self.process.stdin.drain()

    async def close_stdin(self) -> None:
        if self.tty:
            os.write(self.master, b"\x04")
        elif self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()

    def resize(self, width: int, height: int) -> None:
        self.size = (width, height)
        if self.tty and not self.done.is_set():
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


class FakeStream:
    """A `ContainerStream` over a `Proc` (exec: its own process; attach: the container's)."""

    def __init__(self, proc: Proc, owned: bool) -> None:
        self.proc, self.owned, self.tty = proc, owned, proc.tty
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        proc.listeners.add(self.queue)
        if proc.done.is_set():
            self.queue.put_nowait(None)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self.queue.get()) is not None:
            yield item

    async def write_stdin(self, data: bytes) -> None:
        await self.proc.write(data)

    async def close_stdin(self) -> None:
        await self.proc.close_stdin()

    async def resize(self, width: int, height: int) -> None:
        self.proc.resize(width, height)

    async def result(self) -> Obj:
        await self.proc.done.wait()
        assert self.proc.process is not None
        return exit_status(self.proc.process.returncode or 0, self.proc.command)

    async def detach(self) -> None:
        self.proc.listeners.discard(self.queue)
        self.queue.put_nowait(None)
        if self.owned:
            self.proc.kill()


class FakeNode:
    """A `NodeRuntime` whose containers are local processes; `exec_log` records every exec command."""

    def __init__(self, name: str, state: ClusterState) -> None:
        self.name, self.state = name, state
        self.procs: dict[tuple[str, str, str], Proc] = {}
        self.exec_log: list[list[str]] = []
        self.execs: list[Proc] = []
        self.tasks: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        self.state.subscribe_pods(self.name, self._on_change)

    async def stop(self) -> None:
        for proc in [*self.procs.values(), *self.execs]:
            proc.kill()

    def _on_change(self, change: PodChange) -> None:
        self.tasks.add(asyncio.ensure_future(self._sync(change)))

    async def _sync(self, change: PodChange) -> None:
        pod = change.pod
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if change.type == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            for key in [k for k in self.procs if k[:2] == (ns, name)]:
                self.procs.pop(key).kill()
            if change.type != "DELETED":
                self.state.finish_pod_deletion(ns, name)
            return
        started = False
        for field in ("containers", "ephemeralContainers"):
            for container in pod["spec"].get(field) or []:
                started |= await self._ensure(ns, name, container)
        if started:
            self.report(ns, name)

    async def _ensure(self, ns: str, pod: str, container: Obj) -> bool:
        key = (ns, pod, container["name"])
        if key in self.procs:
            return False
        command = [*(container.get("command") or ["sh"]), *(container.get("args") or [])]
        proc = Proc(command, bool(container.get("tty")))
        self.procs[key] = proc
        await proc.start()
        self.tasks.add(asyncio.ensure_future(self._report_exit(ns, pod, proc)))
        return True

    async def _report_exit(self, ns: str, pod: str, proc: Proc) -> None:
        await proc.done.wait()
        if any(p is proc for p in self.procs.values()):
            self.report(ns, pod)

    def _container_status(self, ns: str, pod: str, container: Obj) -> Obj:
        proc = self.procs.get((ns, pod, container["name"]))
        state: Obj = {"waiting": {"reason": "ContainerCreating"}}
        if proc is not None and proc.process is not None:
            if proc.done.is_set():
                code = proc.process.returncode or 0
                state = {
                    "terminated": {
                        "exitCode": code,
                        "reason": "Completed" if code == 0 else "Error",
                        "startedAt": _now(),
                        "finishedAt": _now(),
                    }
                }
            else:
                state = {"running": {"startedAt": _now()}}
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": "",
            "containerID": f"fake://{proc.process.pid}" if proc and proc.process else "",
            "ready": "running" in state,
            "restartCount": 0,
            "started": "running" in state,
            "state": state,
            "lastState": {},
        }

    def report(self, ns: str, pod_name: str) -> None:
        """Write the pod's status from its processes, as a kubelet status sync would."""
        pods = {
            p["metadata"]["name"]: p for p in self.state.pods_on_node(self.name) if p["metadata"]["namespace"] == ns
        }
        pod = pods.get(pod_name)
        if pod is None:
            return
        statuses = [self._container_status(ns, pod_name, c) for c in pod["spec"]["containers"]]
        ecs = [self._container_status(ns, pod_name, c) for c in pod["spec"].get("ephemeralContainers") or []]
        for ec in ecs:
            ec["ready"] = False
            ec.pop("started")
        ready = all(s["ready"] for s in statuses)
        conditions = [
            {
                "type": t,
                "status": "True" if (ready or t == "PodScheduled") else "False",
                "lastProbeTime": None,
                "lastTransitionTime": _now(),
            }
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        status: dict[str, Any] = {
            **pod.get("status", {}),
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "172.18.0.3",
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "startTime": pod["status"].get("startTime") or _now(),
            "containerStatuses": statuses,
        }
        if ecs:
            status["ephemeralContainerStatuses"] = ecs
        self.state.update_pod_status(ns, pod_name, status)

    async def attach(self, namespace: str, pod: str, container: str, *, stdin: bool, tty: bool) -> FakeStream:
        proc = self.procs.get((namespace, pod, container))
        if proc is None or proc.done.is_set():
            raise StreamError(
                {
                    "metadata": {},
                    "status": "Failure",
                    "reason": "InternalError",
                    "code": 500,
                    "message": f"Internal error occurred: unable to upgrade connection: container "
                    f'not found ("{container}")',
                }
            )
        return FakeStream(proc, owned=False)

    async def exec(
        self, namespace: str, pod: str, container: str, command: list[str], *, stdin: bool, tty: bool
    ) -> FakeStream:
        self.exec_log.append(command)
        proc = Proc(command, tty)
        stream = FakeStream(proc, owned=True)  # listening before the process can print anything
        try:
            await proc.start()
        except OSError as err:
            raise StreamError(
                {
                    "metadata": {},
                    "status": "Failure",
                    "reason": "InternalError",
                    "code": 500,
                    "message": f"Internal error occurred: error executing command in container: {err}",
                }
            ) from err
        self.execs.append(proc)
        return stream

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
        proc = self.procs.get((namespace, pod, container))
        if previous:
            raise LogsUnavailable(f'previous terminated container "{container}" in pod "{pod}" not found')
        if proc is None:
            raise LogsUnavailable(f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating')
        data = bytes(proc.log)
        if tail_lines is not None:
            data = b"".join(data.splitlines(keepends=True)[-tail_lines:]) if tail_lines else b""
        queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        if follow:
            proc.listeners.add(queue)
        yield data
        try:
            while follow and not proc.done.is_set() and (item := await queue.get()) is not None:
                yield item[1]
        finally:
            proc.listeners.discard(queue)
