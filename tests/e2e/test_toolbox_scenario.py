"""scenarios/toolbox/debug-toolbox.yaml on the offline cluster: skipped while the sim's toolbox image is
incomplete (the capability says so), and, run anyway, it names exactly the tools the host lacks; it passes
where the host has them all."""

from __future__ import annotations

import dataclasses
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


def test_capability_follows_the_hosts_tools(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    assert (base.TOOLBOX_IMAGE in cluster.capabilities) is (not toolbox.missing())
    result = engine.run_one(loader.load_file(SCENARIO), cluster, engine.RunOptions(artifacts=tmp_path), [])
    if toolbox.missing():
        assert result.verdict == "skipped"
        assert "toolbox-image" in result.message
    else:
        assert result.verdict == "passed", result.message


def test_run_anyway_it_names_each_missing_tool(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    forced = dataclasses.replace(cluster, capabilities=cluster.capabilities | {base.TOOLBOX_IMAGE})
    result = engine.run_one(loader.load_file(SCENARIO), forced, engine.RunOptions(artifacts=tmp_path), [])
    missing = toolbox.missing()
    if not missing:
        assert result.verdict == "passed", result.message
        return
    assert result.verdict == "failed"
    assert result.failed_step == "every-tool-ok"
    names = {"bash": "shell", "ip": "iproute2"}  # the scenario's names for these
    reported = sorted(line.split()[1] for line in result.message.splitlines() if line.startswith("MISSING "))
    assert reported == sorted(names.get(tool, tool) for tool in missing), result.message
    assert result.message.endswith(f"missing: {len(missing)}")
