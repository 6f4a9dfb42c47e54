"""Which clusters a matrix runs on: `--clusters ENTRY ...`, each entry one column of the report.

An entry is one of:

- `sim`, `sim:1.34` or `sim:1.34:EphemeralContainers=false,Gate=true`: the offline cluster reporting that
  Kubernetes version, with those feature gates (the sim knows `EphemeralContainers`; default for the version).
- a YAML file of the offline cluster (e.g. `clusters/sim/no-ephemeral.yaml`; parsed by `kdbgtest.cluster.simspec`):

      kind: SimCluster
      name: sim-1.34-no-ephemeral     # optional: the column's label
      kubernetesVersion: "1.34"       # optional (default: the sim's default version)
      featureGates: {EphemeralContainers: false}
      nodes: 2                        # optional
      timeScale: 0.1                  # optional: faster CrashLoopBackOff (0 < F <= 1)

- `local` or `local:1.37.2`: the real local cluster (`kdbgtest local`) of that pinned release (default
  v1.37.2); a running one of that version is used, otherwise one is started for the column and removed after.
- a kind cluster config (`kind: Cluster`, e.g. `clusters/kind-1.37.yaml`): run with the kind provider.

Columns are ordered by Kubernetes version (ties keep the command line's order; a version only known once
the cluster runs sorts last), so neighbouring columns are consecutive versions.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster import kindconfig, simspec
from kdbgtest.cluster.simspec import SimSettings

DEFAULT_SIM_VERSION = simspec.DEFAULT_VERSION
DEFAULT_LOCAL_VERSION = "v1.37.2"  # kdbgtest.local.pins.DEFAULT_VERSION (not imported: the front end stays light)
_VERSION = re.compile(r"^v?1\.(\d+)(?:\.(\d+))?$")


class MatrixError(KdbgtestError):
    """A matrix that cannot be run as given (bad `--clusters` entry, unreadable results)."""


@dataclass(frozen=True)
class ClusterSpec:
    """One column: where to run, and how it is called in the report."""

    source: str  # as given on the command line
    label: str  # "sim 1.34 EphemeralContainers=false"
    provider: str  # "sim" | "kind"
    version: str | None  # "1.34" or "1.37.0" when known before the cluster runs
    sim: SimSettings | None = None
    kind_config: Path | None = None
    local_version: str | None = None  # "v1.37.2" for a local column
    slug: str = ""  # directory under --out, unique in the matrix (set by `parse_all`)

    @property
    def order(self) -> tuple[int, int, int]:
        """Sort key: (1, minor, patch); unknown versions last."""
        match = _VERSION.match(self.version or "")
        if match is None:
            return (2, 0, 0)
        return (1, int(match[1]), int(match[2] or 0))


def parse_all(entries: list[str]) -> list[ClusterSpec]:
    """Every entry parsed, ordered by version, with unique directory names."""
    if not entries:
        raise MatrixError("--clusters needs at least one entry (e.g. sim:1.33 sim:1.34 or clusters/*.yaml)")
    specs = sorted((parse(entry) for entry in entries), key=lambda s: s.order)
    names = unique_names([spec.label for spec in specs])
    return [dataclasses.replace(spec, label=label, slug=slug) for spec, (label, slug) in zip(specs, names, strict=True)]


def unique_names(labels: list[str]) -> list[tuple[str, str]]:
    """(label, directory name) per column, both unique: a repeated label gets ` #2`, ` #3` ..."""
    seen: dict[str, int] = {}
    taken: set[str] = set()
    result = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique = label if seen[label] == 1 else f"{label} #{seen[label]}"
        slug, number = _slug(unique), 2
        while slug in taken:
            slug, number = f"{_slug(unique)}-{number}", number + 1
        taken.add(slug)
        result.append((unique, slug))
    return result


def parse(entry: str) -> ClusterSpec:
    """One `--clusters` entry (see the module docstring)."""
    if entry == "sim" or entry.startswith("sim:"):
        return _sim_shorthand(entry)
    if entry == "local" or entry.startswith("local:"):
        return _local(entry)
    path = Path(entry)
    if path.suffix not in (".yaml", ".yml"):
        raise MatrixError(
            f"--clusters entry {entry!r} is neither sim[:1.N[:Gate=true|false,...]], local[:v1.N.P] nor a .yaml "
            "cluster file"
        )
    data = _read(path)
    if data.get("kind") == "SimCluster":
        return _sim_file(path, data)
    if data.get("kind") == "Cluster":
        return _kind_file(path)
    raise MatrixError(
        f"{path}: `kind:` must be SimCluster (the offline cluster) or Cluster (a kind config); scenario "
        "paths go before --clusters or after --"
    )


def _sim_shorthand(entry: str) -> ClusterSpec:
    return _sim_spec(entry, simspec.from_shorthand(entry), None)


def _sim_file(path: Path, data: dict[str, Any]) -> ClusterSpec:
    settings, name = simspec.from_file(path, data)
    return _sim_spec(str(path), settings, name)


def _sim_spec(source: str, settings: SimSettings, label: str | None) -> ClusterSpec:
    gates = " ".join(f"{k}={str(v).lower()}" for k, v in sorted(settings.feature_gates.items()))
    derived = f"sim {settings.kubernetes_version}" + (f" {gates}" if gates else "")
    return ClusterSpec(source, label or derived, "sim", settings.kubernetes_version, sim=settings)


def _local(entry: str) -> ClusterSpec:
    version = entry.partition(":")[2] or DEFAULT_LOCAL_VERSION
    match = _VERSION.match(version)
    if match is None or match[2] is None:
        raise MatrixError(f"--clusters entry {entry!r}: expected local:v1.N.P (a pinned release), e.g. local:1.37.2")
    version = "v" + version.removeprefix("v")
    label = f"local {version.removeprefix('v')}"
    return ClusterSpec(entry, label, "local", version.removeprefix("v"), local_version=version)


def _kind_file(path: Path) -> ClusterSpec:
    config = kindconfig.load(path)  # a ClusterError naming the first problem kind would refuse
    version = config.kubernetes_version
    gates = " ".join(f"{k}={str(v).lower()}" for k, v in sorted(config.feature_gates.items()))
    label = f"kind {version}" if version else f"kind {path.stem}"
    return ClusterSpec(str(path), label + (f" {gates}" if gates else ""), "kind", version, kind_config=path)


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document of `path` (None when empty); a MatrixError naming `what` and `path` when the file cannot
    be read or is not YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError(f"cannot read {what} {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise MatrixError(f"{what} {path} is not valid YAML: {exc}") from None


def _read(path: Path) -> dict[str, Any]:
    data = read_yaml(path, "cluster file")
    if not isinstance(data, dict):
        raise MatrixError(f"cluster file {path} must be a mapping with `kind: SimCluster` or `kind: Cluster`")
    return data


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", label.lower()).strip("-") or "cluster"
