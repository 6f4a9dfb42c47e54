"""Fixtures: a recording fake kubectl (tests/data/fake_kubectl.py), a cluster, and a scenario runner."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from runner_fakes import FakeKubectl, Recorder, Runner, write_scenario

from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.runner import engine, events

DATA = Path(__file__).resolve().parents[2] / "data"
ALL_CAPABILITIES = frozenset(
    {"ephemeral-containers", "target-namespace", "node-debug", "profiles", "sysadmin-profile"}
)


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKubectl:
    state = tmp_path / "kubectl-state"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "kubectl"
    script = DATA / "fake_kubectl.py"
    wrapper.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("FAKE_KUBECTL_DIR", str(state))
    return FakeKubectl(wrapper, state)


@pytest.fixture
def cluster(tmp_path: Path) -> ClusterInfo:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    return ClusterInfo(
        kind="kubeconfig",
        name="fake",
        kubeconfig=kubeconfig,
        context=None,
        server_version="1.34",
        nodes=("kdbg-worker",),
        capabilities=ALL_CAPABILITIES,
        control_plane="kdbg-control-plane",
    )


@pytest.fixture
def run_scenario(tmp_path: Path, fake_kubectl: FakeKubectl, cluster: ClusterInfo) -> Runner:
    """Write a scenario, run it with the fake kubectl, return the result and every event."""

    def run(text: str, **options: Any) -> tuple[events.ScenarioFinished, Recorder]:
        loaded = write_scenario(tmp_path, text)
        recorder = Recorder()
        settings = {
            "run_id": "r1",
            "artifacts": tmp_path / "artifacts",
            "kubectl": fake_kubectl.path,
            **options,
        }
        result = engine.run_one(loaded, cluster, engine.RunOptions(**settings), [recorder])
        return result, recorder

    return run
