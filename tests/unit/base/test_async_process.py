"""`async_process.run` with real processes: output, exit codes, and what is left after a deadline or a cancel."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from kdbgtest.base import async_process
from kdbgtest.base.errors import CommandFailed, StepTimeout

# Ignores SIGTERM (so do the processes it starts: an ignored signal stays ignored across exec), prints its
# pid and process group, starts a grandchild in its group and waits.
STUBBORN = (
    "import os, signal, subprocess, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "subprocess.Popen(['sleep', '60'])\n"
    "print('stubborn', os.getpid(), os.getpgid(0), flush=True)\n"
    "time.sleep(60)\n"
)


def _live_in_group(pgid: int) -> list[int]:
    """Pids of processes in group `pgid` that are not zombies (an orphan's zombie waits for init to reap it)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_output_exit_code_and_stdin() -> None:
    script = "import sys; data = sys.stdin.read(); print(data.upper()); print('warn', file=sys.stderr); sys.exit(3)"
    done = asyncio.run(async_process.run([sys.executable, "-c", script], timeout=30, check=False, stdin=b"abc"))
    assert (done.returncode, done.stdout, done.stderr) == (3, "ABC\n", "warn\n")


def test_merged_stderr_keeps_the_order_written() -> None:
    script = "import sys\nfor i in range(3):\n    print(i, flush=True); print('e', i, file=sys.stderr, flush=True)"
    done = asyncio.run(async_process.run([sys.executable, "-c", script], timeout=30, merge_stderr=True))
    assert done.stdout == "0\ne 0\n1\ne 1\n2\ne 2\n" and done.stderr == ""


def test_a_failure_is_checked() -> None:
    with pytest.raises(CommandFailed, match=r"`sh -c 'echo oops >&2; exit 2'` exited with 2: oops"):
        asyncio.run(async_process.run(["sh", "-c", "echo oops >&2; exit 2"], timeout=30))


def test_a_child_that_ignores_sigterm_is_killed_with_its_group() -> None:
    argv = [sys.executable, "-c", STUBBORN]
    started = time.monotonic()
    with pytest.raises(StepTimeout) as caught:
        # 4 s: the child must have started and printed its line first (Python takes a second on a busy machine)
        asyncio.run(async_process.run(argv, timeout=4.0, grace=0.5))
    elapsed = time.monotonic() - started
    assert isinstance(caught.value, TimeoutError)  # as `asyncio.wait_for` raised before
    message = str(caught.value)
    assert message.startswith(f"`{sys.executable} -c ") and "did not finish within 4s" in message
    last = message.rsplit("last output: ", 1)[1]
    assert last.startswith("stubborn "), message
    pid, pgid = (int(n) for n in last.split()[1:3])
    assert pid == pgid  # it led its own group
    assert elapsed < 4.0 + 0.5 + 3, f"took {elapsed:.1f}s"
    assert _live_in_group(pgid) == []


def test_a_cancelled_run_leaves_nothing_running() -> None:
    async def scenario() -> int:
        task = asyncio.ensure_future(async_process.run(["sh", "-c", "echo $$; exec sleep 60"], timeout=60))
        await asyncio.sleep(0.5)
        pgid = _group_of_sleep()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pgid

    pgid = asyncio.run(scenario())
    assert _live_in_group(pgid) == []


def _group_of_sleep() -> int:
    """The process group of the `sleep 60` this test's run started (a child of this process)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        if comm == "sleep" and int(fields[1]) == os.getpid():
            return int(fields[2])
    raise AssertionError("the child `sleep 60` was not found")


def test_stop_kills_a_spawned_holder() -> None:
    async def scenario() -> tuple[int, int | None]:
        proc = await async_process.spawn(["sleep", "60"], stdin=async_process.DEVNULL,
                                         stdout=async_process.DEVNULL, stderr=async_process.DEVNULL)  # fmt: skip
        await async_process.stop(proc, grace=0)
        return proc.pid, proc.returncode

    pid, code = asyncio.run(scenario())
    assert code == -9 and _live_in_group(pid) == []
