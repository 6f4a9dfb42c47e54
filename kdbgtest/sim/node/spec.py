"""The OCI runtime config (config.json) of one container, shaped like runc's default spec and containerd's."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.sim.node import idmap

# "cgroup": a private cgroup namespace, as containerd gives on cgroup v2 hosts (kind's): mounting cgroupfs in a
# container shows its own cgroup as the root, never the host's tree.
NAMESPACE_KINDS = ("pid", "network", "ipc", "uts", "mount", "cgroup")
DEFAULT_ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker/containerd's default capability set (what a pod gets without securityContext.capabilities).
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
]  # fmt: skip

ALL_CAPABILITIES = [  # in bit order
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]  # fmt: skip


def usable_capabilities(wanted: list[str]) -> list[str]:
    """`wanted` minus the capabilities the sim itself lacks (runc cannot grant those; this host lacks
    CAP_SYS_RESOURCE, for one). Unknown names are kept so that runc rejects them as it would on a node."""
    status = Path("/proc/self/status").read_text()
    bounding = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16)
    known = {name: bit for bit, name in enumerate(ALL_CAPABILITIES)}
    return [c for c in wanted if c not in known or bounding & (1 << known[c])]


MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
]  # fmt: skip
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@dataclass
class Mount:
    """A mount inside the container (OCI `mounts[]` entry); bind mounts by default."""

    source: str
    destination: str
    type: str = "bind"
    options: list[str] = field(default_factory=lambda: ["rbind", "rw"])


@dataclass
class ContainerConfig:
    """Everything the runtime needs to start one container.

    `namespaces` maps a kind in NAMESPACE_KINDS to None (a new namespace, also the default for a missing key)
    or to a path to join (`/proc/PID/ns/net`, pid as seen on the host). Key "user" (None: a new one, or a
    path) puts the container in a node's user namespace (idmap.py); without it, the host's. `capabilities` is
    the final set.
    `etc_hosts` / `etc_resolv` are the contents bind-mounted at /etc/hosts and /etc/resolv.conf (defaults:
    localhost only, the cluster DNS); /etc/hostname holds `hostname` (default: the id).
    """

    id: str
    rootfs: Path
    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    tty: bool = False
    stdin: bool = False
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=lambda: list(DEFAULT_CAPABILITIES))
    privileged: bool = False
    no_new_privileges: bool = False
    readonly_rootfs: bool = False
    mounts: list[Mount] = field(default_factory=list)
    namespaces: dict[str, str | None] = field(default_factory=dict)
    hostname: str | None = None
    etc_hosts: str | None = None
    etc_resolv: str | None = None
    # (width, height) of a container's tty before a client's first resize: 0x0, as containerd starts one (seen on
    # the local v1.37.2 cluster: `stty size` says 0 0), so the first attach always changes the size and a
    # full-screen program redraws what the attach came too late to see
    console_size: tuple[int, int] = (0, 0)
    seccomp: dict[str, Any] | None = None  # the OCI `linux.seccomp` object; None: unconfined
    overlay: bool = True  # False: use `rootfs` itself, writable (a sim node's own root)
    etc_files: bool = True  # False: leave the image's /etc/hosts, /etc/hostname, /etc/resolv.conf alone


DEFAULT_RESOLV = (
    "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
)


def etc_files(cfg: ContainerConfig, directory: Path) -> list[Mount]:
    """Write hosts, hostname and resolv.conf into `directory`; return their bind mounts (as the kubelet)."""
    hostname = cfg.hostname or cfg.id
    hosts = cfg.etc_hosts or (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    files = {"hosts": hosts, "hostname": hostname + "\n", "resolv.conf": cfg.etc_resolv or DEFAULT_RESOLV}
    result = []
    for name, content in files.items():
        (directory / name).write_text(content)
        if "user" in cfg.namespaces:
            idmap.shift(directory / name)  # root in the container may rewrite them, as on a node
        result.append(Mount(str(directory / name), f"/etc/{name}", "bind", ["rbind", "rw"]))
    return result


def process(cfg: ContainerConfig) -> dict[str, Any]:
    """The OCI `process` object for the container's init (also used for `runc exec --process`)."""
    caps = usable_capabilities(ALL_CAPABILITIES if cfg.privileged else cfg.capabilities)
    return {
        "terminal": cfg.tty,
        "consoleSize": {"width": cfg.console_size[0], "height": cfg.console_size[1]} if cfg.tty else None,
        "user": {"uid": cfg.uid, "gid": cfg.gid, "additionalGids": list(cfg.additional_gids) or None},
        "args": cfg.args,
        "env": cfg.env if any(e.startswith("PATH=") for e in cfg.env) else [DEFAULT_ENV_PATH, *cfg.env],
        "cwd": cfg.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": cfg.no_new_privileges,
    }


