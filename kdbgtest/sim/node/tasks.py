"""A running container process (a container's init or an exec'd process), as containerd calls them: a task.

Each task is one foreground `runc run`/`runc exec` child of the sim (see runc.py for why): its stdio are
pipes, or, with a tty, the slave side of a pty whose master this object holds. runc relays the container's own
console to that pty and resizes the container's console on SIGWINCH, which the kernel sends to runc (the
session leader's process group) when `resize` sets the master's window size.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import termios
import tty
from collections.abc import AsyncIterator

EOF_CHAR = b"\x04"  # VEOF in a canonical-mode terminal: what a person types to end stdin
_CHUNK = 65536
GONE = -1  # `Process.pid` of a process that had already exited when its host pid was looked up


class Process:
    """A started container process. `pid` is its pid on the host (GONE if it exited before it could be
    looked up); `output()` has a single consumer."""

    def __init__(self, proc: asyncio.subprocess.Process, pid: int, *, tty: bool, master: int | None) -> None:
        self.pid = pid
        self.tty = tty
        self._proc = proc
        self._master = master
        self._consumed = False
        self._exit: int | None = None

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """(1, data) for stdout, (2, data) for stderr (everything on 1 with a tty), until both reach EOF."""
        if self._consumed:
            raise RuntimeError("Process.output() has a single consumer and was already read")
        self._consumed = True
        if self._master is not None:
            async for data in self._tty_output(self._master):
                yield 1, data
            return
        async for item in self._pipe_output():
            yield item

    async def _pipe_output(self) -> AsyncIterator[tuple[int, bytes]]:
        readers = {fd: r for fd, r in ((1, self._proc.stdout), (2, self._proc.stderr)) if r is not None}
        pending = {asyncio.ensure_future(r.read(_CHUNK)): fd for fd, r in readers.items()}
        try:
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: pending[t]):
                    fd = pending.pop(task)
                    data = task.result()
                    if data:
                        yield fd, data
                        pending[asyncio.ensure_future(readers[fd].read(_CHUNK))] = fd
        finally:
            for task in pending:
                task.cancel()

    async def _tty_output(self, master: int) -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    data = os.read(master, _CHUNK)
                except BlockingIOError:
                    await _ready(master, writable=False)
                    continue
                except OSError as exc:
                    if exc.errno == errno.EIO:  # every slave end closed: runc has exited
                        return
                    raise
                if not data:
                    return
                yield _one_cr(data)
        finally:
            self._close_master()

    async def write_stdin(self, data: bytes) -> None:
        """Send `data` to the process's stdin (with a tty: typed into its terminal)."""
        if self._master is not None:
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    await _ready(self._master, writable=True)
            return
        if self._proc.stdin is None:
            raise RuntimeError("the process was started without stdin")
        self._proc.stdin.write(data)
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            await self._proc.stdin.drain()

    async def close_stdin(self) -> None:
        """End of input: close the pipe, or with a tty type the EOF character (^D)."""
        if self.tty:
            if self._master is not None:
                await self.write_stdin(EOF_CHAR)
            return
        if self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await self._proc.stdin.wait_closed()

    async def resize(self, width: int, height: int) -> None:
        """Set the terminal size; ignored without a tty.

        runc relays a size change of our pty to the container's console when SIGWINCH reaches it, some time
        later; so the container's terminal (the process's stdin) is also resized here, before returning."""
        if self._master is None:
            return
        size = struct.pack("HHHH", height, width, 0, 0)
        fcntl.ioctl(self._master, termios.TIOCSWINSZ, size)
        if self.pid > 0:
            with contextlib.suppress(OSError):
                fd = os.open(f"/proc/{self.pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                try:
                    if os.isatty(fd):
                        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
                finally:
                    os.close(fd)

    async def wait(self) -> int:
        """The exit code, as a runtime reports it: 128 + N when killed by signal N."""
        if self._exit is None:
            code = await self._proc.wait()
            self._exit = 128 - code if code < 0 else code
            if self._proc.stdin is not None and not self._proc.stdin.is_closing():
                self._proc.stdin.close()  # nobody reads it any more; lets the transport finish
        return self._exit

    @property
    def exit_code(self) -> int | None:
        """The exit code once `wait()` has returned, else None."""
        return self._exit

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the process (no-op once it has been reaped)."""
        if self._proc.returncode is None and self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def close(self) -> None:
        """Release the pty master (done automatically when `output()` reaches EOF)."""
        self._close_master()

    def _close_master(self) -> None:
        if self._master is not None:
            os.close(self._master)
            self._master = None


def _one_cr(data: bytes) -> bytes:
    """Undo a double newline translation: runc clears ONLCR on the container's console only once the process
    runs and then translates on the relay side, so the first lines can arrive as CR CR LF (same on screen)."""
    while b"\r\r\n" in data:
        data = data.replace(b"\r\r\n", b"\r\n")
    return data


async def _ready(fd: int, *, writable: bool) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    (loop.add_writer if writable else loop.add_reader)(fd, wake)
    try:
        await future
    finally:
        (loop.remove_writer if writable else loop.remove_reader)(fd)


def open_pty(width: int, height: int) -> tuple[int, int]:
    """A (master, slave) pair: the slave raw (no echo: the container's own pty echoes; runc re-enables output
    processing on it, and does the LF -> CR LF translation there), the master non-blocking, the size set."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    return master, slave
