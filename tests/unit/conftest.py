"""Fixtures shared by the unit tests of the runner, the CLI and the pytest plugin: a recording fake kubectl
(tests/data/fake_kubectl.py, see tests/unit/kdbg_fakes.py) and a cluster description pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl, install_fake_kubectl

from kdbgtest.cluster.base import ClusterInfo

ALL_CAPABILITIES = frozenset({"ephemeral-containers", "target-namespace", "node-debug", "profiles", "sysadmin-profile"})


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKubectl:
    fake = install_fake_kubectl(tmp_path)
    monkeypatch.setenv("FAKE_KUBECTL_DIR", str(fake.state))
    return fake


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
