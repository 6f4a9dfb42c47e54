"""scenarios/toolbox/debug-toolbox.yaml on the offline cluster: it runs where `kdbgtest images build` made the
toolbox and fixture archives (the capability says so) and passes there, every tool present; without them it is
skipped for the capability. (An unbuilt image failing like a pull that names the build: tests/sim/node.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.cluster import base
from kdbgtest.cluster import sim as sim_provider
from kdbgtest.runner import engine
from kdbgtest.scenario import loader
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.node import toolbox

pytestmark = [pytest.mark.sim, pytest.mark.e2e]

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "toolbox" / "debug-toolbox.yaml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[base.ClusterInfo]:
    reason = sim_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    config = SimConfig(name=f"tbx-{uuid.uuid4().hex[:6]}", state_dir=tmp_path_factory.mktemp("sim"))
    provider = sim_provider.SimProvider(config)
    info = provider.acquire()
    try:
        yield info
    finally:
        provider.release()


def test_capability_follows_the_built_archives(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    assert (base.TOOLBOX_IMAGE in cluster.capabilities) is (not toolbox.missing())
    result = engine.run_one(loader.load_file(SCENARIO), cluster, engine.RunOptions(artifacts=tmp_path), [])
    if toolbox.missing():
        assert result.verdict == "skipped"
        assert "toolbox-image" in result.message
    else:
        assert result.verdict == "passed", result.message
