"""What a local cluster changes on the host, recorded before it changes it, and undone by `down`.

- sysctls: the kubelet sets vm.overcommit_memory, vm.panic_on_oom, kernel.panic, kernel.panic_on_oops and
  kernel.keys.root_max*; the CNI bridge turns on net.ipv4.ip_forward. Their values are saved first and restored.
- cgroups: `/kdbgtest-local` in every mounted hierarchy (cpuset.cpus/mems copied so processes may join it); pod
  cgroups live below it; `down` kills whatever is left in it and removes it depth first.
- network: the bridge `kdbgtest0`, and one iptables rule that drops anything pods send beyond the bridge
  (pods have no default route either); both removed by `down`, with any iptables chain the kubelet added.
- mounts: container root filesystems, pod volumes and network namespaces, all under the state directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
from pathlib import Path

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.errors import ClusterError, StepTimeout
from kdbgtest.local import layout as paths

SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/forwarding",
    "net/ipv4/conf/default/forwarding",
    "fs/inotify/max_user_instances",
)
CGROUP_MOUNTS = Path("/sys/fs/cgroup")
_RULE = [
    "FORWARD",
    "-i",
    paths.BRIDGE,
    "!",
    "-o",
    paths.BRIDGE,
    "-m",
    "comment",
    "--comment",
    "kdbgtest-local: pods may not reach beyond their bridge",
    "-j",
    "DROP",
]
_MNT_DETACH = 2


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def detect_node() -> paths.Node:
    """This host as a node; a one-line error when its hostname or address cannot serve (the kubelet refuses a
    loopback node IP, and a node name must be a DNS subdomain)."""
    name = socket.gethostname().lower()
    if not _DNS_SUBDOMAIN.match(name) or len(name) > 253:
        raise ClusterError(f"this host's name {name!r} is not a valid Kubernetes node name; set a DNS-style hostname")
    ip_tool = str(tools.require("ip"))
    route = process.run([ip_tool, "-4", "-o", "route", "show", "default"], timeout=10, check=False).stdout.split()
    device = route[route.index("dev") + 1] if "dev" in route else ""
    shown = (
        process.run([ip_tool, "-4", "-o", "addr", "show", "dev", device], timeout=10, check=False) if device else None
    )
    words = shown.stdout.split() if shown else []
    ip = words[words.index("inet") + 1].split("/")[0] if "inet" in words else ""
    if not ip:
        raise ClusterError(
            "the local cluster needs an IPv4 default route for its node address (the kubelet refuses loopback); "
            "this host has none"
        )
    return paths.Node(name, ip)


def snapshot() -> dict[str, object]:
    """What `restore` needs: sysctl values, the iptables chains that already exist, whether /run/containerd did."""
    return {
        "sysctls": {key: _read_sysctl(key) for key in SYSCTLS},
        "iptables_chains": sorted(_iptables_chains()),
        "run_containerd_existed": Path("/run/containerd").exists(),
    }


def prepare() -> None:
    """Create the cgroup root and the egress rule (the bridge itself is made by the CNI plugin)."""
    for hierarchy in cgroup_hierarchies():
        target = hierarchy / paths.CGROUP_ROOT
        target.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (hierarchy / name).is_file():
                (target / name).write_text((hierarchy / name).read_text())
    _write_sysctl("fs/inotify/max_user_instances", "512", only_if_lower=True)
    if not _iptables("-C", *_RULE, check=False):
        _iptables("-I", *_RULE)


def restore(saved: dict[str, object], state_root: Path, bin_dir: Path | None) -> list[str]:
    """Undo everything, whatever state a crash left; return what had to be removed (for the report)."""
    removed: list[str] = []
    removed += _kill_cgroup_members()
    removed += _kill_strays(state_root, bin_dir)
    removed += unmount_below(state_root)
    removed += _remove_cgroups()
    if Path(f"/sys/class/net/{paths.BRIDGE}").exists():
        process.run([str(tools.require("ip")), "link", "del", paths.BRIDGE], timeout=30, check=False)
        removed.append(f"bridge {paths.BRIDGE}")
    chains = saved.get("iptables_chains")
    removed += _restore_iptables({str(c) for c in chains} if isinstance(chains, list) else set())
    sysctls = saved.get("sysctls")
    for key, value in sysctls.items() if isinstance(sysctls, dict) else ():
        if value is not None and _read_sysctl(key) != value:
            _write_sysctl(key, str(value))
            removed.append(f"sysctl {key.replace('/', '.')} restored to {value}")
    if not saved.get("run_containerd_existed", True):
        removed += _remove_tree(Path("/run/containerd"))
    return removed


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy (v1 controllers, named ones, and a v2 unified mount)."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2") and fields[1].startswith(str(CGROUP_MOUNTS)):
            found.append(Path(fields[1]))
    return sorted(set(found))


def cgroup_members() -> list[int]:
    """Pids of every process in any cgroup below the cluster's cgroup root."""
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies():
        for procs in (hierarchy / paths.CGROUP_ROOT).rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in procs.read_text().split())
    return sorted(pids)


