"""Where the sim's cgroups are on this host: cgroup v1 (one hierarchy per controller) or cgroup v2 (one tree).

runc creates a container's cgroup at `cgroupsPath` (`/kdbgtest-sim/<root hash>/<container id>`) in whichever
layout the host has; the sim itself only needs to find those directories again (to list their processes, and
to remove them after a crash). `detect` tells the layouts apart by their shape, so a test can hand it a
synthetic tree:

- v1 (this project's own machine; also "hybrid" hosts with a cgroup2 mount at `unified`): the root is a
  tmpfs of hierarchy directories (`cpu`, `memory`, `pids`, ..., `unified`), each with its own
  `cgroup.procs`; a cgroup path exists once per hierarchy;
- v2 (GitHub's Ubuntu runners, Debian 11+ and Ubuntu 21.10+ with systemd defaults): the root is the one
  hierarchy, with `cgroup.controllers` at its top; a cgroup path exists once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CGROUP_FS = Path("/sys/fs/cgroup")


class Layout(Protocol):
    """One host's cgroup layout."""

    @property
    def name(self) -> str:
        """ "v1" or "v2"."""
        ...

    @property
    def root(self) -> Path:
        """Where the cgroup file system is mounted (/sys/fs/cgroup)."""
        ...

    def dirs(self, path: str) -> list[Path]:
        """The directories of cgroup `path` (e.g. `/kdbgtest-sim/0a1b`) in every hierarchy, existing or not."""
        ...


@dataclass(frozen=True)
class V1:
    """cgroup v1: one hierarchy per controller (or controller group), each mounted below `root`."""

    root: Path
    hierarchies: tuple[Path, ...]
    name: str = "v1"

    def dirs(self, path: str) -> list[Path]:
        return [hierarchy / path.lstrip("/") for hierarchy in self.hierarchies]


@dataclass(frozen=True)
class V2:
    """cgroup v2: the unified hierarchy is `root` itself."""

    root: Path
    name: str = "v2"

    def dirs(self, path: str) -> list[Path]:
        return [self.root / path.lstrip("/")]


def detect(root: Path = CGROUP_FS) -> Layout:
    """The layout of the cgroup file system at `root` (v1 with no hierarchy if nothing is mounted there)."""
    if (root / "cgroup.controllers").is_file():
        return V2(root)
    return V1(root, _hierarchies(root))


def _hierarchies(root: Path) -> tuple[Path, ...]:
    """The hierarchy directories below a v1 root, once each (`cpu` and `cpuacct` may both link to
    `cpu,cpuacct`)."""
    found: dict[Path, Path] = {}
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return ()
    for entry in entries:
        if entry.is_dir() and (entry / "cgroup.procs").exists():
            found.setdefault(entry.resolve(), entry)
    return tuple(found.values())
