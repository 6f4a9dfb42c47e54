"""The clusters `kdbgtest upgrade` can be run on: each comes up at `--from`, replaces one component at a time,
reports its components' versions, and goes away (here in `cluster/`, as the providers are, since only the cluster
layer knows the sim and the local cluster). `local` is the real cluster built from upstream; `sim` changes the
versions the offline cluster's components report and behave as (kdbgtest/sim/versions.py)."""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kdbgtest.base.errors import ClusterError, KdbgtestError
from kdbgtest.cluster import base

if TYPE_CHECKING:
    from kdbgtest.sim.cluster import SimCluster

ORDER = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")  # the documented order
_MINOR = re.compile(r"^v?1\.(\d+)(?:\.(\d+|x))?$")


class Upgradable(Protocol):
    kind: str
    from_version: str
    to_version: str
    node_scratch: str  # a directory on the node the node-issue witness may fill (gone with the cluster)

    def up(self) -> base.ClusterInfo: ...

    def probe(self) -> base.ClusterInfo:
        """The cluster probed again: its server version changes with the API server."""
        ...

    def versions(self) -> dict[str, str]: ...

    def replace(self, component: str, version: str) -> None: ...

    def down(self) -> None: ...


def target(kind: str, from_version: str, to_version: str, kubectl: Path | None) -> Upgradable:
    if kind == "local":
        return LocalUpgrade(from_version, to_version, kubectl)
    if kind == "sim":
        return SimUpgrade(from_version, to_version, kubectl)
    raise KdbgtestError(f"--cluster {kind}: an in-place upgrade runs on `local` or `sim`")


class LocalUpgrade:
    """The real local cluster: both versions built (cached), a fresh cluster at `from`, components restarted from
    the other version's binaries (etcd's data, containerd and the pods are kept)."""

    kind = "local"

    def __init__(self, from_version: str, to_version: str, kubectl: Path | None) -> None:
        from kdbgtest.cluster import local as local_provider
        from kdbgtest.local import cluster as local_cluster

        self.from_version = local_release(from_version)
        self.to_version = local_release(to_version)
        self._provider = local_provider.LocalProvider(self.from_version, kubectl=kubectl)
        self._cluster = local_cluster.LocalCluster(version=self.from_version, progress=_say)
        self._path: Path | None = None
        # The node is this host: plant under the cluster's state directory, which `down` removes whatever happens.
        self.node_scratch = str(self._cluster.where.root / "witness-node-issue")

    def up(self) -> base.ClusterInfo:
        from kdbgtest.local import build, pins

        if self._cluster.state() != "stopped":
            raise ClusterError(
                "a local cluster exists on this host; an upgrade needs its own (it is removed afterwards): stop it "
                "with `kdbgtest local down`"
            )
        for version in (self.from_version, self.to_version):
            build.build(pins.load(version), progress=_say)
        info = self._provider.acquire()
        self._path = info.kubeconfig
        return info

    def probe(self) -> base.ClusterInfo:
        from kdbgtest.cluster import local as local_provider

        assert self._path is not None
        found = self._provider.probe(self._path)
        return dataclasses.replace(found, name=local_provider.label(self._cluster.status().version))

    def versions(self) -> dict[str, str]:
        return {k: v for k, v in self._cluster.component_versions().items() if k in ORDER}

    def replace(self, component: str, version: str) -> None:
        self._cluster.replace_component(component, version)

    def down(self) -> None:
        self._provider.release()


class SimUpgrade:
    """The offline cluster: its components' versions changed in place (pods keep running)."""

    kind = "sim"

    def __init__(self, from_version: str, to_version: str, kubectl: Path | None) -> None:
        from kdbgtest.cluster import sim
        from kdbgtest.sim.config import SimConfig

        self.from_version = sim_release(from_version)
        self.to_version = sim_release(to_version)
        config = SimConfig(name=f"kdbgup-{secrets.token_hex(3)}", kubernetes_version=self.from_version,
                           time_scale=sim.SUITE_TIME_SCALE)  # fmt: skip
        self._provider = sim.SimProvider(config, kubectl=kubectl)
        self._path: Path | None = None
        self.node_scratch = "/var/tmp/kdbgtest-witness-node-issue"  # inside the sim node's own root

    def up(self) -> base.ClusterInfo:
        info = self._provider.acquire()
        self._path = info.kubeconfig
        return info

    def probe(self) -> base.ClusterInfo:
        assert self._path is not None
        return self._provider.probe(self._path)

    def versions(self) -> dict[str, str]:
        return self._handle().components()

    def replace(self, component: str, version: str) -> None:
        self._handle().set_component_version(component, version)

    def down(self) -> None:
        self._provider.release()

    def _handle(self) -> SimCluster:
        handle = self._provider.cluster
        if handle is None:
            raise ClusterError("the offline cluster is not running")
        return handle


def local_release(version: str) -> str:
    """`1.37.2` -> `v1.37.2`; `1.36` or `1.36.x` -> the newest pinned 1.36 patch (clusters/local/)."""
    from kdbgtest.local import pins

    match = _MINOR.match(version)
    if match is None:
        raise KdbgtestError(f"expected a version like 1.37.2 or 1.36.x, got {version!r}")
    if match[2] and match[2] != "x":
        return pins.normalize(version)
    minor = int(match[1])
    found = [v for v in pins.known_versions() if pins.normalize(v).split(".")[1] == str(minor)]
    if not found:
        raise KdbgtestError(
            f"no pinned 1.{minor} release (have: {', '.join(pins.known_versions())}); pin one with `kdbgtest local pin`"
        )
    return max(found, key=lambda v: int(v.split(".")[2]))


def sim_release(version: str) -> str:
    """The sim models minors: `1.36.3`, `1.36.x` and `1.36` are all `1.36`."""
    match = _MINOR.match(version)
    if match is None:
        raise KdbgtestError(f"expected a version like 1.36 or 1.36.x, got {version!r}")
    return f"1.{match[1]}"


def _say(message: str) -> None:
    import sys

    print(f"kdbgtest upgrade: {message}", file=sys.stderr, flush=True)
