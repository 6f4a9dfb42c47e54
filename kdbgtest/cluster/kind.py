"""kind as a provider, through pytest-kind's `KindCluster`: create or reuse a cluster by name, load local
images into its nodes, hand its kubeconfig to the runner, and delete it on release unless asked to keep it.

- kind comes from PATH (or `--kind PATH`), kubectl is always the pinned one: both are given to `KindCluster`
  (`kind_path`, `kubectl_path`), so pytest-kind never downloads anything. A missing kind or container engine
  (docker, or `KIND_EXPERIMENTAL_PROVIDER`'s podman/nerdctl) is a `ToolMissing` that says what to install.
- Reuse: a cluster of that name that already exists is used as it is (its kubeconfig is fetched with
  `kind get kubeconfig`) and never deleted by kdbgtest, which deletes only what it created, and not with
  `keep_cluster`.
- pytest-kind makes `.pytest-kind/<name>/` in the working directory; the kubeconfig lives there (the place
  pytest-kind users know). It is removed with the cluster, and kept with it.
- After creation: the server version, nodes and `pods/ephemeralcontainers` are read back like on any cluster
  (`kubeconfig.probe`); a kubectl/server skew of more than one minor is a logged warning (and in `warnings`).
- Capabilities: `ephemeral-containers` from discovery, `target-namespace` and `node-debug` (kind nodes run
  containerd with host namespaces available), the profile ones from the kubectl version, and `toolbox-image`
  once `kdbgtest/debug-toolbox:1` was loaded into the nodes.
- The test suite runs this provider with a stand-in kind (tests/kind_standin/kind, backed by the offline
  cluster). `kind version` tells them apart: the stand-in needs no container engine, and the cluster's name
  in every report says it was the stand-in (kind stays "kind": pytest-kind's code path is kind's).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pytest_kind import KindCluster

from kdbgtest.base import process, tools
from kdbgtest.base.errors import ClusterError, KdbgtestError, ToolMissing
from kdbgtest.cluster import base, kindconfig, kubeconfig

log = logging.getLogger(__name__)

DEFAULT_NAME = "kdbgtest"
TOOLBOX_IMAGE = base.TOOLBOX_IMAGE_NAME
DEFAULT_IMAGES = ("kdbgtest/distroless-app:1", TOOLBOX_IMAGE)
STANDIN_MARK = "kdbgtest-standin"  # in `kind version` of tests/kind_standin/kind
KIND_TIMEOUT = 30.0
_ENGINE_HINTS = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/) and start it",
    "podman": "install podman (KIND_EXPERIMENTAL_PROVIDER=podman)",
    "nerdctl": "install nerdctl and containerd (KIND_EXPERIMENTAL_PROVIDER=nerdctl)",
}


def default_engine() -> str:
    """The container engine kind will use: docker unless KIND_EXPERIMENTAL_PROVIDER says otherwise."""
    return os.environ.get("KIND_EXPERIMENTAL_PROVIDER") or "docker"


@dataclass(frozen=True)
class KindSettings:
    """What to create. `engine=None` only for a kind that brings its own nodes (the test stand-in)."""

    name: str | None = None  # default: the config's `name`, else "kdbgtest"
    config: Path | None = None
    kind: Path | None = None  # default: kind on PATH
    kubectl: Path | None = None  # default: the pinned kubectl
    keep: bool = False
    images: tuple[str, ...] = DEFAULT_IMAGES  # loaded when present locally; missing ones are a warning
    engine: str | None = "docker"


def skew_warning(client_minor: int, server_version: str) -> str | None:
    """The warning for a kubectl/server skew beyond kubectl's supported +/-1 minor, else None."""
    server_minor = int(server_version.split(".")[1])
    if abs(client_minor - server_minor) <= 1:
        return None
    return (
        f"kubectl 1.{client_minor} and the server {server_version} are {abs(client_minor - server_minor)} "
        "minor versions apart (kubectl supports one); results may reflect the skew"
    )


