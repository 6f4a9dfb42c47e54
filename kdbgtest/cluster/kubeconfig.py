"""An existing cluster reached through a kubeconfig (`--kubeconfig FILE --context NAME`).

What is probed, cheaply and honestly:
- the server version (`kubectl version -o json`), and what the server is (the offline cluster marks its
  /version);
- schedulable nodes (`kubectl get nodes -o json`): workers first, then control-plane nodes that accept pods;
  a node that is cordoned or has a NoSchedule/NoExecute taint is not schedulable;
- `ephemeral-containers`: API discovery (`kubectl get --raw /api/v1`) lists `pods/ephemeralcontainers`,
  which the API server registers only when the feature is on;
- `profiles` / `sysadmin-profile`: the kubectl client version (`--profile` general..netadmin since 1.27,
  sysadmin since 1.30): profiles are applied client-side by kubectl;
- `target-namespace` and `node-debug` are assumed on a real cluster: both depend on the container runtime and
  node policy, which cannot be probed without running a pod. A scenario needing them fails, not skips, where
  they do not work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kdbgtest.base import k8s, process, tools
from kdbgtest.base.errors import ClusterError, KdbgtestError
from kdbgtest.cluster import base

PROBE_TIMEOUT = 30.0
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@dataclass(frozen=True)
class Probe:
    """What a cluster reports about itself."""

    server_version: str  # "1.34"
    client_minor: int  # kubectl's minor version
    nodes: tuple[str, ...]  # schedulable, workers first
    control_plane: str
    ephemeral_containers: bool
    server: str = ""  # `describe_server` of its /version
    images: frozenset[str] = frozenset()  # images every schedulable node holds (status.images), without docker.io/


def default_kubeconfig() -> Path:
    """$KUBECONFIG (its first entry) or ~/.kube/config."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def _kubectl_json(kubectl: Path, kubeconfig: Path, context: str | None, args: list[str]) -> Any:
    argv = [str(kubectl), f"--kubeconfig={kubeconfig}", *([f"--context={context}"] if context else []), *args]
    try:
        done = process.run(argv, timeout=PROBE_TIMEOUT)
        return json.loads(done.stdout)
    except KdbgtestError as exc:
        where = f"{kubeconfig}" + (f" (context {context})" if context else "")
        raise ClusterError(f"cannot reach the cluster of {where}: {exc}; check --kubeconfig and --context") from None
    except json.JSONDecodeError:
        raise ClusterError(f"`kubectl {' '.join(args)}` did not print JSON; is {kubectl} a kubectl?") from None


def parse_version(info: dict[str, Any]) -> str:
    """`1.34` from a version.Info (`minor` may carry a `+` suffix on managed clusters)."""
    major = str(info.get("major", "")).rstrip("+")
    minor = str(info.get("minor", "")).rstrip("+")
    if not (major.isdigit() and minor.isdigit()):
        git = str(info.get("gitVersion", "")).lstrip("v").split(".")
        major, minor = [*git, "", ""][:2]
    if not (major.isdigit() and minor.isdigit()):
        raise ClusterError(f"the server reported a version kdbgtest cannot read: {info}")
    return f"{major}.{minor}"


def describe_server(info: dict[str, Any]) -> str:
    """What the API server is, from its /version: `Kubernetes v1.37.2`, or the offline cluster, which marks
    its gitCommit (kdbgtest.sim.facade.GIT_COMMIT)."""
    from kdbgtest.sim import facade as sim_facade  # not at the top: `kdbgtest --help` loads this module

    release = f"Kubernetes {info.get('gitVersion') or parse_version(info)}"
    if info.get("gitCommit") == sim_facade.GIT_COMMIT:
        return f"the offline kdbgtest cluster (kdbgtest sim) serving {release}"
    return release


def current_context(kubeconfig: Path) -> str | None:
    """The kubeconfig's `current-context` (None if the file does not say or cannot be read)."""
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    found = data.get("current-context") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


def is_control_plane(node: k8s.Node) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return any(label in labels for label in CONTROL_PLANE_LABELS)


