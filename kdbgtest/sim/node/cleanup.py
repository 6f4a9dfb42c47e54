"""Tearing down everything the sim made under a state directory, even after `kill -9` of the sim daemon.

What the sim leaves while running, and how it is found without the daemon's memory:
- runc containers: `<root>/<id>/state.json` in every runc root (a root is marked by runc.CGROUP_MARKER, which
  names its cgroup parent); their processes are in the container cgroups, whatever PID namespace they are in;
- view holders (runc.py): pid records `*.pidrec` (pid + start time, so a reused pid is never killed);
- mounts: overlays and the node's shared bind mount, all below the state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.sim.node import cgroups, mounts, procfs, runc, views

KILL_TIMEOUT = 10.0
_PRUNE = ("merged", "root", "upper")  # container and node root filesystems: nothing of ours inside


def remove_all(state_dir: Path, layout: cgroups.Layout | None = None) -> list[str]:
    """Kill and delete every container, kill helpers, unmount everything and remove `state_dir`.

    Idempotent. Returns one line per thing removed. `layout`: the host's cgroups (default: detected).
    """
    done: list[str] = []
    if not state_dir.exists():
        return done
    layout = layout or cgroups.detect()
    roots = _runc_roots(state_dir)
    done += _kill_processes(state_dir, roots, layout)
    for root in roots:
        done += _delete_containers(root)
        done += _remove_cgroups(root, layout)
    done += _unmount_all(state_dir)
    if procfs.mounts_under(state_dir):
        done.append(f"kept {state_dir}: mounts remain below it")
        return done
    shutil.rmtree(state_dir, ignore_errors=True)
    done.append(f"removed {state_dir}")
    return done


def _unmount_all(state_dir: Path) -> list[str]:
    """Unmount below `state_dir`, deepest first, repeating for mounts stacked on the same point."""
    done = []
    for _ in range(100):
        found = procfs.mounts_under(state_dir)
        if not found:
            break
        for mount in found:
            try:
                mounts.umount(mount)
            except OSError:
                mounts.umount(mount, lazy=True)
            done.append(f"unmounted {mount}")
    return done


def leaks(state_dir: Path, *, removed: bool = False, layout: cgroups.Layout | None = None) -> list[str]:
    """What is left: processes, mounts, runc containers, cgroups, bundles; with `removed`, the directory."""
    found: list[str] = []
    if not state_dir.exists():
        return found
    layout = layout or cgroups.detect()
    roots = _runc_roots(state_dir)
    found += [f"process {pid} ({_comm(pid)}) is still running" for pid in _live_pids(state_dir, roots, layout)]
    found += [f"mount {m} is still mounted" for m in procfs.mounts_under(state_dir)]
    for root in roots:
        found += [f"runc container {c.name} still exists in {root}" for c in _containers(root)]
        found += [f"cgroup {d} still exists" for d in container_cgroups(root, layout)]
    found += [f"bundle {b.parent} was not removed" for b in _walk(state_dir, "config.json")]
    if removed:
        found.append(f"directory {state_dir} still exists")
    return found


def _walk(top: Path, name: str) -> Iterator[Path]:
    """Files called `name` below `top`, not descending into mount points or container root filesystems."""
    for current, dirs, files in os.walk(top):
        if name in files:
            yield Path(current) / name
        dirs[:] = [d for d in dirs if d not in _PRUNE and not os.path.ismount(Path(current, d))]


def _runc_roots(state_dir: Path) -> list[Path]:
    return [marker.parent for marker in _walk(state_dir, runc.CGROUP_MARKER)]


def _containers(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/state.json"))


def _cgroup_parent(root: Path) -> str:
    return (root / runc.CGROUP_MARKER).read_text().strip()


def container_cgroups(root: Path, layout: cgroups.Layout) -> list[Path]:
    """Leaf cgroup directories of the containers of runc root `root`, in every hierarchy."""
    found = []
    for base in layout.dirs(_cgroup_parent(root)):
        if base.is_dir():
            found += sorted(p for p in base.iterdir() if p.is_dir())
    return found


def _pid_records(state_dir: Path) -> list[tuple[Path, procfs.PidRecord]]:
    records = []
    for current, _, files in os.walk(state_dir):
        for name in files:
            if name.endswith(views.RECORD_SUFFIX):
                record = procfs.PidRecord.load(Path(current) / name)
                if record is not None:
                    records.append((Path(current) / name, record))
    return records


def _live_pids(state_dir: Path, roots: list[Path], layout: cgroups.Layout) -> set[int]:
    """Processes in the containers' cgroups, live view holders, and anything rooted below `state_dir`."""
    pids: set[int] = set()
    for root in roots:
        for cgroup in container_cgroups(root, layout):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (cgroup / "cgroup.procs").read_text().split())
    pids.update(record.pid for _, record in _pid_records(state_dir) if record.alive())
    prefix = str(state_dir.resolve()) + "/"
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (str(Path(f"/proc/{entry.name}/root").readlink()) + "/").startswith(prefix):
                    pids.add(int(entry.name))
    pids.discard(os.getpid())
    return pids


def _kill_processes(state_dir: Path, roots: list[Path], layout: cgroups.Layout) -> list[str]:
    done = []
    for pid in sorted(_live_pids(state_dir, roots, layout)):
        name = _comm(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            done.append(f"killed process {pid} ({name})")
    for path, _ in _pid_records(state_dir):
        path.unlink(missing_ok=True)
    try:
        waiting.wait_for(
            lambda: (not (left := _live_pids(state_dir, roots, layout)), left),
            timeout=KILL_TIMEOUT,
            what="the sim's processes to exit after SIGKILL",
            interval=0.05,
        )
    except StepTimeout as exc:
        done.append(str(exc))
    return done


def _delete_containers(root: Path) -> list[str]:
    done = []
    binary = shutil.which("runc")
    for container in _containers(root):
        if binary is not None:
            argv = [str(tools.require("runc")), "--root", str(root), "delete", "--force", container.name]
            process.run(argv, timeout=runc.COMMAND_TIMEOUT, check=False)
        _remove_state(container)
        done.append(f"deleted runc container {container.name}")
    return done


def _remove_state(container: Path) -> None:
    """What `runc delete` leaves when it cannot run: the state directory and the container's cgroups."""
    if not container.exists():
        return
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((container / "state.json").read_text())
        for path in (state.get("cgroup_paths") or {}).values():
            with contextlib.suppress(OSError):
                Path(path).rmdir()
    shutil.rmtree(container, ignore_errors=True)


def _remove_cgroups(root: Path, layout: cgroups.Layout) -> list[str]:
    done = []
    for base in layout.dirs(_cgroup_parent(root)):
        if not base.is_dir():
            continue
        for leaf in sorted(base.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if leaf.is_dir():
                with contextlib.suppress(OSError):
                    leaf.rmdir()
                    done.append(f"removed cgroup {leaf}")
        for directory in (base, base.parent):
            with contextlib.suppress(OSError):
                directory.rmdir()
    return done


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "gone"
