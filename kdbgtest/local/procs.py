"""The component processes: started detached (own session, output to a log file), recorded with their start
time so that a recycled pid is never taken for ours, and stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import waiting
from kdbgtest.base.errors import ClusterError, StepTimeout

STOP_GRACE = 10.0
# Components started by this process: kept so that a running child's Popen is never garbage-collected (Python
# warns about that) and so that `stop` reaps it. A component started by another `kdbgtest` process is not here.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Running:
    """A started component: its name, pid and start time (clock ticks since boot)."""

    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        return start_time(self.pid) == self.started

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "pid": self.pid, "started": self.started}

    @staticmethod
    def from_json(data: dict[str, object]) -> Running:
        return Running(str(data["name"]), int(str(data["pid"])), str(data["started"]))


def start(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Running:
    """Start `argv` in its own session with stdout and stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"--- kdbgtest local: starting {shlex.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    _CHILDREN[proc.pid] = proc
    started = start_time(proc.pid)
    if not started:
        raise ClusterError(f"{name} exited at once; see {log}")
    return Running(name, proc.pid, started)


def stop(component: Running, grace: float = STOP_GRACE) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds; True if it had to be killed."""
    for sig, timeout in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if not component.alive():
            _reap(component.pid)
            return sig == signal.SIGKILL
        with contextlib.suppress(ProcessLookupError):
            os.kill(component.pid, sig)
        with contextlib.suppress(StepTimeout):
            waiting.wait_for(
                lambda: (not component.alive(), component.pid),
                timeout=timeout,
                what=f"{component.name} (pid {component.pid}) to exit after {sig.name}",
                interval=0.1,
            )
            _reap(component.pid)
            return sig == signal.SIGKILL
    raise ClusterError(f"{component.name} (pid {component.pid}) survived SIGKILL; check `ps -p {component.pid}`")


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=5)  # sets returncode even when the exit status was collected elsewhere
        except subprocess.TimeoutExpired:
            _CHILDREN[pid] = child  # still exiting: keep it for the next look
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot, or "" if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        _reap(pid)
        return ""
    return fields[19]


def log_tail(log: Path, lines: int = 12) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(log is empty)"
