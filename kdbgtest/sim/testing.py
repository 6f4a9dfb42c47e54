"""A sim cluster for pytest fixtures.

    @pytest.fixture(scope="session")
    def sim(tmp_path_factory):
        with sim_cluster(tmp_path_factory, nodes=1, time_scale=0.1) as handle:
            yield handle  # handle.kubeconfig, handle.config, handle.cluster (e.g. to upgrade it in place)

Skips (with the reason) when the machine cannot run the sim (not root, runc or busybox missing). The state
directory is a fresh temporary directory unless `state_dir` is given. On exit the cluster is stopped, and
anything its clean shutdown left behind fails the teardown (`check_leaks=False` to only remove it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.sim import cluster
from kdbgtest.sim.config import SimConfig


@dataclass(frozen=True)
class SimHandle:
    """A running sim cluster: its kubeconfig, configuration and `SimCluster`."""

    kubeconfig: Path
    config: SimConfig
    cluster: cluster.SimCluster


@contextlib.contextmanager
def sim_cluster(
    tmp_path_factory: pytest.TempPathFactory, *, check_leaks: bool = True, **config: Any
) -> Iterator[SimHandle]:
    """Run a sim cluster (SimConfig fields as keyword arguments) for the duration of the block."""
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    config.setdefault("state_dir", tmp_path_factory.mktemp("sim-state", numbered=True))
    sim_config = SimConfig(**config)
    sim = cluster.SimCluster(sim_config)
    kubeconfig = sim.up()
    try:
        yield SimHandle(kubeconfig, sim_config, sim)
    finally:
        leftovers = sim.down()
    if check_leaks and leftovers:
        raise AssertionError(f"sim cluster '{sim_config.name}' left behind after shutdown: {leftovers}")
