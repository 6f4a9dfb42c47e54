"""Settings of one offline cluster, shared by the daemon, the API server and the node agents."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_NAME = "kdbg"
DEFAULT_VERSION = "1.34"
DEFAULT_STATE_ROOT = Path("/var/lib/kdbgtest/sim")  # 0700 and root's: see kdbgtest.base.private_dirs
STATE_ROOT_ENV = "KDBGTEST_SIM_STATE_ROOT"  # another root for the sims' state (held to the same ownership checks)


def state_root() -> Path:
    """Where a sim keeps its state unless given a state directory: $KDBGTEST_SIM_STATE_ROOT, else the default."""
    return Path(os.environ.get(STATE_ROOT_ENV) or DEFAULT_STATE_ROOT)


# The feature gates the sim models (a real API server refuses gates it does not know, and so does the sim):
# EphemeralContainers, off by default before 1.23, answers as a cluster without ephemeral containers;
# ConstrainedImpersonation (KEP-5284), on by default from 1.36 (seen on the local real cluster at v1.36.3 and
# v1.37.2; alpha, off, in 1.35), changes what a refused impersonation says.
KNOWN_GATES = ("EphemeralContainers", "ConstrainedImpersonation")


def unknown_gate(names: Iterable[str]) -> str | None:
    """The error for the first feature gate name the sim does not model, or None if it models them all."""
    for name in names:
        if name not in KNOWN_GATES:
            close = difflib.get_close_matches(name, KNOWN_GATES, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            return f"unrecognized feature gate {name!r}; {hint}the sim models {', '.join(KNOWN_GATES)}"
    return None


def node_names(cluster: str, count: int) -> list[str]:
    """Node names as kind makes them: NAME-control-plane, NAME-worker, NAME-worker2, ..."""
    names = [f"{cluster}-control-plane"]
    names += [f"{cluster}-worker" if i == 1 else f"{cluster}-worker{i}" for i in range(1, count)]
    return names


@dataclass(frozen=True)
class SimConfig:
    """One sim cluster. `time_scale` < 1 shortens CrashLoopBackOff delays (0.1: 1s, 2s, 4s ... 30s)."""

    name: str = DEFAULT_NAME
    nodes: int = 2
    kubernetes_version: str = DEFAULT_VERSION  # "1.N": every component at start (kdbgtest.sim.versions)
    feature_gates: dict[str, bool] = field(default_factory=dict)  # e.g. {"EphemeralContainers": False}
    state_dir: Path | None = None  # default: state_root() / name
    time_scale: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port

    @property
    def state_path(self) -> Path:
        return self.state_dir or state_root() / self.name

    @property
    def node_names(self) -> list[str]:
        return node_names(self.name, self.nodes)

    @property
    def minor(self) -> int:
        return int(self.kubernetes_version.split(".")[1])

    def feature(self, gate: str, minor: int | None = None) -> bool:
        """Whether a feature gate is on (unset gates: the default for version 1.`minor`, by default the one the
        cluster starts with; only the gates the sim knows)."""
        if gate in self.feature_gates:
            return self.feature_gates[gate]
        if gate == "EphemeralContainers":
            return (self.minor if minor is None else minor) >= 23
        if gate == "ConstrainedImpersonation":
            return (self.minor if minor is None else minor) >= 36
        return True
