"""The one subprocess wrapper: argv lists only, always a timeout, stderr kept for the error.

In a worker thread of `kdbgtest run -n N`, a cancelled run stops the program (its process group) within
`cancel.SLICE` seconds and raises the interruption. Interactive programs go through `kdbgtest.debug.session`
(pexpect) instead; code on an event loop (the sim) uses the async twin, `async_process`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import cancel
from kdbgtest.base.errors import CommandFailed, StepTimeout

log = logging.getLogger(__name__)

# How long a terminated child gets to exit before it is killed.
_TERMINATE_GRACE = 3.0


_counts = threading.local()  # each thread counts the programs it starts into its own Counter
_count_lock = threading.Lock()


@contextlib.contextmanager
def counting(into: Counter[str] | None = None) -> Iterator[Counter[str]]:
    """Within the block, every program this thread starts (here or in a terminal session) is counted by
    the name of its executable (`kubectl`), into a new Counter or `into` (a helper thread counting for the
    thread that started it, see `current_counter`)."""
    previous = getattr(_counts, "counter", None)
    _counts.counter = Counter() if into is None else into
    try:
        yield _counts.counter
    finally:
        _counts.counter = previous


def current_counter() -> Counter[str] | None:
    """The Counter this thread counts into, if it is `counting`."""
    counter: Counter[str] | None = getattr(_counts, "counter", None)
    return counter


def started(argv0: str) -> None:
    """Count a program started in this thread (see `counting`)."""
    counter = current_counter()
    if counter is not None:
        with _count_lock:  # helper threads may count into their starter's Counter
            counter[Path(argv0).name] += 1


@dataclass(frozen=True)
class Completed:
    """What a finished command printed and how it exited."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def output(self) -> str:
        """Stdout followed by stderr, as a person would read them in a terminal."""
        if self.stdout and self.stderr and not self.stdout.endswith("\n"):
            return self.stdout + "\n" + self.stderr
        return self.stdout + self.stderr


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> Completed:
    """Run `argv` to completion within `timeout` seconds.

    `env` entries are added to the current environment. On timeout the process group is terminated, then
    killed, and `StepTimeout` says what the command had printed so far. With `check`, a non-zero exit raises
    `CommandFailed` carrying the return code and stderr.
    """
    import time

    args = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(args))
    full_env = {**os.environ, **env} if env else None
    started(args[0])
    begun = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
        args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = _communicate(proc, stdin, timeout)
    except subprocess.TimeoutExpired:
        out, err = _stop(proc)
        raise StepTimeout(timeout_message(args, timeout, out, err)) from None
    except BaseException:
        _stop(proc)
        raise
    done = Completed(args, proc.returncode, out, err, time.monotonic() - begun)
    if check and done.returncode != 0:
        raise CommandFailed(args, done.returncode, out, err)
    return done


def _communicate(proc: subprocess.Popen[str], stdin: str | None, timeout: float) -> tuple[str, str]:
    """`proc.communicate` within `timeout`; in a cancellable scope (`cancel`), in slices with a look at the
    run's cancellation between them (nothing is lost between slices)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        cancel.check()
        left = deadline - time.monotonic()
        try:
            return proc.communicate(stdin, timeout=max(cancel.slice_of(left), 0.0))
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
            stdin = None  # already handed over by the first call


def timeout_message(argv: Sequence[str], timeout: float, stdout: str, stderr: str) -> str:
    """What a command that ran past its deadline is reported as: its argv and its last lines of output."""
    seen = (stderr or stdout or "").strip().splitlines()[-5:]
    return f"`{shlex.join(argv)}` did not finish within {timeout:g}s; last output: " + (
        " | ".join(seen) if seen else "(nothing)"
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Terminate the child's whole process group, then kill it if it lingers; return what it printed."""
    for sig, grace in ((signal.SIGTERM, _TERMINATE_GRACE), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            out, err = proc.communicate(timeout=grace)
            return out or "", err or ""
        except subprocess.TimeoutExpired:
            continue
    return "", ""
