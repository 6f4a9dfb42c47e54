"""Reading the host's /proc: process start times, PID-namespace pids, pid records, mounts."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None if it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def status_field(pid: int, name: str) -> str | None:
    """A field of /proc/PID/status (e.g. "NSpid", "PPid"), None if the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == name:
                return value.strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def ns_pids(pid: int) -> list[int]:
    """The process's pid in each PID namespace from the host's down to its own (NSpid), [] if it is gone."""
    value = status_field(pid, "NSpid")
    return [int(p) for p in value.split()] if value else []


def parents() -> dict[int, int]:
    """pid -> parent pid of every process (this kernel has no /proc/PID/task/TID/children, so scan)."""
    found = {}
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            try:
                stat = (PROC / entry.name / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            found[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return found


def descendant_with_ns_pid(ancestor: int, level: int, ns_pid: int) -> int | None:
    """Host pid of the descendant of `ancestor` whose pid in the level-`level` PID namespace is `ns_pid`."""
    tree: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        tree.setdefault(ppid, []).append(pid)
    queue = [ancestor]
    while queue:
        for child in tree.get(queue.pop(0), []):
            pids = ns_pids(child)
            if len(pids) > level and pids[level] == ns_pid:
                return child
            queue.append(child)
    return None


@dataclass(frozen=True)
class PidRecord:
    """A process the sim started outside any container, identified by pid and start time (pid reuse safe)."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> PidRecord:
        start = start_time(pid)
        if start is None:
            raise ProcessLookupError(pid)
        return cls(pid, start)

    def alive(self) -> bool:
        return start_time(self.pid) == self.start

    def save(self, path: Path) -> None:
        path.write_text(f"{self.pid} {self.start}\n")

    @classmethod
    def load(cls, path: Path) -> PidRecord | None:
        try:
            pid, start = path.read_text().split()
        except (FileNotFoundError, ValueError):
            return None
        return cls(int(pid), int(start))

    def kill(self) -> bool:
        """SIGKILL the process if it is still the recorded one; True if a signal was sent."""
        if not self.alive():
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
            return True
        return False


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below `path` in this mount namespace, deepest first."""
    prefix = str(path.resolve()) if path.exists() else str(path)
    found = []
    for line in (PROC / "self" / "mountinfo").read_text().splitlines():
        target = _unescape(line.split()[4])
        if target == prefix or target.startswith(prefix.rstrip("/") + "/"):
            found.append(Path(target))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
