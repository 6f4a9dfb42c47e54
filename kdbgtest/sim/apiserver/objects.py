"""Builders for the objects the API server makes itself: metadata stamps, nodes, namespaces, events."""

from __future__ import annotations

import platform
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.config import SimConfig

CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand


def now() -> str:
    """RFC 3339 UTC timestamp with second precision, as metav1.Time serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(seconds: int) -> str:
    """The timestamp `seconds` from now (a deletionTimestamp)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_CHARS) for _ in range(length))


def stamp_new(obj: Obj, namespace: str | None) -> None:
    """Server-set metadata of a new object: name from generateName, uid, creationTimestamp, generation."""
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + random_suffix()
    if namespace is not None:
        meta["namespace"] = namespace
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now()
    for server_only in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(server_only, None)


def arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def node(config: SimConfig, index: int, name: str) -> Obj:
    """A kind-like Node: the first is the control plane, tainted NoSchedule unless it is the only node (as kind
    removes the taint from a single-node cluster), the others plain workers."""
    labels = {
        "beta.kubernetes.io/arch": arch(),
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch(),
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    spec: Obj = {
        "podCIDR": f"10.244.{index}.0/24",
        "podCIDRs": [f"10.244.{index}.0/24"],
        "providerID": f"kdbgtest-sim://{config.name}/{name}",
    }
    if index == 0:
        labels[CONTROL_PLANE_ROLE] = ""
        if config.nodes > 1:
            spec["taints"] = [{"effect": "NoSchedule", "key": CONTROL_PLANE_ROLE}]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
    stamp_new(obj, None)
    obj["status"] = node_status(config, index, name)
    return obj


def node_status(config: SimConfig, index: int, name: str) -> Obj:
    resources = {
        "cpu": "2",
        "ephemeral-storage": "102626232Ki",
        "hugepages-2Mi": "0",
        "memory": "8129996Ki",
        "pods": "110",
    }
    created = now()
    return {
        "addresses": [
            {"address": f"172.18.0.{index + 2}", "type": "InternalIP"},
            {"address": name, "type": "Hostname"},
        ],
        "allocatable": dict(resources),
        "capacity": dict(resources),
        "conditions": [
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.",
                "lastHeartbeatTime": created,
                "lastTransitionTime": created,
            }
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "architecture": arch(),
            "bootID": str(uuid.uuid4()),
            "containerRuntimeVersion": "runc://1.1.5",
            "kernelVersion": platform.release(),
            "kubeProxyVersion": "",
            "kubeletVersion": f"v{config.kubernetes_version}.0",
            "machineID": uuid.uuid4().hex,
            "operatingSystem": "linux",
            "osImage": "kdbgtest sim node",
            "systemUUID": str(uuid.uuid4()),
        },
    }


def node_lease(node: Obj) -> Obj:
    """A coordination.k8s.io/v1 Lease held by the node, renewed now."""
    meta = node["metadata"]
    renewed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    owner = {"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta["uid"]}
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": "kube-node-lease",
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, meta["uid"])),
            "creationTimestamp": meta["creationTimestamp"],
            "ownerReferences": [owner],
        },
        "spec": {"holderIdentity": meta["name"], "leaseDurationSeconds": 40, "renewTime": renewed},
    }


def namespace(name: str) -> Obj:
    obj: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    prepare_namespace(obj)
    return obj


def prepare_namespace(obj: Obj) -> None:
    """Server-side fields of a namespace being created."""
    stamp_new(obj, None)
    meta = obj["metadata"]
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def object_reference(involved: Obj) -> Obj:
    """An ObjectReference for `involved`: either a full object or already a reference."""
    if "metadata" not in involved:
        return dict(involved)
    meta = involved["metadata"]
    ref = {
        "apiVersion": involved.get("apiVersion", "v1"),
        "kind": involved.get("kind", "Pod"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    return {k: v for k, v in ref.items() if v}


_last_nanos = 0


def _unique_nanos() -> int:
    """Event names end in the creation time in hex nanoseconds (so lists come out in time order)."""
    global _last_nanos
    _last_nanos = max(time.time_ns(), _last_nanos + 1)
    return _last_nanos


def event(ref: Obj, reason: str, message: str, type_: str, component: str, host: str) -> Obj:
    """A core/v1 Event about `ref`, as the kubelet or scheduler records it."""
    stamp = now()
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    namespace_ = ref.get("namespace") or "default"
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{ref.get('name', 'unknown')}.{_unique_nanos():x}"},
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    stamp_new(obj, namespace_)
    return obj
