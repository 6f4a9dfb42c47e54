"""kind cluster config files (`clusters/*.yaml`): read them, and check them as far as can be done offline.

The checks follow kind's `v1alpha4` types (`pkg/apis/config/v1alpha4/types.go`): kind decodes strictly, so an
unknown key is an error there too; roles are `control-plane` or `worker`; `featureGates` maps gate names to
booleans and is passed to every Kubernetes component (API server, scheduler, controller manager, kubelet).
On top of kind's rules this project requires, for every file in `clusters/`: a control-plane and a worker
node, every node image pinned by digest (`kindest/node:vX.Y.Z@sha256:<64 hex>`), one image for all nodes,
and a comment right above each `image:` line citing the kind release that published it:

    # kindest/node v1.37.0 from the kind v0.33.0 release notes: <URL of that release>

where the URL is `https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kdbgtest.base.errors import ClusterError

API_VERSION = "kind.x-k8s.io/v1alpha4"
PIN = re.compile(r"^kindest/node:v(?P<version>1\.(?P<minor>\d+)\.\d+)@sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^(?:[\w.-]+/)*kindest/node:v(?P<version>1\.(?P<minor>\d+)\.\d+)(?:@sha256:[0-9a-f]{64})?$")
CITATION = re.compile(
    r"#.*\bv(?P<version>1\.\d+\.\d+)\b.*\bkind (?P<kind>v\d+\.\d+\.\d+)\b.*"
    r"https://github\.com/kubernetes-sigs/kind/releases/tag/(?P<tag>v\d+\.\d+\.\d+)"
)
GATE = re.compile(r"^[A-Z][A-Za-z0-9]+$")

# Keys of kind's v1alpha4 types, and the allowed values of its string enums.
CLUSTER_KEYS = {
    "kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig",
    "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches",
    "containerdConfigPatchesJSON6902",
}  # fmt: skip
NODE_KEYS = {
    "role", "image", "labels", "extraMounts", "extraPortMappings", "gpus", "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
}  # fmt: skip
NETWORKING_KEYS = {
    "ipFamily", "apiServerPort", "apiServerAddress", "podSubnet", "serviceSubnet", "disableDefaultCNI",
    "kubeProxyMode", "dnsSearch",
}  # fmt: skip
ROLES = ("control-plane", "worker")
IP_FAMILIES = ("ipv4", "ipv6", "dual")
PROXY_MODES = ("iptables", "ipvs", "nftables", "none")


@dataclass(frozen=True)
class KindNode:
    role: str
    image: str | None


@dataclass(frozen=True)
class KindConfig:
    """The parts of a kind config kdbgtest uses."""

    path: Path
    name: str | None
    nodes: tuple[KindNode, ...]
    feature_gates: dict[str, bool] = field(default_factory=dict)

    @property
    def kubernetes_version(self) -> str | None:
        """`1.37.0` from the control-plane node's image tag (None when no image is given)."""
        for node in sorted(self.nodes, key=lambda n: n.role != "control-plane"):
            match = TAG.match(node.image or "")
            if match:
                return match["version"]
        return None


def _read(path: Path) -> tuple[str, Any]:
    try:
        text = path.read_text()
        return text, yaml.safe_load(text)
    except OSError as exc:
        raise ClusterError(f"cannot read kind config {path}: {exc.strerror}; check --kind-config") from None
    except yaml.YAMLError as exc:
        raise ClusterError(f"kind config {path} is not valid YAML: {exc}") from None


def load(path: Path) -> KindConfig:
    """Parse a kind config; a file kind would refuse is a `ClusterError` naming the first problem."""
    _, data = _read(path)
    found = kind_problems(data)
    if found:
        raise ClusterError(f"kind config {path}: {found[0]}; see clusters/README.md")
    nodes = data.get("nodes") or [{"role": "control-plane"}]
    return KindConfig(
        path=path,
        name=data.get("name"),
        nodes=tuple(KindNode(n.get("role", "control-plane"), n.get("image")) for n in nodes),
        feature_gates=dict(data.get("featureGates") or {}),
    )