def is_schedulable(node: k8s.Node) -> bool:
    spec = node.get("spec") or {}
    taints = [t for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    return not spec.get("unschedulable") and not taints


def order_nodes(items: list[k8s.Node]) -> tuple[tuple[str, ...], str]:
    """Schedulable node names (workers first) and the first control-plane node's name ("" if none)."""
    names = [(is_control_plane(n), str((n.get("metadata") or {}).get("name"))) for n in items]
    schedulable = [name for (cp, name), n in zip(names, items, strict=True) if is_schedulable(n)]
    workers = [name for cp, name in names if not cp and name in schedulable]
    planes = [name for cp, name in names if cp]
    ordered = workers + [name for name in planes if name in schedulable]
    return tuple(ordered), planes[0] if planes else ""


def images_on_every_node(items: list[k8s.Node], schedulable: tuple[str, ...]) -> frozenset[str]:
    """The image names (`kdbgtest/debug-toolbox:1`; docker.io/ dropped) that every schedulable node lists in
    its status.images: what a pod can start from without a pull (kind load, ctr import, the sim's archives)."""
    held: frozenset[str] | None = None
    for node in items:
        if str((node.get("metadata") or {}).get("name")) not in schedulable:
            continue
        status: dict[str, Any] = dict(node.get("status") or {})
        names = {str(n).removeprefix("docker.io/") for i in status.get("images") or [] for n in i.get("names") or []}
        held = frozenset(names) if held is None else held & names
    return held or frozenset()


def probe(kubectl: Path, kubeconfig: Path, context: str | None) -> Probe:
    """Ask the cluster for its version, nodes and ephemeral-container support."""
    version = _kubectl_json(kubectl, kubeconfig, context, ["version", "-o", "json"])
    if "serverVersion" not in version:
        raise ClusterError(f"kubectl could not get the server version from {kubeconfig}; is the cluster up?")
    client = parse_version(version.get("clientVersion") or {})
    nodes = _kubectl_json(kubectl, kubeconfig, context, ["get", "nodes", "-o", "json"]).get("items") or []
    ordered, control_plane = order_nodes(nodes)
    discovery = _kubectl_json(kubectl, kubeconfig, context, ["get", "--raw", "/api/v1"])
    resources = {r.get("name") for r in discovery.get("resources") or []}
    return Probe(
        server_version=parse_version(version["serverVersion"]),
        client_minor=int(client.split(".")[1]),
        nodes=ordered,
        control_plane=control_plane,
        ephemeral_containers="pods/ephemeralcontainers" in resources,
        server=describe_server(version["serverVersion"]),
        images=images_on_every_node(nodes, ordered),
    )


def named_users(path: Path) -> set[str]:
    """`named-users` if the kubeconfig has the users kdbgtest-alice and kdbgtest-bob (scenarios that act as a
    user who authenticates itself, e.g. to be refused impersonation, use them with `kubectl --user`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return set()
    names = {u.get("name") for u in data.get("users") or [] if isinstance(u, dict)} if isinstance(data, dict) else set()
    return {base.NAMED_USERS} if set(base.NAMED_USER_ENTRIES) <= names else set()


def client_capabilities(client_minor: int) -> set[str]:
    """Capabilities that come from kubectl itself."""
    found = set()
    if client_minor >= 27:
        found.add(base.PROFILES)
    if client_minor >= 30:
        found.add(base.SYSADMIN_PROFILE)
    return found


class KubeconfigProvider:
    """A cluster that already exists; acquire probes it, release does nothing (kdbgtest did not create it)."""

    def __init__(self, kubeconfig: Path | None = None, context: str | None = None, kubectl: Path | None = None):
        self.kubeconfig = kubeconfig or default_kubeconfig()
        self.context = context
        self.kubectl = kubectl

    def acquire(self) -> base.ClusterInfo:
        if not self.kubeconfig.is_file():
            raise ClusterError(f"kubeconfig {self.kubeconfig} does not exist; pass --kubeconfig FILE")
        found = probe(tools.require("kubectl", self.kubectl), self.kubeconfig, self.context)
        capabilities = client_capabilities(found.client_minor) | {base.TARGET_NAMESPACE, base.NODE_DEBUG}
        capabilities |= named_users(self.kubeconfig)
        if found.ephemeral_containers:
            capabilities.add(base.EPHEMERAL_CONTAINERS)
        if base.TOOLBOX_IMAGE_NAME in found.images:  # loaded on every node, e.g. `kind load image-archive`
            capabilities.add(base.TOOLBOX_IMAGE)
        return base.ClusterInfo(
            kind="kubeconfig",
            name=self.context or current_context(self.kubeconfig) or self.kubeconfig.name,
            kubeconfig=self.kubeconfig,
            context=self.context,
            server_version=found.server_version,
            nodes=found.nodes,
            capabilities=frozenset(capabilities),
            control_plane=found.control_plane,
            server=found.server,
        )

    def release(self) -> None:
        """Nothing to undo: the cluster belongs to the user."""
