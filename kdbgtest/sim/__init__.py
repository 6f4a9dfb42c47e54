"""The offline cluster: an HTTPS API server real kubectl talks to, and node agents running pods with runc.

`SimCluster(SimConfig(...))` starts and stops one (see `kdbgtest.sim.cluster`); `kdbgtest sim up|down|status`
is its command line (`kdbgtest.sim.cli`); `kdbgtest.sim.testing.sim_cluster` serves pytest fixtures.

Besides the Kubernetes API, the server has admin endpoints of its own (bearer token required, as everywhere) to
change a component's version in place while the cluster runs, for rehearsing an upgrade (`kdbgtest.sim.versions`;
`SimCluster.components()` and `SimCluster.set_component_version()` call them):

    GET /kdbgtest/v1/components              {"kube-apiserver": "1.36", "kube-controller-manager": "1.36",
                                              "kube-scheduler": "1.36", "kubelet": "1.36"}
    PUT /kdbgtest/v1/components/{component}  body {"version": "1.37"}: answers the new map; 404 Status for an
                                              unknown component, 400 for a version other than 1.N

A new kube-apiserver version shows in `/version`, discovery and the version-dependent API behaviour from the next
request; a new kubelet version re-posts every node's status (nodeInfo.kubeletVersion) as a restarted kubelet
would, and the version-dependent kubelet behaviour follows; running containers are left alone. The
controller-manager's and scheduler's versions are only recorded (the sim has no such processes).

The names are imported lazily, so that importing one sim module (the store, a node part) does not pull in
the whole cluster machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kdbgtest.sim.cluster import SimCluster, SimStatus
    from kdbgtest.sim.config import SimConfig

__all__ = ["SimCluster", "SimConfig", "SimStatus"]

_HOMES = {
    "SimCluster": "kdbgtest.sim.cluster",
    "SimStatus": "kdbgtest.sim.cluster",
    "SimConfig": "kdbgtest.sim.config",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'kdbgtest.sim' has no attribute {name!r}")
