"""The kind provider's checks that need no cluster: tool lookup and its messages, skew, selection, options."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kdbgtest import options
from kdbgtest.base.errors import ClusterError, ToolMissing
from kdbgtest.cluster import base, kind, select

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "clusters" / "kind-1.37.yaml"


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    return bare


def test_missing_kind_says_what_to_install(empty_path: Path) -> None:
    with pytest.raises(ToolMissing) as caught:
        kind.KindProvider(kind.KindSettings()).acquire()
    assert str(caught.value) == (
        "kind is not installed; install kind from "
        "https://kind.sigs.k8s.io/docs/user/quick-start/#installation or pass --kind PATH"
    )


def test_a_wrong_kind_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match=r"^kind not found at .*/nowhere/kind; fix the path or install"):
        kind.KindProvider(kind.KindSettings(kind=tmp_path / "nowhere" / "kind")).acquire()


def test_missing_engine_says_what_to_install(empty_path: Path) -> None:
    fake_kind = empty_path / "kind"
    fake_kind.write_text("#!/bin/sh\nexit 0\n")
    fake_kind.chmod(0o755)
    with pytest.raises(ToolMissing) as caught:
        kind.KindProvider(kind.KindSettings()).acquire()
    assert str(caught.value) == (
        "kind needs docker, which is not installed; install Docker Engine "
        "(https://docs.docker.com/engine/install/) and start it"
    )
    assert kind.usable() is False


def test_podman_is_the_engine_when_kind_is_told_so(monkeypatch: pytest.MonkeyPatch, empty_path: Path) -> None:
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    assert kind.default_engine() == "podman"
    with pytest.raises(ToolMissing, match="kind needs podman"):
        kind.require_engine(kind.default_engine())


@pytest.mark.parametrize(
    ("client", "server", "warned"),
    [(37, "1.37", False), (37, "1.36", False), (37, "1.38", False), (37, "1.35", True), (37, "1.22", True)],
)
def test_skew_beyond_one_minor_is_warned(client: int, server: str, warned: bool) -> None:
    assert (kind.skew_warning(client, server) is not None) is warned


def test_kind_config_selects_kind_and_names_the_cluster() -> None:
    request = base.ClusterRequest(kind_config=CONFIG, kind_binary=Path("/opt/kind"), keep_cluster=True)
    assert select.choose(request) == "kind"
    provider = select.provider(request)
    assert isinstance(provider, kind.KindProvider)
    assert provider.name == "kdbgtest-1-37"  # the config's name
    assert provider.settings.kind == Path("/opt/kind")
    assert provider.settings.keep is True
    named = select.provider(base.ClusterRequest(kind="kind", kind_name="mine"))
    assert isinstance(named, kind.KindProvider)
    assert named.name == "mine"


def test_command_line_options_reach_the_request() -> None:
    parser = argparse.ArgumentParser()
    options.add_to_argparse(parser)
    args = parser.parse_args(["--kind", "/opt/kind", "--kind-config", str(CONFIG), "--keep-cluster"])
    request = options.cluster_request(vars(args))
    assert request == base.ClusterRequest(
        kind="auto", kind_binary=Path("/opt/kind"), kind_config=CONFIG, keep_cluster=True
    )


def test_a_config_kind_would_refuse_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: master\n")
    with pytest.raises(ClusterError) as caught:
        kind.KindProvider(kind.KindSettings(config=bad))
    assert str(caught.value) == (
        f"kind config {bad}: nodes[0].role must be one of control-plane, worker, not 'master'; see clusters/README.md"
    )
