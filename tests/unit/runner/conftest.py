"""`run_scenario`: write a scenario file, run it with the fake kubectl, return the result and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kdbg_fakes import FakeKubectl, Recorder, Runner, write_scenario

from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.runner import engine, events


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
