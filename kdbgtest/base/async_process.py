"""The async twin of `process`, for code on an event loop (the sim): argv lists only, always a deadline.

`run` runs a command to completion. Past its deadline, or if the caller is cancelled, the child's whole process
group gets SIGTERM, then SIGKILL after a grace period, and `ProcessTimeout` names the argv and what the command
printed last. `spawn` starts a long-lived child (a namespace holder, a container's runtime) in a session of its
own; `stop` ends it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
from collections.abc import Sequence
from typing import IO, Any

from kdbgtest.base.errors import CommandFailed, StepTimeout
from kdbgtest.base.process import Completed, timeout_message

log = logging.getLogger(__name__)

PIPE, DEVNULL, STDOUT = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL, asyncio.subprocess.STDOUT
Process = asyncio.subprocess.Process
Stdio = int | IO[Any] | None

TERMINATE_GRACE = 3.0  # seconds a terminated child gets to exit before its group is killed
KILL_WAIT = 5.0  # seconds a killed child gets to be reaped (and its pipes to close)


class ProcessTimeout(StepTimeout, TimeoutError):
    """A command ran past its deadline; also a `TimeoutError`, which `asyncio.wait_for` raised before."""


async def spawn(
    argv: Sequence[str], *, stdin: Stdio, stdout: Stdio, stderr: Stdio, new_session: bool = True
) -> Process:
    """Start `argv` (no shell), in a session and process group of its own unless `new_session` is False
    (for a child that makes its own, as `setsid --ctty` does)."""
    args = [str(a) for a in argv]
    log.debug("spawn: %s", shlex.join(args))
    return await asyncio.create_subprocess_exec(
        *args, stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=new_session
    )


async def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    stdin: bytes | None = None,
    merge_stderr: bool = False,
    grace: float = TERMINATE_GRACE,
) -> Completed:
    """Run `argv` to completion within `timeout` seconds; its output decoded (undecodable bytes replaced).

    `stdin` is written to the child, which otherwise reads /dev/null; `merge_stderr` sends stderr to stdout,
    interleaved as written. With `check`, a non-zero exit raises `CommandFailed`.
    """
    args = [str(a) for a in argv]
    loop = asyncio.get_running_loop()
    started = loop.time()
    proc = await spawn(args, stdin=DEVNULL if stdin is None else PIPE, stdout=PIPE,
                       stderr=STDOUT if merge_stderr else PIPE)  # fmt: skip
    out, err = bytearray(), bytearray()
    tasks: set[asyncio.Future[Any]] = {asyncio.ensure_future(proc.wait())}
    for stream, into in ((proc.stdout, out), (proc.stderr, err)):  # _read(None) ends at once
        tasks.add(asyncio.ensure_future(_read(stream, into)))
    if stdin is not None:
        tasks.add(asyncio.ensure_future(_feed(proc, stdin)))
    try:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
    except BaseException:  # cancelled: nothing of it stays running either
        await _end(proc, tasks, grace)
        raise
    if pending:  # the child, or a process of its group holding its pipes, still runs
        await _end(proc, pending, grace)
        raise ProcessTimeout(timeout_message(args, timeout, _text(out), _text(err)))
    assert proc.returncode is not None
    done = Completed(args, proc.returncode, _text(out), _text(err), loop.time() - started)
    if check and done.returncode != 0:
        raise CommandFailed(args, done.returncode, done.stdout, done.stderr)
    return done


async def stop(proc: Process, grace: float = TERMINATE_GRACE) -> None:
    """SIGTERM the child's process group (none with `grace` 0), SIGKILL it after `grace` seconds, reap the
    child (waiting at most KILL_WAIT). A group member that outlives the child is killed too."""
    try:
        if grace > 0 and proc.returncode is None:
            _signal(proc, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
    finally:
        _signal(proc, signal.SIGKILL)  # also if that wait was cancelled: nothing is left running
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), KILL_WAIT)


async def _end(proc: Process, tasks: set[asyncio.Future[Any]], grace: float) -> None:
    """Stop the child's group, then read what it printed until its pipes close (so its transport closes too)."""
    try:
        await stop(proc, grace)
        await asyncio.wait(tasks, timeout=KILL_WAIT)
    finally:
        for task in tasks:
            task.cancel()


def _signal(proc: Process, sig: int) -> None:
    """`sig` to the child's process group, or to the child alone if it leads none."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)


async def _read(stream: asyncio.StreamReader | None, into: bytearray) -> None:
    while stream is not None and (chunk := await stream.read(65536)):
        into += chunk


async def _feed(proc: Process, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


def _text(data: bytearray) -> str:
    return data.decode(errors="replace")
