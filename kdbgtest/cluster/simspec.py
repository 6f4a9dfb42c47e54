"""An offline cluster described on the command line or in a file: `sim[:1.N[:Gate=true|false,...]]`, or a YAML
file with `kind: SimCluster` (see `kdbgtest.matrix.spec` for the keys). Parsed here, in `cluster/`, because only
the cluster layer knows the sim exists: its default version and the feature gates it models.

Errors are `ClusterError`s of one line naming the entry or file, like a kind config's (`kindconfig.load`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.base.errors import ClusterError
from kdbgtest.sim.config import DEFAULT_VERSION as DEFAULT_VERSION  # the sim's default Kubernetes minor
from kdbgtest.sim.config import SimConfig, unknown_gate

KEYS = {"kind", "name", "kubernetesVersion", "featureGates", "nodes", "timeScale"}
_MINOR = re.compile(r"^v?1\.(\d+)(?:\.(\d+))?$")
_GATE = re.compile(r"^[A-Z][A-Za-z0-9]+$")


@dataclass(frozen=True)
class SimSettings:
    kubernetes_version: str = DEFAULT_VERSION
    feature_gates: dict[str, bool] = field(default_factory=dict)
    nodes: int = 2
    time_scale: float = 1.0

    def config(self, name: str) -> SimConfig:
        """The configuration of a sim called `name` with these settings."""
        return SimConfig(
            name=name,
            nodes=self.nodes,
            kubernetes_version=self.kubernetes_version,
            feature_gates=dict(self.feature_gates),
            time_scale=self.time_scale,
        )


def from_shorthand(entry: str) -> SimSettings:
    """`sim`, `sim:1.34` or `sim:1.34:EphemeralContainers=false,Gate=true`."""
    _, _, rest = entry.partition(":")
    version, _, gates_text = rest.partition(":")
    return SimSettings(
        kubernetes_version=_version(version, entry) if version else DEFAULT_VERSION,
        feature_gates=_gates_text(gates_text, entry),
    )


def from_file(path: Path, data: dict[str, Any]) -> tuple[SimSettings, str | None]:
    """The settings of a `kind: SimCluster` file already read into `data`, and its `name:` if it has one."""
    unknown = sorted(set(data) - KEYS)
    if unknown:
        known = ", ".join(sorted(KEYS))
        raise ClusterError(f"{path}: unknown key {unknown[0]!r}; a SimCluster has {known}")
    gates = data.get("featureGates") or {}
    items = gates.items() if isinstance(gates, dict) else [("", None)]
    valid = all(_GATE.match(str(k)) and isinstance(v, bool) for k, v in items)
    if not valid:
        raise ClusterError(f"{path}: featureGates must map gate names to true or false")
    problem = unknown_gate(str(k) for k in gates)
    if problem:
        raise ClusterError(f"{path}: {problem}")
    nodes, scale = data.get("nodes", 2), data.get("timeScale", 1.0)
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise ClusterError(f"{path}: nodes must be a whole number of at least 1, got {nodes!r}")
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0 < scale <= 1:
        raise ClusterError(f"{path}: timeScale must be a number in (0, 1], got {scale!r}")
    version = data.get("kubernetesVersion")
    settings = SimSettings(
        kubernetes_version=_version(str(version), str(path)) if version is not None else DEFAULT_VERSION,
        feature_gates={str(k): v for k, v in gates.items()},
        nodes=nodes,
        time_scale=float(scale),
    )
    name = data.get("name")
    return settings, str(name) if name else None


def _version(text: str, where: str) -> str:
    match = _MINOR.match(text.strip())
    if match is None or match[2] is not None:
        raise ClusterError(f"{where}: expected a Kubernetes minor version like 1.34, got {text!r}")
    return f"1.{int(match[1])}"


def _gates_text(text: str, where: str) -> dict[str, bool]:
    gates: dict[str, bool] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not _GATE.match(key) or value.lower() not in ("true", "false"):
            raise ClusterError(f"{where}: expected feature gates as Name=true|false[,...], got {item!r}")
        gates[key] = value.lower() == "true"
    problem = unknown_gate(gates)
    if problem:
        raise ClusterError(f"{where}: {problem}")
    return gates
