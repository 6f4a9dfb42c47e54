"""Cluster providers: what the kubeconfig provider probes, node ordering, `--cluster` selection, the sim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kdbg_fakes import FakeKubectl

from kdbgtest.base.errors import ClusterError
from kdbgtest.cluster import base, kubeconfig, select
from kdbgtest.sim.apiserver import discovery as sim_discovery


def node(name: str, *, control_plane: bool = False, taint: str | None = None, cordoned: bool = False) -> Any:
    labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
    spec: dict[str, Any] = {"unschedulable": True} if cordoned else {}
    if taint:
        spec["taints"] = [{"key": "k", "effect": taint}]
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def test_nodes_are_ordered_workers_first_and_unschedulable_ones_dropped() -> None:
    items = [
        node("cp", control_plane=True),
        node("w-cordoned", cordoned=True),
        node("w1"),
        node("w-tainted", taint="NoSchedule"),
        node("w-prefer", taint="PreferNoSchedule"),
    ]
    assert kubeconfig.order_nodes(items) == (("w1", "w-prefer", "cp"), "cp")
    tainted_cp = [node("cp", control_plane=True, taint="NoSchedule"), node("w1")]
    assert kubeconfig.order_nodes(tainted_cp) == (("w1",), "cp")


@pytest.mark.parametrize(
    ("info", "version"),
    [({"major": "1", "minor": "34"}, "1.34"), ({"major": "1", "minor": "30+"}, "1.30"),
     ({"gitVersion": "v1.29.3-eks-1"}, "1.29")],
)  # fmt: skip
def test_server_versions(info: dict[str, str], version: str) -> None:
    assert kubeconfig.parse_version(info) == version


def test_kubeconfig_provider_probes_version_nodes_and_discovery(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("")
    fake_kubectl.configure(raw={"/api/v1": {"resources": [{"name": "pods/ephemeralcontainers"}]}})
    info = kubeconfig.KubeconfigProvider(config, "ctx", fake_kubectl.path).acquire()
    assert info == base.ClusterInfo(
        kind="kubeconfig",
        name="ctx",
        kubeconfig=config,
        context="ctx",
        server_version="1.34",
        nodes=("kdbg-worker",),
        capabilities=frozenset(
            {"ephemeral-containers", "profiles", "sysadmin-profile", "target-namespace", "node-debug"}
        ),
        control_plane="kdbg-control-plane",
        server="Kubernetes v1.34.0",
    )
    assert fake_kubectl.records()[-1]["argv"][1:] == ["--context=ctx", "get", "--raw", "/api/v1"]


def test_a_sim_reached_by_kubeconfig_is_named_by_its_context_and_reported_as_the_offline_cluster(
    tmp_path: Path, fake_kubectl: FakeKubectl
) -> None:
    """`kdbgtest sim up`, then `--cluster kubeconfig --kubeconfig F`: not "kubeconfig cluster 'kubeconfig'"."""
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\ncurrent-context: kdbgtest-sim\n")
    served = sim_discovery.version("1.37")  # what the sim's /version answers
    fake_kubectl.configure(server_version=served)
    info = kubeconfig.KubeconfigProvider(config, None, fake_kubectl.path).acquire()
    assert (info.kind, info.name, info.server_version) == ("kubeconfig", "kdbgtest-sim", "1.37")
    assert info.server == "the offline kdbgtest cluster (kdbgtest sim) serving Kubernetes v1.37.0"


def test_no_ephemeral_subresource_means_no_capability(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("")
    info = kubeconfig.KubeconfigProvider(config, None, fake_kubectl.path).acquire()
    assert "ephemeral-containers" not in info.capabilities


def test_unreachable_cluster_is_one_sentence(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("")
    refused = "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n"
    fake_kubectl.configure(rules=[{"match": ["version"], "exit": 1, "stderr": refused}])
    with pytest.raises(ClusterError) as caught:
        kubeconfig.KubeconfigProvider(config, None, fake_kubectl.path).acquire()
    message = str(caught.value)
    assert message.startswith(f"cannot reach the cluster of {config}: `")
    assert message.endswith(f"exited with 1: {refused.strip()}; check --kubeconfig and --context")


def test_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no kind, no docker: kind is not usable
    given = base.ClusterRequest(kubeconfig=Path("/k"))
    assert select.choose(given) == "kubeconfig"
    assert select.choose(base.ClusterRequest(context="prod")) == "kubeconfig"
    assert select.choose(base.ClusterRequest()) == "sim"
    assert isinstance(select.provider(given), kubeconfig.KubeconfigProvider)
    with pytest.raises(ClusterError, match="cluster provider 'nope' is not available in this installation; use one"):
        select.provider(base.ClusterRequest(kind="nope"))


def test_registered_provider_wins_auto_when_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(select.PROVIDERS, "kind", select.Entry(lambda r: kubeconfig.KubeconfigProvider(), lambda: True))
    assert select.choose(base.ClusterRequest()) == "kind"
    monkeypatch.setitem(
        select.PROVIDERS, "kind", select.Entry(lambda r: kubeconfig.KubeconfigProvider(), lambda: False)
    )
    assert select.choose(base.ClusterRequest()) == "sim"


@pytest.mark.sim
def test_sim_provider_acquires_and_releases() -> None:
    from kdbgtest.cluster import sim
    from kdbgtest.sim import cluster as sim_cluster
    from kdbgtest.sim.config import SimConfig

    reason = sim_cluster.unavailable_reason()
    if reason:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    config = SimConfig(name="kdbgtest-provider-test", nodes=2, feature_gates={"EphemeralContainers": False})
    provider = sim.SimProvider(config)
    info = provider.acquire()
    try:
        assert (info.kind, info.name, info.server_version) == ("sim", config.name, config.kubernetes_version)
        assert info.nodes[0] == "kdbgtest-provider-test-worker"
        assert info.control_plane == "kdbgtest-provider-test-control-plane"
        assert "ephemeral-containers" not in info.capabilities and "node-debug" in info.capabilities
        assert info.kubeconfig.is_file()
    finally:
        provider.release()
    assert sim_cluster.SimCluster(config).status().state == "stopped"


def test_an_image_counts_only_when_every_schedulable_node_holds_it() -> None:
    def holding(item: Any, *names: str) -> Any:
        return {**item, "status": {"images": [{"names": [n], "sizeBytes": 1} for n in names]}}

    toolbox = "docker.io/" + base.TOOLBOX_IMAGE_NAME
    items = [
        holding(node("w1"), toolbox, "docker.io/kdbgtest/redis:1"),
        holding(node("w2"), base.TOOLBOX_IMAGE_NAME),
        holding(node("w-cordoned", cordoned=True)),  # not schedulable: what it lacks does not matter
    ]
    ordered, _ = kubeconfig.order_nodes(items)
    assert kubeconfig.images_on_every_node(items, ordered) == {base.TOOLBOX_IMAGE_NAME}
    items.append(holding(node("w3"), "docker.io/kdbgtest/redis:1"))
    ordered, _ = kubeconfig.order_nodes(items)
    assert kubeconfig.images_on_every_node(items, ordered) == set()
