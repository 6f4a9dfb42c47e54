"""The local real cluster (`kdbgtest local`) as a provider.

If a local cluster is already running (`kdbgtest local up`), a run uses it and leaves it running. Otherwise the
provider starts one for the run (building it first if the cache is empty: tens of minutes the first time) and
removes it afterwards. Capabilities are probed like any cluster's; reports name it "local Kubernetes vX.Y.Z
(built from upstream)". `toolbox-image` is offered when the toolbox and fixture archives are built (the
cluster imports them when it starts, so build them first: `kdbgtest images build`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

from kdbgtest.base.errors import ClusterError, KdbgtestError
from kdbgtest.cluster import base, kubeconfig
from kdbgtest.imagebuild import build as image_build
from kdbgtest.local import cluster as local_cluster
from kdbgtest.local import pins

log = logging.getLogger(__name__)


def label(version: str) -> str:
    return f"local Kubernetes {version} (built from upstream)"


class LocalProvider:
    """Uses the running local cluster, or starts (and afterwards removes) one of `version`."""

    def __init__(self, version: str = pins.DEFAULT_VERSION, kubectl: Path | None = None) -> None:
        self.version = pins.normalize(version)
        self.kubectl = kubectl
        self._cluster = local_cluster.LocalCluster(version=self.version, progress=_progress)
        self._started = False

    def acquire(self) -> base.ClusterInfo:
        running = self._cluster.status()
        if running.state == "running":
            if running.version != self.version:
                raise ClusterError(
                    f"a local cluster of {running.version} is running, not {self.version}; stop it with "
                    "`kdbgtest local down` or ask for its version"
                )
            path = self._cluster.where.kubeconfig
        else:
            path = self._cluster.up()
            self._started = True
        try:
            return self.probe(path)
        except BaseException:
            self.release()
            raise

    def probe(self, path: Path) -> base.ClusterInfo:
        """Probed like any cluster reached by kubeconfig, reported as the local cluster."""
        found = kubeconfig.KubeconfigProvider(path, None, self.kubectl).acquire()
        capabilities = found.capabilities
        if not image_build.missing():  # `kdbgtest local up` imports the archives `kdbgtest images build` made
            capabilities = capabilities | {base.TOOLBOX_IMAGE}
        return dataclasses.replace(found, kind="local", name=label(self.version), capabilities=capabilities)

    def release(self) -> None:
        """Stop the cluster if this provider started it; a cluster the user started keeps running."""
        if not self._started:
            return
        self._started = False
        try:
            undone = self._cluster.down()
        except KdbgtestError as exc:
            raise ClusterError(f"stopping the local cluster failed: {exc}") from None
        log.info("the local cluster is down; undone: %s", ", ".join(undone))


def _progress(message: str) -> None:
    print(f"kdbgtest local: {message}", file=sys.stderr, flush=True)
