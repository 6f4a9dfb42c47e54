"""The offline cluster (`kdbgtest.sim`) as a provider: started on acquire, stopped and removed on release.

Versions and nodes are read back through kubectl like any cluster; capabilities follow from the sim's
configuration: `ephemeral-containers` iff the EphemeralContainers feature gate is on, `target-namespace` and
`node-debug` because the sim implements both (shared PID namespaces, host namespaces of the sim node), and the
profile capabilities from the kubectl client version, and `toolbox-image` when `kdbgtest images build` has built
the debug toolbox and its fixture images (`kdbgtest.sim.facade.toolbox_missing()` names the others).
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from kdbgtest.base import tools
from kdbgtest.base.errors import ClusterError, KdbgtestError
from kdbgtest.cluster import base, kubeconfig
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim import facade
from kdbgtest.sim.config import SimConfig

# CrashLoopBackOff delays at a tenth of real time (1 s, 2 s, 4 s ... instead of 10 s, 20 s, 40 s): the
# crashloop fixture is ready in seconds. Only waiting is shortened; states, counts and messages are the same.
log = logging.getLogger(__name__)

SUITE_TIME_SCALE = 0.1


def default_config() -> SimConfig:
    """A sim with a name of its own: concurrent runs and a cluster from `kdbgtest sim up` never clash."""
    return SimConfig(name=f"kdbgtest-{secrets.token_hex(3)}", time_scale=SUITE_TIME_SCALE)


class SimProvider:
    """Starts a sim cluster for a run and removes it afterwards."""

    def __init__(self, config: SimConfig | None = None, kubectl: Path | None = None) -> None:
        self.config = config or default_config()
        self.kubectl = kubectl
        self._cluster: sim_cluster.SimCluster | None = None
        self.leftovers: list[str] = []  # what the last `release` had to remove (empty after a clean shutdown)

    def acquire(self) -> base.ClusterInfo:
        reason = sim_cluster.unavailable_reason()
        if reason is not None:
            raise ClusterError(f"the offline cluster cannot run here: {reason}")
        self._cluster = sim_cluster.SimCluster(self.config)
        path = self._cluster.up()
        try:
            return self.probe(path)
        except BaseException:
            self.release()
            raise

    @property
    def cluster(self) -> sim_cluster.SimCluster | None:
        """The running sim this provider started (None before `acquire` and after `release`)."""
        return self._cluster

    def probe(self, path: Path) -> base.ClusterInfo:
        found = kubeconfig.probe(tools.require("kubectl", self.kubectl), path, None)
        capabilities = kubeconfig.client_capabilities(found.client_minor) | {
            base.TARGET_NAMESPACE,
            base.NODE_DEBUG,
        }
        capabilities |= kubeconfig.named_users(path)
        if self.config.feature("EphemeralContainers"):
            capabilities.add(base.EPHEMERAL_CONTAINERS)
        if not facade.toolbox_missing():  # the sim imports the archives `kdbgtest images build` made
            capabilities.add(base.TOOLBOX_IMAGE)
        return base.ClusterInfo(
            kind="sim",
            name=self.config.name,
            kubeconfig=path,
            context=None,
            server_version=found.server_version,
            nodes=found.nodes,
            capabilities=frozenset(capabilities),
            control_plane=found.control_plane,
        )

    def release(self) -> None:
        """Stop the cluster and remove everything it made.

        What `down` had to remove after the daemon stopped (containers, mounts) means the sim leaked: it is kept
        in `leftovers` (the e2e tests fail on it) and logged as a warning, without failing the user's run.
        """
        if self._cluster is None:
            return
        handle, self._cluster = self._cluster, None
        try:
            self.leftovers = handle.down()
        except KdbgtestError as exc:
            raise ClusterError(f"stopping the offline cluster '{self.config.name}' failed: {exc}") from None
        if self.leftovers:
            log.warning("the offline cluster '%s' left %s behind; removed", self.config.name, ", ".join(self.leftovers))
