"""Sandboxes: a sim node (like a kind node container) and a pod's sandbox (the pause container).

A `NodeSandbox` is a runc container whose rootfs is the node's own root directory (built from busybox,
writable, removed when the node stops), with its own user, PID, mount, network, IPC and UTS namespaces, held by
`/sbin/init` (the pause program: sleeps, reaps orphans). Pod containers are started with `pid_parent=node.pid`
so their PID namespaces nest in the node's: a hostPID pod sees the node's init and the pods, never the host.
The user namespace (idmap.py) makes the node a sandbox even for privileged pods: threat model in
`kdbgtest/sim/sandbox.md`.

A `PodSandbox` is a pause container in the node: new network (eth0 with the pod IP 10.244.<node>.<n> on the
cluster network, see network.py), IPC, UTS (hostname = pod name) and PID namespaces, or the node's for
hostNetwork / hostIPC / hostPID.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
from pathlib import Path

from kdbgtest.sim.node import idmap, images, mounts, network, procfs
from kdbgtest.sim.node.runc import ContainerConfig, Process, Runc
from kdbgtest.sim.node.spec import DEFAULT_CAPABILITIES

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "user": "user"}
OS_RELEASE = 'PRETTY_NAME="kdbgtest sim node"\nNAME="kdbgtest sim node"\nID=kdbgtest-sim\nVERSION_ID="1"\n'
NODE_DIRS = ("var/log/pods", "var/log/containers", "var/lib/kubelet", "opt", "run", "sbin", "usr/local/bin")


class SandboxError(Exception):
    """A sandbox could not be created (the message says why, as the runtime reported it)."""


class NodeSandbox:
    """One sim node: its root directory and namespaces, held by an init process."""

    def __init__(self, name: str, state_dir: Path, runc: Runc, images: images.ImageStore, *, index: int = 0):
        self.name = name
        self.dir = state_dir / "nodes" / name
        self.root = self.dir / "root"
        self.runc = runc
        self.images = images
        self.index = index
        self.ip = f"172.18.0.{index + 2}"  # as kind numbers its node containers
        self.gateway = f"10.244.{index}.1"  # the node's address in its pod CIDR: its pods' default route
        self.network: network.ClusterNetwork | None = None
        self.state_dir = state_dir
        self.container_id = f"kdbgtest-node-{name}"
        self._process: Process | None = None
        self._pid: int | None = None  # kept after stop, so that callers can still name it
        self._next_ip = 2
        self._free_ips: list[int] = []

    @property
    def pid(self) -> int:
        """The node's init, as a host pid (the last one after `stop`)."""
        if self._pid is None:
            raise RuntimeError(f"node {self.name} was never started")
        return self._pid

    def ns_path(self, kind: str) -> str:
        """`/proc/PID/ns/X` of the node's namespace `kind` (pid, network, ipc, uts, mount)."""
        return f"/proc/{self.pid}/ns/{NS_FILES[kind]}"

    async def start(self) -> None:
        """Build the root directory, start the init and plug the node into the cluster network."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.dir.parent, self.dir):
            directory.chmod(0o755)  # searchable by the node's root (views bind them at their host paths)
        # Every node's directory: the view runc starts node containers in is made once, for the first node.
        self.runc.expose(self.dir.parent, self.images.cache_dir, *self.images.mapped_dirs())
        if not self.root.exists():
            self._build_root()
        cfg = ContainerConfig(
            id=self.container_id, rootfs=self.root, args=["/sbin/init"], hostname=self.name,
            capabilities=list(DEFAULT_CAPABILITIES), overlay=False, etc_files=False, namespaces={"user": None},
        )  # fmt: skip
        try:
            self._process = await self.runc.run(cfg, self.dir / "bundle", pid_parent=self.runc.host)
            self._pid = self._process.pid
            self.network = await network.acquire(self.state_dir)
            await self.network.attach(self.pid, [f"{self.ip}/16", f"{self.gateway}/16"])
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Kill everything in the node, then remove its directory (root included)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill(signal.SIGKILL)
            await process.wait()
            await self.runc.close_view(process.pid)
        if self.network is not None:
            net, self.network = self.network, None
            await network.release(net)
        await self.runc.delete(self.container_id)
        for mount in procfs.mounts_under(self.dir):
            with contextlib.suppress(OSError):
                mounts.umount(mount, lazy=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def allocate_ip(self) -> str:
        """A free pod IP in this node's pod CIDR 10.244.<index>.0/24."""
        if self._free_ips:
            return f"10.244.{self.index}.{self._free_ips.pop(0)}"
        if self._next_ip > 254:
            raise SandboxError(f"node {self.name} has no free pod IP left in 10.244.{self.index}.0/24")
        self._next_ip += 1
        return f"10.244.{self.index}.{self._next_ip - 1}"

    def release_ip(self, ip: str) -> None:
        if ip.startswith(f"10.244.{self.index}."):
            self._free_ips.append(int(ip.rsplit(".", 1)[1]))

    def _build_root(self) -> None:
        work = self.dir / "root.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        images.populate_busybox(work)
        for name in NODE_DIRS:
            (work / name).mkdir(parents=True, exist_ok=True)
        pause = self.images.resolve(PAUSE_IMAGE)
        shutil.copy2(pause.rootfs / "pause", work / "sbin" / "init")
        (work / "etc" / "hostname").write_text(self.name + "\n")
        (work / "etc" / "os-release").write_text(OS_RELEASE)
        (work / "etc" / "hosts").write_text(f"127.0.0.1\tlocalhost\n{self.ip}\t{self.name}\n")
        (work / "etc" / "resolv.conf").write_text("nameserver 10.96.0.10\n")
        idmap.shift_tree(work)  # the node's root owns its root directory, as a kind node's does
        work.rename(self.root)