@dataclass(frozen=True)
class ExecOverrides:
    """What an exec sets instead of inheriting it from the container's process (None: inherit)."""

    env: list[str] | None = None
    cwd: str | None = None
    uid: int | None = None
    gid: int | None = None
    additional_gids: list[int] | None = None
    capabilities: list[str] | None = None


def exec_process(
    base: dict[str, Any] | None, args: list[str], tty: bool, size: tuple[int, int], over: ExecOverrides
) -> dict[str, Any]:
    """The process of an exec: the container's own (`base`) with the args, terminal and overrides applied."""
    result = copy.deepcopy(base) if base else process(ContainerConfig(id="", rootfs=Path("/"), args=[]))
    result["args"] = args
    result["terminal"] = tty
    result["consoleSize"] = {"width": size[0], "height": size[1]} if tty else None
    if over.env is not None:
        result["env"] = over.env if any(e.startswith("PATH=") for e in over.env) else [DEFAULT_ENV_PATH, *over.env]
    if over.cwd is not None:
        result["cwd"] = over.cwd or "/"
    user = result.setdefault("user", {"uid": 0, "gid": 0})
    for key, value in (("uid", over.uid), ("gid", over.gid), ("additionalGids", over.additional_gids)):
        if value is not None:
            user[key] = value
    if over.capabilities is not None:
        caps = usable_capabilities(over.capabilities)
        result["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    return result


def _base_mounts() -> list[dict[str, Any]]:
    sys_opts = ["nosuid", "noexec", "nodev", "ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts},
    ]  # fmt: skip


def config(cfg: ContainerConfig, rootfs: Path, etc_mounts: list[Mount], cgroups_path: str) -> dict[str, Any]:
    """The whole config.json. Namespace paths must already be valid where runc runs."""
    namespaces = []
    for kind in NAMESPACE_KINDS:
        path = cfg.namespaces.get(kind)
        namespaces.append({"type": kind, "path": path} if path else {"type": kind})
    user_ns = "user" in cfg.namespaces
    if user_ns:
        path = cfg.namespaces["user"]
        namespaces.append({"type": "user", "path": path} if path else {"type": "user"})
    mounts = _base_mounts() + [
        {"destination": m.destination, "type": m.type, "source": m.source, "options": m.options}
        for m in [*etc_mounts, *cfg.mounts]
    ]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": cgroups_path,
        # Privileged too, unlike a real node, to keep the real host out of reach: no host devices (runc
        # still allows null, zero, full, random, urandom, tty, ptmx), /sys read-only, masked and read-only
        # /proc paths. A privileged container gets every capability the sim itself has.
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
        **(idmap.oci_mappings() if user_ns else {}),
    }
    if cfg.seccomp is not None:
        linux["seccomp"] = cfg.seccomp  # runc applies it to exec'd processes too
    hostname = cfg.hostname or cfg.id
    return {
        "ociVersion": "1.0.2-dev",
        "process": process(cfg),
        "root": {"path": str(rootfs), "readonly": cfg.readonly_rootfs},
        # runc refuses a hostname without a UTS namespace of its own.
        **({} if cfg.namespaces.get("uts") else {"hostname": hostname}),
        "mounts": mounts,
        "linux": linux,
    }
