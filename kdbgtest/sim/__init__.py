"""The offline cluster: an HTTPS API server real kubectl talks to, and node agents running pods with runc.

`SimCluster(SimConfig(...))` starts and stops one (see `kdbgtest.sim.cluster`); `kdbgtest sim up|down|status`
is its command line (`kdbgtest.sim.cli`); `kdbgtest.sim.testing.sim_cluster` serves pytest fixtures.

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
