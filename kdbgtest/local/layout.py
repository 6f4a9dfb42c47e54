"""Where a local cluster keeps everything: one state directory, plus the few host-wide names it must use.

    /var/lib/kdbgtest/local/NAME/     (0700; KDBGTEST_LOCAL_STATE overrides the parent)
        state.json                    the running components (pid + start time) and the host snapshot
        kubeconfig                    the admin kubeconfig `up` prints
        pki/                          CA, certificates, keys, per-component kubeconfigs
        config/                       containerd.toml, kubelet.yaml, scheduler.yaml, cni/10-kdbgtest.conflist
        logs/COMPONENT.log            each component's output
        etcd/ containerd/ kubelet/ pod-logs/ cni/   the components' data
        images/                       the image archives imported into containerd

Host-wide (one local cluster per host; the ports are the upstream defaults): the cgroup `/kdbgtest-local` in
every hierarchy, the bridge `kdbgtest0`, the pod subnet 10.88.0.0/16, ports 2379-2380 (etcd), 6443, 10248,
10250, 10257 and 10259 on 127.0.0.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kdbgtest.local.pki import Pki

STATE_ENV = "KDBGTEST_LOCAL_STATE"
DEFAULT_NAME = "kdbgtest-local"
CGROUP_ROOT = "kdbgtest-local"
BRIDGE = "kdbgtest0"
POD_SUBNET = "10.88.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"  # as kind and kubeadm: the kubernetes service is 10.96.0.1
API_PORT = 6443
ETCD_PORTS = (2379, 2380)
KUBELET_PORT = 10250


@dataclass(frozen=True)
class Node:
    """The one node: named after this host (as kind and cloud nodes are), addressed by its default-route IPv4."""

    name: str
    ip: str


def state_parent() -> Path:
    override = os.environ.get(STATE_ENV)
    return Path(override) if override else Path("/var/lib/kdbgtest/local")


class Layout:
    """Paths of one local cluster."""

    def __init__(self, name: str = DEFAULT_NAME, parent: Path | None = None) -> None:
        self.name = name
        self.root = (parent or state_parent()) / name
        self.state = self.root / "state.json"
        self.lock = self.root.parent
        self.kubeconfig = self.root / "kubeconfig"
        from kdbgtest.local.pki import Pki  # cryptography is slow to import; `kdbgtest --help` needs only names

        self.pki: Pki = Pki(self.root / "pki")
        self.config = self.root / "config"
        self.logs = self.root / "logs"
        self.etcd = self.root / "etcd"
        self.containerd_root = self.root / "containerd" / "root"
        self.containerd_state = self.root / "containerd" / "state"
        self.containerd_socket = self.containerd_state / "containerd.sock"
        self.kubelet = self.root / "kubelet"
        self.pod_logs = self.root / "pod-logs"
        self.cni_conf = self.config / "cni"
        self.cni_data = self.root / "cni"
        self.images = self.root / "images"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{API_PORT}"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def config_file(self, name: str) -> Path:
        return self.config / name
