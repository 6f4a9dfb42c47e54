"""The cluster seam: a provider's whole job is to hand back a kubeconfig and what the cluster offers.

Everything above `cluster/` talks to clusters only through `ClusterInfo.kubeconfig`, with kubectl or the
kubernetes client, so a scenario runs unchanged on kind, on an existing cluster and on the offline sim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kdbgtest.base import named_users

# Capability names, as used in scenario `requires.capabilities` (see kdbgtest.scenario.model.Capability).
EPHEMERAL_CONTAINERS = "ephemeral-containers"
TARGET_NAMESPACE = "target-namespace"
NODE_DEBUG = "node-debug"
PROFILES = "profiles"
SYSADMIN_PROFILE = "sysadmin-profile"
TOOLBOX_IMAGE = "toolbox-image"  # the kdbgtest/debug-toolbox:1 image can run on the nodes
TOOLBOX_IMAGE_NAME = "kdbgtest/debug-toolbox:1"
NAMED_USERS = "named-users"  # the kubeconfig has users kdbgtest-alice and kdbgtest-bob (they are alice, bob)
NAMED_USER_ENTRIES = tuple(named_users.kubeconfig_entry(u) for u in named_users.NAMES[:2])  # carol is optional


@dataclass(frozen=True)
class ClusterInfo:
    """A reachable cluster, as the runner sees it."""

    kind: str  # "sim", "kind", "local" or "kubeconfig": every report says which produced a result
    name: str
    kubeconfig: Path
    context: str | None
    server_version: str  # "1.33"
    nodes: tuple[str, ...]  # schedulable node names, workers first
    capabilities: frozenset[str] = field(default_factory=frozenset)
    control_plane: str = ""  # a control-plane node ("" if none is visible): the ${control_plane} variable
    server: str = ""  # what the API server is, from its /version: "Kubernetes v1.37.2", "the offline ... sim"

    @property
    def minor(self) -> int:
        """The server's Kubernetes minor version (33 for 1.33)."""
        return int(self.server_version.split(".")[1])


class ClusterProvider(Protocol):
    """Creates or finds a cluster, and gives it back. `release` undoes exactly what `acquire` did."""

    def acquire(self) -> ClusterInfo: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class ClusterRequest:
    """What the user asked for on the command line or in pytest options."""

    kind: str = "auto"
    kubeconfig: Path | None = None
    context: str | None = None
    kubectl: Path | None = None
    kind_binary: Path | None = None  # --kind PATH (default: kind on PATH)
    kind_config: Path | None = None  # --kind-config clusters/X.yaml (also makes `auto` choose kind)
    kind_name: str | None = None  # --kind-name (default: the config's name, else "kdbgtest")
    keep_cluster: bool = False  # --keep-cluster: leave a kind cluster kdbgtest created running
