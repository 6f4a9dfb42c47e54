"""Node views: where runc runs for the containers of a sim node.

runc must run inside the node's PID namespace (so that containers nest in it) *and* see a /proc of that
namespace (it records pids and checks them in /proc). A view is a mount namespace, held by a `sleep` process
in the host's PID namespace (nothing inside the node can find it), whose root is a small directory tree:
/usr and the /lib, /bin, /sbin links (read-only), a few /dev nodes, a sysfs with the host's /sys/fs/cgroup,
the node's /proc, and the directories runc works in (`visible`: the runc root, the nodes' directories, image
caches), bound at their host paths below world-searchable parents (a node's root, unprivileged on the host,
must walk down to its rootfs and bind mounts whatever the modes of the real parents). So the runc processes a
hostPID pod sees in the node do not lead to the real host's root. Node containers themselves are started from
a view of the host's PID namespace (`Runc.host`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from pathlib import Path

from kdbgtest.base import async_process, tools
from kdbgtest.sim.node import procfs

COMMAND_TIMEOUT = 20.0
RECORD_SUFFIX = ".pidrec"  # pid records of view holders (killed by cleanup)
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_NS_PATH = re.compile(r"^/proc/(\d+)/ns/(\w+)$")
_POLL = 0.002


class ViewError(Exception):
    """A node view could not be set up (message: what failed, with the tool's error)."""


class View:
    """One node's view (see module docstring)."""

    def __init__(self, pid_parent: int, holder: async_process.Process, record: Path, skeleton: Path) -> None:
        self.pid_parent = pid_parent
        self.holder = holder
        self.record = record
        self.skeleton = skeleton
        self.level = len(procfs.ns_pids(pid_parent)) - 1

    def prefix(self, nsenter: str) -> list[str]:
        """The argv prefix that runs a program in the view (mount namespace) and the node's PID namespace."""
        return [
            nsenter,
            f"--mount=/proc/{self.holder.pid}/ns/mnt",
            f"--pid=/proc/{self.pid_parent}/ns/pid",
            "--",
        ]

    def translate(self, path: str) -> str:
        """`/proc/HOSTPID/ns/X` -> the same namespace as the view's /proc names it."""
        match = _NS_PATH.match(path)
        if match is None:
            return path
        pids = procfs.ns_pids(int(match[1]))
        if len(pids) <= self.level:
            raise ValueError(f"process {match[1]} is not inside the node's PID namespace; cannot join {path}")
        return f"/proc/{pids[self.level]}/ns/{match[2]}"

    def has_pid(self, ns_pid: int) -> bool:
        """Whether the node's /proc still lists `ns_pid`."""
        return Path(f"/proc/{self.holder.pid}/root/proc/{ns_pid}").exists()

    async def run(self, argv: list[str], *, node_pid_ns: bool = False) -> str | None:
        """Run `argv` (a busybox applet, arguments) in the view; None if it succeeded, else the error."""
        if self.holder.returncode is not None:
            return "the view is gone"
        nsenter, busybox = str(tools.require("nsenter")), str(tools.require("busybox"))
        prefix = self.prefix(nsenter) if node_pid_ns else [nsenter, f"--mount=/proc/{self.holder.pid}/ns/mnt", "--"]
        done = await async_process.run([*prefix, busybox, *argv], timeout=COMMAND_TIMEOUT, check=False)
        return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")

    async def close(self) -> None:
        """Kill the holder (the namespace goes once runc's processes are gone too) and remove the skeleton."""
        if self.holder.returncode is None:
            await async_process.stop(self.holder, grace=0)
        self.record.unlink(missing_ok=True)
        shutil.rmtree(self.skeleton, ignore_errors=True)


async def make(pid_parent: int, workdir: Path, visible: list[Path]) -> View:
    """Create the view of the node whose init is `pid_parent`, recording its holder in `workdir`."""
    busybox, unshare = str(tools.require("busybox")), str(tools.require("unshare"))
    devnull = async_process.DEVNULL
    holder = await async_process.spawn(
        [unshare, "--mount", "--propagation", "slave", "--", busybox, "sleep", "2147483647"],
        stdin=devnull, stdout=devnull, stderr=devnull,
    )  # fmt: skip
    skeleton = workdir / f"view-{pid_parent}"
    view = View(pid_parent, holder, workdir / f"view-{pid_parent}{RECORD_SUFFIX}", skeleton)
    try:
        await until_exec(holder.pid, busybox)
        procfs.PidRecord.of(holder.pid).save(view.record)
        for argv, node_ns in _setup_commands(skeleton, visible):
            error = await view.run(argv, node_pid_ns=node_ns)
            if error is not None:
                raise ViewError(f"cannot set up the node's runtime view ({' '.join(argv)}): {error}")
    except BaseException:
        await view.close()
        raise
    return view


def _setup_commands(skeleton: Path, visible: list[Path]) -> list[tuple[list[str], bool]]:
    """Build the skeleton on the host; the mount commands that turn it into the view's root."""
    shutil.rmtree(skeleton, ignore_errors=True)
    skeleton.mkdir(mode=0o755)
    skeleton.chmod(0o755)
    for name in ("proc", "tmp", "run", "etc", "dev", "sys/fs/cgroup", ".old"):
        (skeleton / name).mkdir(parents=True, exist_ok=True)
    root = str(skeleton)
    commands: list[tuple[list[str], bool]] = [(["mount", "--bind", root, root], False)]
    read_only = []
    for name in SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            (skeleton / name).symlink_to(host.readlink())
        elif host.is_dir():
            (skeleton / name).mkdir()
            commands.append((["mount", "--rbind", str(host), f"{root}/{name}"], False))
            read_only.append((["mount", "-o", "remount,bind,ro", f"{root}/{name}"], False))
    for name in DEVICES:
        (skeleton / "dev" / name).touch()
        commands.append((["mount", "--bind", f"/dev/{name}", f"{root}/dev/{name}"], False))
    # A sysfs for runc to manage cgroups in, and so that a container in a node's user namespace may mount one
    # (the kernel lets it mount only what its mount namespace already shows in full).
    commands.append((["mount", "-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", f"{root}/sys"], False))
    commands.append((["mount", "--rbind", "/sys/fs/cgroup", f"{root}/sys/fs/cgroup"], False))
    for path in _outermost(visible):
        _searchable_dirs(skeleton, path.relative_to("/"))
        commands.append((["mount", "--bind", str(path), f"{root}{path}"], False))
    commands += read_only
    commands += [
        (["pivot_root", root, f"{root}/.old"], False),
        (["umount", "-l", "/.old"], False),
        (["mount", "-t", "proc", "proc", "/proc"], True),  # mounted from inside the node's PID namespace
    ]
    return commands


def _searchable_dirs(skeleton: Path, relative: Path) -> None:
    """mkdir -p `skeleton/relative`, mode 0755 (whatever the umask): a node's root, unprivileged on the host,
    must be able to walk down to the directories runc gives it (its rootfs, its bind mounts)."""
    current = skeleton
    for part in relative.parts:
        current = current / part
        if not current.exists():
            current.mkdir()
            current.chmod(0o755)


def _outermost(paths: list[Path]) -> list[Path]:
    """Resolved `paths`, without those inside another one (or inside the system directories)."""
    resolved = sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in resolved:
        if path == Path("/") or path.parts[1] in SYSTEM_DIRS:
            continue
        if not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept


async def until_exec(pid: int, executable: str) -> None:
    """Wait until `pid` has exec'd `executable` (so `unshare` has finished setting up its namespace)."""
    for _ in range(int(5 / _POLL)):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/exe").readlink() == Path(executable).resolve():
                return
        await asyncio.sleep(_POLL)
    raise ViewError(f"the view holder {pid} did not start")
