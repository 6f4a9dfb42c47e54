"""Fast checks of the API server's pure parts: ages, STATUS cells, selectors, scheduler, store, schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kdbgtest.sim.apiserver import (
    fieldcheck,
    objects,
    openapi,
    podstatus,
    scheduler,
    selectors,
    status,
    timefmt,
)
from kdbgtest.sim.apiserver.store import HISTORY, Store
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import PodChange


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60 * 20, "3h20m"),
        (9 * 3600, "9h"),
        (50 * 3600, "2d2h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: int, shown: str) -> None:
    assert timefmt.human_duration(seconds) == shown


def _pod(statuses: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": s["name"]} for s in statuses]}
    spec.update(extra.pop("spec", {}))
    return {
        "metadata": {"name": "p", **extra.pop("metadata", {})},
        "spec": spec,
        "status": {"phase": "Running", "containerStatuses": statuses, **extra},
    }


def test_pod_status_cells_follow_the_printer() -> None:
    running = {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}}
    crashing = {
        "name": "b",
        "ready": False,
        "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": objects.now()}},
    }
    ready, reason, restarts = podstatus.pod_cells(_pod([running, crashing]))
    assert (ready, reason) == ("1/2", "CrashLoopBackOff")
    assert restarts.startswith("3 (") and restarts.endswith(" ago)")
    done = {
        "name": "a",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    assert podstatus.pod_cells(_pod([done], phase="Succeeded"))[1] == "Completed"
    signalled = {"name": "a", "ready": False, "restartCount": 0, "state": {"terminated": {"signal": 9}}}
    assert podstatus.pod_cells(_pod([signalled]))[1] == "Signal:9"
    creating = {
        "name": "a",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}},
    }
    assert podstatus.pod_cells(_pod([creating]))[1] == "ContainerCreating"
    terminating = _pod([running], metadata={"deletionTimestamp": objects.now()})
    assert podstatus.pod_cells(terminating)[1] == "Terminating"


def test_pod_status_cells_for_init_containers() -> None:
    waiting = {
        "name": "app",
        "ready": False,
        "restartCount": 0,
        "state": {"waiting": {"reason": "PodInitializing"}},
    }
    init_running = {"name": "init", "ready": False, "restartCount": 0, "state": {"running": {}}}
    pod = _pod(
        [waiting],
        spec={"initContainers": [{"name": "init"}]},
        phase="Pending",
        initContainerStatuses=[init_running],
    )
    assert podstatus.pod_cells(pod)[1] == "Init:0/1"
    pod["status"]["initContainerStatuses"] = [
        {"name": "init", "restartCount": 0, "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}
    ]
    assert podstatus.pod_cells(pod)[1] == "Init:Error"


def test_selectors() -> None:
    obj = {
        "metadata": {"name": "x", "namespace": "ns", "labels": {"app": "web", "tier": "front"}},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running"},
    }
    assert selectors.label_predicate("app=web,tier in (front,back)")(obj)
    assert not selectors.label_predicate("app=web,!tier")(obj)
    assert selectors.label_predicate("missing notin (a),app!=db")(obj)
    assert selectors.field_predicate("pods", "spec.nodeName=n1,status.phase!=Failed")(obj)
    assert not selectors.field_predicate("pods", "metadata.name==y")(obj)
    with pytest.raises(status.ApiError) as bad:
        selectors.field_predicate("pods", "spec.containers=x")
    assert bad.value.code == 400 and str(bad.value) == "field label not supported: spec.containers"


def test_scheduler_honours_taints_tolerations_and_selectors() -> None:
    config = SimConfig(name="k", nodes=3)
    nodes = [objects.node(config, i, n) for i, n in enumerate(config.node_names)]
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {}}
    busy = [{"metadata": {"name": "q"}, "spec": {"nodeName": "k-worker"}, "status": {"phase": "Running"}}]
    assert scheduler.schedule(pod, nodes, busy).node == "k-worker2"  # the control plane is tainted
    pod["spec"] = {
        "tolerations": [{"operator": "Exists"}],
        "nodeSelector": {"kubernetes.io/hostname": "k-control-plane"},
    }
    assert scheduler.schedule(pod, nodes, []).node == "k-control-plane"
    pod["spec"] = {"nodeSelector": {"kubernetes.io/hostname": "k-control-plane"}}
    decision = scheduler.schedule(pod, nodes, [])
    assert decision.node is None
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling."
    )


def test_a_single_node_cluster_schedules_on_its_untainted_control_plane() -> None:
    """kind removes the control-plane taint when the cluster has one node; so does the sim."""
    config = SimConfig(name="k", nodes=1)
    nodes = [objects.node(config, 0, "k-control-plane")]
    assert "taints" not in nodes[0]["spec"]
    assert nodes[0]["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
    pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {}}
    assert scheduler.schedule(pod, nodes, []).node == "k-control-plane"


def _pod_obj(name: str, node: str = "") -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "a", "image": "i"}]},
        "status": {"phase": "Pending"},
    }
    if node:
        pod["spec"]["nodeName"] = node
    objects.stamp_new(pod, "default")
    return pod


def test_store_watch_replays_history_and_expires_old_versions() -> None:
    store = Store(SimConfig(name="s"))
    start = int(store.resource_version)
    store.create("pods", _pod_obj("a"))
    watch = store.watch("pods", "default", start)
    assert watch.queue.get_nowait().type == "ADDED"  # type: ignore[union-attr]
    store.remove("pods", "default", "a")
    event = watch.queue.get_nowait()
    assert event is not None and event.type == "DELETED" and event.rv == int(store.resource_version)
    for i in range(HISTORY):
        store.create("pods", _pod_obj(f"p{i}"))
    with pytest.raises(status.ApiError) as gone:
        store.watch("pods", None, start)
    assert gone.value.code == 410 and gone.value.status["reason"] == "Expired"


def test_store_tells_a_node_about_pods_bound_to_it() -> None:
    store = Store(SimConfig(name="s"))
    seen: list[PodChange] = []
    store.subscribe_pods("s-worker", seen.append)
    pod = store.create("pods", _pod_obj("p"))
    pod["spec"]["nodeName"] = "s-worker"
    store.update("pods", pod)
    assert [c.type for c in seen] == ["ADDED"]  # bound: new to this node
    assert store.update_pod_status("default", "p", {"phase": "Running"}) is not None
    store.record_event(pod, "Started", "Started container a")
    store.record_event(pod, "Started", "Started container a")
    events = store.list_objects("events", "default")
    assert [(e["reason"], e["count"], e["source"]) for e in events] == [
        ("Started", 2, {"component": "kubelet", "host": "s-worker"})
    ]
    store.finish_pod_deletion("default", "p")
    assert [c.type for c in seen] == ["ADDED", "MODIFIED", "DELETED"]
    assert store.update_pod_status("default", "p", {}) is None


def test_unknown_fields_and_openapi_patch_metadata() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x", "labelz": {}},
        "spec": {"containers": [{"name": "a", "image": "b", "ports": [{"containerPort": 80, "hostt": 1}]}]},
    }
    assert fieldcheck.unknown_fields("Pod", pod) == ["metadata.labelz", "spec.containers[0].ports[0].hostt"]
    doc = json.loads(openapi.api_v1_document())
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    spec = doc["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert spec["ephemeralContainers"]["x-kubernetes-patch-merge-key"] == "name"
    assert openapi.index()["paths"]["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    gate_off = json.loads(openapi.api_v1_document(ephemeral=False))["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers" not in gate_off
    assert openapi.index(False) != openapi.index(True)  # a different document, a different hash