class PodSandbox:
    """A pod's shared namespaces, held by a pause container inside `node`."""

    def __init__(
        self,
        node: NodeSandbox,
        name: str,
        *,
        bundle: Path | None = None,
        host_network: bool = False,
        host_pid: bool = False,
        host_ipc: bool = False,
    ) -> None:
        self.node = node
        self.name = name
        self.id = secrets.token_hex(32)
        self.bundle = bundle or node.dir / "sandboxes" / self.id
        self.host_network, self.host_pid, self.host_ipc = host_network, host_pid, host_ipc
        self.ip = node.ip if host_network else ""
        self._process: Process | None = None

    @property
    def pid(self) -> int:
        """The pause process, as a host pid."""
        if self._process is None:
            raise RuntimeError(f"the sandbox of pod {self.name} is not started")
        return self._process.pid

    def ns_path(self, kind: str) -> str:
        """Where containers of the pod join namespace `kind` (the node's for host* pods)."""
        if (kind == "network" or kind == "uts") and self.host_network:
            return self.node.ns_path(kind)
        if kind == "user" or (kind == "ipc" and self.host_ipc) or (kind == "pid" and self.host_pid):
            return self.node.ns_path(kind)
        return f"/proc/{self.pid}/ns/{NS_FILES[kind]}"

    async def start(self) -> None:
        """Start the pause container and give the pod its IP."""
        pause = self.node.images.resolve(PAUSE_IMAGE)
        joined = {
            "network": self.host_network,
            "uts": self.host_network,
            "ipc": self.host_ipc,
            "pid": self.host_pid,
            "user": True,  # always the node's: a pod is never more privileged than its node
        }
        namespaces = {kind: (self.node.ns_path(kind) if join else None) for kind, join in joined.items()}
        cfg = ContainerConfig(
            id=self.id, rootfs=pause.rootfs, args=["/pause"], uid=65535, gid=65535, capabilities=[],
            namespaces=namespaces, hostname=None if self.host_network else self.name, etc_files=False,
            readonly_rootfs=True,
        )  # fmt: skip
        try:
            self._process = await self.node.runc.run(cfg, self.bundle, pid_parent=self.node.pid)
            if not self.host_network:
                self.ip = self.node.allocate_ip()
                if self.node.network is None:
                    raise SandboxError(f"node {self.node.name} is not started")
                await self.node.network.attach(self.pid, [f"{self.ip}/16"], gateway=self.node.gateway)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the pause container and release the pod IP."""
        process, self._process = self._process, None
        if process is not None:
            process.kill(signal.SIGKILL)
            await process.wait()
        await self.node.runc.delete(self.id)
        if not self.host_network and self.ip:
            self.node.release_ip(self.ip)
            self.ip = ""
