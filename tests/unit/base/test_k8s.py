"""The one walk over a pod's container statuses (and its twin over the spec)."""

from __future__ import annotations

from kdbgtest.base import k8s
from kdbgtest.debug import stuck


def _pod() -> k8s.Pod:
    return {
        "spec": {
            "initContainers": [{"name": "init"}],
            "containers": [{"name": "app"}, {"name": "side"}],
            "ephemeralContainers": [{"name": "dbg", "targetContainerName": "app"}],
        },
        "status": {
            "ephemeralContainerStatuses": [{"name": "dbg", "state": {"running": {}}}],
            "containerStatuses": [{"name": "app"}, {"name": "side"}],
            "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0}}}],
        },
    }


def test_statuses_come_init_regular_ephemeral_whatever_the_key_order() -> None:
    assert [s.get("name") for s in k8s.container_statuses(_pod())] == ["init", "app", "side", "dbg"]


def test_statuses_of_chosen_kinds_come_in_the_order_asked() -> None:
    pod = _pod()
    assert [s.get("name") for s in k8s.container_statuses(pod, ["ephemeral", "regular"])] == ["dbg", "app", "side"]
    assert [s.get("name") for s in k8s.container_statuses(pod, ["init"])] == ["init"]


def test_statuses_of_a_pod_without_status_or_with_nulls_and_junk_are_what_is_there() -> None:
    assert k8s.container_statuses({}) == []
    assert k8s.container_statuses({"status": {"containerStatuses": None}}) == []  # type: ignore[typeddict-item]
    junk: k8s.Obj = {"status": {"containerStatuses": ["x", {"name": "app"}, None]}}
    assert k8s.container_statuses(k8s.as_pod(junk)) == [{"name": "app"}]


def test_statuses_are_the_pods_own_objects() -> None:
    pod = _pod()
    k8s.container_statuses(pod)[1]["restartCount"] = 3
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 3


def test_containers_walk_the_spec_in_the_same_order() -> None:
    assert [c.get("name") for c in k8s.containers(_pod())] == ["init", "app", "side", "dbg"]
    assert [c.get("name") for c in k8s.containers(_pod(), ["regular"])] == ["app", "side"]
    assert k8s.containers({"metadata": {"name": "p"}}) == []


def test_cannot_start_looks_at_init_containers_whatever_the_names_asked() -> None:
    pod = _pod()
    pulling: k8s.ContainerState = {"waiting": {"reason": "ImagePullBackOff", "message": 'pulling "nope:1"'}}
    pod["status"]["initContainerStatuses"][0]["state"] = pulling
    assert stuck.cannot_start(pod, ["app"]) == 'container init: ImagePullBackOff: pulling "nope:1"'


def test_cannot_start_looks_only_at_the_regular_and_ephemeral_containers_asked() -> None:
    pod = _pod()
    pod["status"]["containerStatuses"][1]["state"] = {"waiting": {"reason": "ErrImageNeverPull"}}
    assert stuck.cannot_start(pod, ["app", "dbg"]) is None
    assert stuck.cannot_start(pod, ["side"]) == "container side: ErrImageNeverPull: no message"
    assert stuck.cannot_start(pod) == "container side: ErrImageNeverPull: no message"