def mounts_below(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest (latest) first."""
    prefix = str(root).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix) or point == str(root):
            found.append(Path(point))
    return list(reversed(found))


def unmount_below(root: Path) -> list[str]:
    removed = []
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(5):  # a detached mount can reveal one mounted beneath it
        points = mounts_below(root)
        if not points:
            break
        for point in points:
            if libc.umount2(str(point).encode(), _MNT_DETACH) == 0:
                removed.append(f"mount {point}")
    return removed


def footprint(state_parent: Path, bin_dir: Path) -> dict[str, object]:
    """Everything of a local cluster that could outlive it on this host (equal before `up` and after `down`)."""
    cgroups = [str(h / paths.CGROUP_ROOT) for h in cgroup_hierarchies() if (h / paths.CGROUP_ROOT).exists()]
    return {
        "processes": sorted(f"{pid} {_comm(pid)}" for pid in stray_pids(state_parent, bin_dir)),
        "mounts": [str(m) for m in mounts_below(state_parent)],
        "cgroups": cgroups,
        "bridge": Path(f"/sys/class/net/{paths.BRIDGE}").exists(),
        "egress rule": _iptables("-C", *_RULE, check=False),
        "iptables chains": sorted(_iptables_chains()),
        "sysctls": {key: _read_sysctl(key) for key in SYSCTLS},
        "state dirs": sorted(p.name for p in state_parent.iterdir()) if state_parent.is_dir() else [],
        "/run/containerd": Path("/run/containerd").exists(),
    }


def _kill_cgroup_members() -> list[str]:
    removed = []
    for _ in range(20):
        members = cgroup_members()
        if not members:
            break
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            removed.append(f"process {pid} in cgroup /{paths.CGROUP_ROOT}")
        with contextlib.suppress(StepTimeout):
            waiting.wait_for(
                lambda: (not cgroup_members(), cgroup_members()),
                timeout=5,
                what=f"processes in /{paths.CGROUP_ROOT} to die",
            )
    return removed


def _kill_strays(state_root: Path, bin_dir: Path | None) -> list[str]:
    """containerd shims (and any component) outlive their parent: kill processes running our binaries."""
    removed = []
    for pid in stray_pids(state_root, bin_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            removed.append(f"process {pid} ({_comm(pid)})")
    return removed


def stray_pids(state: Path, binaries: Path | None) -> list[int]:
    """Processes of a cluster: running a binary from `binaries`, or naming `state` on their command line.

    A command line that names `binaries` is not enough: `go build -o <binaries>/kubelet` is a build, not a
    component (the leak check once counted one, and teardown would have killed it).
    """
    exe_mark = str(binaries) + "/" if binaries else None
    cmd_mark = str(state)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            exe = str((entry / "exe").readlink())
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if (exe_mark and exe.startswith(exe_mark)) or exe.startswith(cmd_mark + "/") or cmd_mark in cmdline:
            found.append(int(entry.name))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _remove_cgroups() -> list[str]:
    removed = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / paths.CGROUP_ROOT
        if not top.is_dir():
            continue
        for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
            removed.append(f"cgroup {top}")
    return removed


def _restore_iptables(chains_before: set[str]) -> list[str]:
    removed = []
    while _iptables("-C", *_RULE, check=False):
        _iptables("-D", *_RULE)
        removed.append("iptables egress rule")
    for added in sorted(_iptables_chains() - chains_before):
        table, chain = added.split(":", 1)
        _iptables("-t", table, "-F", chain, check=False)
        _iptables("-t", table, "-X", chain, check=False)
        removed.append(f"iptables chain {table}/{chain}")
    return removed


def _iptables_chains() -> set[str]:
    """`table:chain` of every user-defined chain, from iptables-save."""
    save = shutil.which("iptables-save")
    if save is None:
        return set()
    text = process.run([save], timeout=30, check=False).stdout
    chains: set[str] = set()
    table = ""
    builtin = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":") and line[1:].split()[0] not in builtin:
            chains.add(f"{table}:{line[1:].split()[0]}")
    return chains


def _iptables(*args: str, check: bool = True) -> bool:
    done = process.run([str(tools.require("iptables")), "-w", "5", *args], timeout=30, check=check)
    return done.returncode == 0


def _read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key).read_text().strip()
    except OSError:
        return None


def _write_sysctl(key: str, value: str, *, only_if_lower: bool = False) -> None:
    current = _read_sysctl(key)
    if current is None or (only_if_lower and current.isdigit() and int(current) >= int(value)):
        return
    with contextlib.suppress(OSError):
        Path("/proc/sys", key).write_text(value)


def _remove_tree(path: Path) -> list[str]:
    if not path.exists():
        return []
    unmount_below(path)
    shutil.rmtree(path, ignore_errors=True)
    return [f"directory {path}"]
