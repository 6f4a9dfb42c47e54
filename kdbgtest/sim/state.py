"""The state directory of one sim cluster, and telling a running sim from a crashed one.

Layout of `<state>/` (default /var/lib/kdbgtest/sim/NAME, a 0700 directory only root can change; a state
directory owned by someone else, or writable by others, is refused):
    cluster.json   the SimConfig, written before the daemon starts
    daemon.pid     "PID STARTTIME": the daemon process (start time guards against pid reuse)
    daemon.log     the daemon's log (and anything it printed)
    ready.json     {pid, port, server, kubeconfig}: written atomically once the API server answers
    kubeconfig     the cluster's kubeconfig (0600)
    tls/           CA, server certificate and key, bearer token (0600)
    exports.json   kubeconfig files the sim's entries were merged into (removed again on down)
    (anything else belongs to the node runtime: sandboxes, runc state, container root filesystems)

A sim is *running* when the pid in daemon.pid is alive, not a zombie, started at the recorded time and runs
the daemon module for this state directory. Leftovers without such a process are *stale* and are cleaned,
never reused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kdbgtest.base import private_dirs, waiting
from kdbgtest.base.errors import ClusterError
from kdbgtest.sim.config import SimConfig

DAEMON_MODULE = "kdbgtest.sim.daemon"
HINT = "remove it, or pass a --state-dir that only you can change"


@dataclass(frozen=True)
class Ready:
    """What the daemon publishes once it serves."""

    pid: int
    port: int
    server: str
    kubeconfig: str


class StateDir:
    """Paths inside one cluster's state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "cluster.json"
        self.pidfile = root / "daemon.pid"
        self.log = root / "daemon.log"
        self.ready = root / "ready.json"
        self.kubeconfig = root / "kubeconfig"
        self.tls = root / "tls"
        self.exports = root / "exports.json"

    def exists(self) -> bool:
        """Whether anything of this cluster is on disk (cluster.json is written before anything else)."""
        return self.config.exists()

    def check_ours(self) -> None:
        """ClusterError unless `root` is absent, an empty directory, or a sim state directory, and only we can
        change it (owned by us, not writable by others, in parents others cannot change).

        Guards every removal: a mistyped --state-dir must never make the sim delete someone else's files, or
        use files another user could have planted.
        """
        private_dirs.check(self.root, hint=HINT)
        if self.root.is_dir() and (self.config.exists() or not any(self.root.iterdir())):
            return
        if not self.root.exists() and not self.root.is_symlink():
            return
        raise ClusterError(
            f"{self.root} exists and is not a sim state directory (it has no {self.config.name}); "
            "pass another --state-dir"
        )

    def write_config(self, config: SimConfig) -> None:
        write_json(self.config, config_to_json(config))

    def read_config(self) -> SimConfig:
        return config_from_json(json.loads(self.config.read_text()))

    def write_pid(self, pid: int) -> None:
        """Record `pid` with its start time (both the launcher and the daemon itself call this)."""
        write_text(self.pidfile, f"{pid} {start_time(pid)}\n")

    def daemon_pid(self) -> int | None:
        """The pid of this state directory's live daemon, or None if there is none (dead, zombie, reused)."""
        try:
            pid_text, started = self.pidfile.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if start_time(pid) != started or not _runs_daemon(pid, self.root):
            return None
        return pid

    def read_ready(self) -> Ready | None:
        try:
            return Ready(**json.loads(self.ready.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write_ready(self, ready: Ready) -> None:
        write_json(self.ready, asdict(ready))

    def read_exports(self) -> list[dict[str, Any]]:
        try:
            exports: list[dict[str, Any]] = json.loads(self.exports.read_text())
        except (OSError, ValueError):
            return []
        return exports

    def add_export(self, path: Path, created: bool) -> None:
        exports = [e for e in self.read_exports() if e["path"] != str(path)]
        write_json(self.exports, [*exports, {"path": str(path), "created": created}])

    def log_tail(self, lines: int = 15) -> str:
        """The last `lines` lines of the daemon log (for error messages)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no daemon log)"
        return "\n".join(text.strip().splitlines()[-lines:]) or "(daemon log is empty)"


@contextlib.contextmanager
def exclusive(directory: Path, *, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `directory` (created if missing), waiting at most `timeout` seconds.

    Serialises the check-then-start of `up`, so that two starts of one cluster cannot both see it absent.
    Locking the directory itself leaves no lock file behind.
    """
    private_dirs.ensure_shared_safely(directory, hint=HINT)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        waiting.wait_for(lambda: (_try_lock(fd), None), timeout=timeout, what=f"the lock on {directory}", interval=0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot, or "" if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0], starttime fields[19]
    if fields[0] in ("Z", "X"):
        return ""
    return fields[19]


def _runs_daemon(pid: int, root: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return DAEMON_MODULE.encode() in argv and str(root).encode() in argv


def config_to_json(config: SimConfig) -> dict[str, Any]:
    data = asdict(config)
    data["state_dir"] = str(config.state_path)
    return data


def config_from_json(data: dict[str, Any]) -> SimConfig:
    data = dict(data)
    data["state_dir"] = Path(data["state_dir"]) if data.get("state_dir") else None
    return SimConfig(**data)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def write_text(path: Path, text: str) -> None:
    """Replace `path` atomically (readers see the old or the new content, never a partial one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
