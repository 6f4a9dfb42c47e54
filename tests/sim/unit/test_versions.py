"""`kdbgtest.sim.versions`: the running components' versions, changed in place (pure, no cluster)."""

from __future__ import annotations

import pytest

from kdbgtest.sim import versions
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.versions import APISERVER, KUBELET, ComponentVersions


def test_every_component_starts_at_the_configured_version() -> None:
    running = ComponentVersions(SimConfig(kubernetes_version="1.36"))
    assert running.as_dict() == {
        "kube-apiserver": "1.36",
        "kube-controller-manager": "1.36",
        "kube-scheduler": "1.36",
        "kubelet": "1.36",
    }


def test_setting_one_component_changes_only_it_and_tells_the_subscribers_once() -> None:
    running = ComponentVersions(SimConfig(kubernetes_version="1.36"))
    heard: list[tuple[str, str]] = []
    running.subscribe(lambda component, version: heard.append((component, version)))
    running.set(KUBELET, "1.37")
    running.set(KUBELET, "1.37")  # no change: nothing to announce
    assert (running.minor(KUBELET), running.minor(APISERVER)) == (37, 36)
    assert heard == [("kubelet", "1.37")]


def test_feature_defaults_follow_each_components_version_and_configured_gates_win() -> None:
    running = ComponentVersions(SimConfig(kubernetes_version="1.22"))
    running.set(APISERVER, "1.23")
    assert running.feature(APISERVER, "EphemeralContainers") is True
    assert running.feature(KUBELET, "EphemeralContainers") is False
    gated = ComponentVersions(SimConfig(kubernetes_version="1.36", feature_gates={"EphemeralContainers": False}))
    assert gated.feature(APISERVER, "EphemeralContainers") is False


@pytest.mark.parametrize("bad", ["1.x", "v1.37", "1.37.0", "2.1", "1.", "1.037", ""])
def test_a_version_other_than_1_N_is_refused_and_nothing_changes(bad: str) -> None:
    running = ComponentVersions(SimConfig(kubernetes_version="1.36"))
    with pytest.raises(versions.InvalidVersion, match=r"expected a version like 1\.36"):
        running.set(KUBELET, bad)
    assert running.version(KUBELET) == "1.36"


def test_an_unknown_component_is_refused_naming_the_four() -> None:
    running = ComponentVersions(SimConfig())
    with pytest.raises(versions.UnknownComponent) as refused:
        running.set("etcd", "1.36")
    message = str(refused.value)
    assert all(name in message for name in versions.COMPONENTS)