class KindProvider:
    """A kind cluster for a run (see the module docstring)."""

    def __init__(self, settings: KindSettings) -> None:
        self.settings = settings
        self.config = kindconfig.load(settings.config) if settings.config else None
        self.name = settings.name or (self.config.name if self.config else None) or DEFAULT_NAME
        self.warnings: list[str] = []
        self.loaded: list[str] = []
        self.kind_version = ""
        self._cluster: KindCluster | None = None
        self._created = False

    def acquire(self) -> base.ClusterInfo:
        kind = tools.require("kind", self.settings.kind)
        kubectl = tools.require("kubectl", self.settings.kubectl)
        self.kind_version = _kind_version(kind)
        if self.settings.engine is not None and STANDIN_MARK not in self.kind_version:
            require_engine(self.settings.engine)  # the test stand-in brings its own nodes
        cluster = KindCluster(self.name, kind_path=kind, kubectl_path=kubectl)
        cluster.kubeconfig_path = cluster.kubeconfig_path.absolute()
        self._cluster = cluster
        try:
            self._create(cluster, kind)
            self._load_images(cluster)
            return self._info(cluster, kubectl)
        except BaseException:
            self.release()
            raise

    def _create(self, cluster: KindCluster, kind: Path) -> None:
        existing = _kind_lines(kind, "get", "clusters")
        if self.name in existing:
            log.info("reusing the existing kind cluster %s", self.name)
            text = process.run([str(kind), "get", "kubeconfig", f"--name={self.name}"], timeout=KIND_TIMEOUT)
            cluster.kubeconfig_path.write_text(text.stdout)
            cluster.kubeconfig_path.chmod(0o600)
        else:
            self._created = True
        try:
            cluster.create(self.settings.config)
        except subprocess.CalledProcessError as exc:
            raise ClusterError(
                f"`kind create cluster --name {self.name}` failed (exit {exc.returncode}; kind's message is "
                "above); check that the container engine runs and the node image exists"
            ) from None

    def _load_images(self, cluster: KindCluster) -> None:
        for image in self.settings.images:
            try:
                cluster.load_docker_image(image)
            except subprocess.CalledProcessError:
                self._warn(f"image {image} was not loaded into kind cluster {self.name}; build: nox -s toolbox")
                continue
            self.loaded.append(image)

    def _info(self, cluster: KindCluster, kubectl: Path) -> base.ClusterInfo:
        found = kubeconfig.probe(kubectl, cluster.kubeconfig_path, None)
        warning = skew_warning(found.client_minor, found.server_version)
        if warning:
            self._warn(warning)
        capabilities = kubeconfig.client_capabilities(found.client_minor)
        capabilities |= {base.TARGET_NAMESPACE, base.NODE_DEBUG}
        if found.ephemeral_containers:
            capabilities.add(base.EPHEMERAL_CONTAINERS)
        if TOOLBOX_IMAGE in self.loaded:
            capabilities.add(base.TOOLBOX_IMAGE)
        standin = STANDIN_MARK in self.kind_version
        return base.ClusterInfo(
            kind="kind",
            name=f"{self.name} (stand-in kind on the offline cluster)" if standin else self.name,
            kubeconfig=cluster.kubeconfig_path,
            context=None,
            server_version=found.server_version,
            nodes=found.nodes,
            capabilities=frozenset(capabilities),
            control_plane=found.control_plane,
        )

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)

    def release(self) -> None:
        """Delete the cluster if kdbgtest created it (and was not asked to keep it); else leave it be."""
        cluster, self._cluster = self._cluster, None
        if cluster is None:
            return
        if not self._created or self.settings.keep:
            if self._created:
                log.warning("kept kind cluster %s; delete it: kind delete cluster --name %s", self.name, self.name)
            return
        try:
            cluster.delete()
        except subprocess.CalledProcessError as exc:
            raise ClusterError(
                f"`kind delete cluster --name {self.name}` failed (exit {exc.returncode}); run it by hand"
            ) from None
        _remove_state_dir(cluster.path)


def require_engine(engine: str) -> Path:
    """The container engine's executable, or `ToolMissing` saying what to install."""
    found = shutil.which(engine)
    if found is None:
        hint = _ENGINE_HINTS.get(engine, f"install {engine}")
        raise ToolMissing(f"kind needs {engine}, which is not installed; {hint}")
    return Path(found)


def _kind_version(kind: Path) -> str:
    try:
        return process.run([str(kind), "version"], timeout=KIND_TIMEOUT).stdout.strip()
    except KdbgtestError as exc:
        raise ToolMissing(f"{kind} does not work as kind ({exc}); reinstall it or pass --kind PATH") from None


def _kind_lines(kind: Path, *args: str) -> list[str]:
    try:
        done = process.run([str(kind), *args], timeout=KIND_TIMEOUT)
    except KdbgtestError as exc:
        raise ClusterError(f"`kind {' '.join(args)}` failed: {exc}") from None
    return done.stdout.splitlines()


def _remove_state_dir(path: Path) -> None:
    """Remove pytest-kind's `.pytest-kind/<name>` (and `.pytest-kind` if it is then empty)."""
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def usable() -> bool:
    """Cheap check for `--cluster auto`: kind and the engine on PATH, and the engine's daemon answers."""
    if shutil.which("kind") is None or shutil.which(default_engine()) is None:
        return False
    try:
        process.run([default_engine(), "info"], timeout=10)
    except KdbgtestError:
        return False
    return True


def provider(request: base.ClusterRequest) -> KindProvider:
    """The provider for `--cluster kind` (the registry in `kdbgtest.cluster.select` calls this)."""
    return KindProvider(
        KindSettings(
            name=request.kind_name,
            config=request.kind_config,
            kind=request.kind_binary,
            kubectl=request.kubectl,
            keep=request.keep_cluster,
            engine=default_engine(),
        )
    )
