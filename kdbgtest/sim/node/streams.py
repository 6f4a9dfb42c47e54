"""Attach and exec connections (`contracts.ContainerStream`) and the Status texts they end with.

Exit statuses are written as a v1.34 API server sends them to a WebSocket client: the API server translates
WebSocket to SPDY toward the kubelet (`StreamTranslatorHandler`, on from 1.30), and re-wraps what the kubelet
reported: an exit code becomes `command terminated with non-zero exit code: command terminated with exit code
N`, and an error that is not an exit code gains a second `Internal error occurred: ` prefix. Before 1.30
kubectl falls back to SPDY and sees the kubelet's Status unchanged.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any, Protocol

Obj = dict[str, Any]
SUCCESS: Obj = {"metadata": {}, "status": "Success"}


class Process(Protocol):
    """What the runtime's process handle offers (runc.Process)."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int: ...

    def kill(self, sig: int) -> None: ...


def exit_status(code: int, argv: list[str], minor: int) -> Obj:
    """The NonZeroExitCode Failure for an exec that exited with `code`."""
    if minor >= 30:
        inner = f"command terminated with exit code {code}"
    else:
        inner = f"error executing command [{' '.join(argv)}], exit code {code}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {inner}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str, minor: int) -> Obj:
    """`apierrors.NewInternalError` as it reaches kubectl (wrapped twice through the translator from 1.30)."""
    cause = message
    if minor >= 30:
        cause = f"Internal error occurred: {message}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {cause}",
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    }


class ExecStream:
    """A process started with `runc exec`; its exit code becomes the final Status."""

    def __init__(self, process: Process, argv: list[str], *, tty: bool, stdin: bool, minor: int) -> None:
        self.tty = tty
        self._process = process
        self._argv = argv
        self._stdin = stdin
        self._minor = minor

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        async for chunk in self._process.output():
            yield chunk

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin:
            await self._process.write_stdin(data)

    async def close_stdin(self) -> None:
        await self._process.close_stdin()

    async def resize(self, width: int, height: int) -> None:
        if self.tty:
            await self._process.resize(width, height)

    async def result(self) -> Obj:
        code = await self._process.wait()
        return dict(SUCCESS) if code == 0 else exit_status(code, self._argv, self._minor)

    async def detach(self) -> None:
        """The client left: its terminal hangs up (tty) or its stdin ends."""
        await self._process.close_stdin()
        if self.tty:
            self._process.kill(signal.SIGHUP)


class AttachStream:
    """A client attached to a running container's stdio; the container's output is fanned out to it."""

    def __init__(self, instance: Attachable, *, stdin: bool, tty: bool) -> None:
        self.tty = tty
        self._instance = instance
        self._stdin = stdin and instance.has_stdin
        self._queue: asyncio.Queue[tuple[int, bytes] | None] = instance.subscribe()

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self._queue.get()) is not None:
            yield item

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin:
            await self._instance.write_stdin(data)

    async def close_stdin(self) -> None:
        """End of the client's input: the container's stdin closes too when it is `stdinOnce`."""
        if self._stdin and self._instance.stdin_once:
            await self._instance.close_stdin()

    async def resize(self, width: int, height: int) -> None:
        if self.tty:
            await self._instance.resize(width, height)

    async def result(self) -> Obj:
        return dict(SUCCESS)

    async def detach(self) -> None:
        """Stop relaying; the container keeps running."""
        self._instance.unsubscribe(self._queue)
        self._queue.put_nowait(None)


class Attachable(Protocol):
    """A running container instance as attach sees it (pods.Instance)."""

    has_stdin: bool
    stdin_once: bool

    def subscribe(self) -> asyncio.Queue[tuple[int, bytes] | None]: ...

    def unsubscribe(self, queue: asyncio.Queue[tuple[int, bytes] | None]) -> None: ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def resize(self, width: int, height: int) -> None: ...
