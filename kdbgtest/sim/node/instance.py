"""Container instances: one process with its log file and attached clients, and the registry of a pod's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from kdbgtest.sim.node import logs, spec, status, streams

Queue = asyncio.Queue[tuple[int, bytes] | None]


class Instance:
    """Pumps the process's output into the CRI log file and to every attached client, until it exits."""

    def __init__(
        self,
        container_id: str,
        process: streams.Process,
        log_path: Path,
        *,
        pid: int,
        has_stdin: bool,
        stdin_once: bool,
    ) -> None:
        self.container_id = container_id
        self.log_path = log_path
        self.pid = pid
        self.has_stdin = has_stdin
        self.stdin_once = stdin_once
        self.started_at = status.now()
        self.finished_at = ""
        self.exit_code: int | None = None
        self.nominal_finish = 0.0  # set by the pod worker on the back-off clock
        self._process = process
        self._log = logs.LogWriter(log_path)
        self._subscribers: list[Queue] = []
        self._started = time.monotonic()
        self._done = asyncio.Event()
        self._pump = asyncio.create_task(self._run(), name=f"pump {container_id[:12]}")

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    @property
    def ran_for(self) -> float:
        """Real seconds the process ran (so far)."""
        return time.monotonic() - self._started

    async def wait(self) -> int:
        await self._done.wait()
        assert self.exit_code is not None
        return self.exit_code

    async def _run(self) -> None:
        try:
            async for stream, data in self._process.output():
                self._log.write(stream, data)
                for queue in list(self._subscribers):
                    queue.put_nowait((stream, data))
        finally:
            self._log.close()
            self.exit_code = await self._process.wait()
            self.finished_at = status.now()
            for queue in self._subscribers:
                queue.put_nowait(None)
            self._subscribers.clear()
            self._done.set()

    def subscribe(self) -> Queue:
        queue: Queue = asyncio.Queue()
        if self._done.is_set():
            queue.put_nowait(None)
        else:
            self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: Queue) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    async def write_stdin(self, data: bytes) -> None:
        if self.has_stdin and self.running:
            await self._process.write_stdin(data)

    async def close_stdin(self) -> None:
        if self.has_stdin and self.running:
            await self._process.close_stdin()

    async def resize(self, width: int, height: int) -> None:
        if self.running:
            await self._process.resize(width, height)

    def kill(self, sig: int) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill(sig)

    def terminated(self, container_id: str) -> dict[str, object]:
        """The v1.ContainerStateTerminated of this finished instance."""
        code = self.exit_code if self.exit_code is not None else 137
        return {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": self.started_at,
            "finishedAt": self.finished_at or status.now(),
            "containerID": container_id,
        }


class Instances:
    """A pod's container instances: the latest of each container, every one by id, and their runtime configs."""

    def __init__(self) -> None:
        self.current: dict[str, Instance] = {}  # container name -> latest instance
        self.by_id: dict[str, Instance] = {}  # "containerd://ID" -> instance
        self.configs: dict[str, spec.ContainerConfig] = {}  # runtime id -> config
        self._counts: dict[str, int] = {}

    def next_count(self, name: str) -> int:
        """The number of the container's next instance (0 first), as its log file is named."""
        count = self._counts[name] = self._counts.get(name, -1) + 1
        return count

    def add(self, name: str, inst: Instance, cfg: spec.ContainerConfig) -> None:
        self.current[name] = self.by_id[inst.container_id] = inst
        self.configs[cfg.id] = cfg

    def config_of(self, inst: Instance) -> spec.ContainerConfig:
        return self.configs[inst.container_id.removeprefix("containerd://")]

    def running(self) -> list[tuple[str, Instance]]:
        """(container name, instance) of the latest instances still running."""
        return [(name, inst) for name, inst in self.current.items() if inst.running]