def _unknown(data: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    return [f"unknown field {where}{key!r} (kind decodes strictly)" for key in data if key not in allowed]


def kind_problems(data: Any) -> list[str]:
    """What kind's v1alpha4 decoding and validation would reject in `data`."""
    if not isinstance(data, dict):
        return ["the document is not a mapping"]
    problems = _unknown(data, CLUSTER_KEYS, "")
    if data.get("kind") != "Cluster":
        problems.append(f"kind must be Cluster, not {data.get('kind')!r}")
    if data.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion must be {API_VERSION}, not {data.get('apiVersion')!r}")
    problems += _node_problems(data.get("nodes", []))
    problems += _gate_problems(data.get("featureGates", {}))
    problems += _networking_problems(data.get("networking", {}))
    if "name" in data and not isinstance(data["name"], str):
        problems.append("name must be a string")
    return problems


def _node_problems(nodes: Any) -> list[str]:
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        return ["nodes must be a list of mappings"]
    problems: list[str] = []
    for i, node in enumerate(nodes):
        problems += _unknown(node, NODE_KEYS, f"nodes[{i}].")
        if node.get("role", "control-plane") not in ROLES:
            problems.append(f"nodes[{i}].role must be one of {', '.join(ROLES)}, not {node.get('role')!r}")
        if "image" in node and not isinstance(node["image"], str):
            problems.append(f"nodes[{i}].image must be a string")
        labels = node.get("labels", {})
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            problems.append(f"nodes[{i}].labels must map strings to strings")
    if nodes and not any(n.get("role", "control-plane") == "control-plane" for n in nodes):
        problems.append("nodes must include at least one control-plane node")
    return problems


def _gate_problems(gates: Any) -> list[str]:
    if not isinstance(gates, dict):
        return ["featureGates must map gate names to true or false"]
    problems = []
    for name, value in gates.items():
        if not isinstance(name, str) or not GATE.match(name):
            problems.append(f"featureGates key {name!r} is not a feature gate name (CamelCase)")
        if not isinstance(value, bool):
            problems.append(f"featureGates.{name} must be true or false, not {value!r}")
    return problems


def _networking_problems(networking: Any) -> list[str]:
    if not isinstance(networking, dict):
        return ["networking must be a mapping"]
    problems = _unknown(networking, NETWORKING_KEYS, "networking.")
    if networking.get("ipFamily", "ipv4") not in IP_FAMILIES:
        problems.append(f"networking.ipFamily must be one of {', '.join(IP_FAMILIES)}")
    if networking.get("kubeProxyMode", "iptables") not in PROXY_MODES:
        problems.append(f"networking.kubeProxyMode must be one of {', '.join(PROXY_MODES)}")
    return problems


def pin_problems(path: Path) -> list[str]:
    """This project's rules for `clusters/` files (see the module docstring), kind's own rules included."""
    text, data = _read(path)
    problems = kind_problems(data)
    if problems:
        return problems
    nodes = data.get("nodes") or []
    roles = {n.get("role", "control-plane") for n in nodes}
    if roles != set(ROLES):
        problems.append("a clusters/ file needs a control-plane and a worker node")
    images = {n.get("image") for n in nodes}
    for image in images:
        if not isinstance(image, str) or not PIN.match(image):
            problems.append(f"node image {image!r} is not pinned as kindest/node:vX.Y.Z@sha256:<64 hex>")
    if len(images) > 1:
        problems.append(f"all nodes must use the same image, found {len(images)}")
    return problems + citation_problems(text)


def citation_problems(text: str) -> list[str]:
    """Every `image:` line needs, right above it, a comment citing the kind release for that version."""
    lines = text.splitlines()
    problems = []
    for number, line in enumerate(lines, start=1):
        match = re.match(r"^\s*(?:-\s*)?image:\s*(\S+)", line)
        if not match:
            continue
        pin = PIN.match(match[1].strip("'\""))
        above = lines[number - 2].strip() if number > 1 else ""
        cited = CITATION.search(above)
        if not cited or cited["kind"] != cited["tag"]:
            problems.append(f"line {number}: the image needs a citation comment right above it")
        elif pin and cited["version"] != pin["version"]:
            cited_version, pinned = cited["version"], pin["version"]
            problems.append(f"line {number}: the citation is for v{cited_version}, the image is v{pinned}")
    return problems


def kind_release(path: Path) -> str:
    """The kind release (`v0.33.0`) cited for the images of a clusters/ file."""
    for line in path.read_text().splitlines():
        cited = CITATION.search(line)
        if cited:
            return cited["tag"]
    raise ClusterError(f"{path} cites no kind release; see clusters/README.md")
