"""`meta.k8s.io/v1` Table responses (Accept `...;as=Table;v=v1;g=meta.k8s.io`), with the columns of the real
server-side printers. Priority-1 columns are what `-o wide` adds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdbgtest.base import k8s
from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import podstatus, timefmt

Column = tuple[str, int, str]  # name, priority, description
_NAME: Column = ("Name", 0, "Name must be unique within a namespace.")
_AGE: Column = (
    "Age",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)

COLUMNS: dict[str, list[Column]] = {
    "pods": [
        _NAME,
        ("Ready", 0, "The aggregate readiness state of this pod for accepting traffic."),
        ("Status", 0, "The aggregate status of the containers in this pod."),
        (
            "Restarts",
            0,
            "The number of times the containers in this pod have been restarted and when the "
            "last container in this pod has restarted.",
        ),
        _AGE,
        ("IP", 1, "podIP address allocated to the pod. Routable at least within the cluster."),
        ("Node", 1, "NodeName indicates in which node this pod is scheduled."),
        ("Nominated Node", 1, "nominatedNodeName is set when this pod preempts other pods on the node."),
        ("Readiness Gates", 1, "If specified, all readiness gates will be evaluated for pod readiness."),
    ],
    "nodes": [
        _NAME,
        ("Status", 0, "The status of the node"),
        ("Roles", 0, "The roles of the node"),
        _AGE,
        ("Version", 0, "Kubelet Version reported by the node."),
        ("Internal-IP", 1, "List of addresses reachable to the node."),
        ("External-IP", 1, "List of addresses reachable to the node."),
        ("OS-Image", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7)."),
        ("Kernel-Version", 1, "Kernel Version reported by the node from 'uname -r'."),
        ("Container-Runtime", 1, "ContainerRuntime Version reported by the node through runtime remote API."),
    ],
    "namespaces": [_NAME, ("Status", 0, "The status of the namespace"), _AGE],
    "events": [
        ("Last Seen", 0, "The time at which the most recent occurrence of this event was recorded."),
        ("Type", 0, "Type of this event (Normal, Warning), new types could be added in the future"),
        (
            "Reason",
            0,
            "This should be a short, machine understandable string that gives the reason for "
            "the transition into the object's current status.",
        ),
        ("Object", 0, "The object that this event is about."),
        ("Subobject", 1, "If referring to a piece of an object instead of an entire object."),
        ("Source", 1, "The component reporting this event."),
        ("Message", 0, "A human-readable description of the status of this operation."),
        ("First Seen", 1, "The time at which the event was first recorded."),
        ("Count", 1, "The number of times this event has occurred."),
        ("Name", 1, "Name must be unique within a namespace."),
    ],
}


def _or_none(value: str | None) -> str:
    return value or "<none>"


def _pod_row(pod: Obj) -> list[Any]:
    ready, reason, restarts = podstatus.pod_cells(k8s.as_pod(pod))
    st, spec = pod.get("status") or {}, pod["spec"]
    ips = st.get("podIPs") or []
    gates = "<none>"
    if spec.get("readinessGates"):
        conditions = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
        true = sum(1 for g in spec["readinessGates"] if conditions.get(g.get("conditionType")) == "True")
        gates = f"{true}/{len(spec['readinessGates'])}"
    return [
        pod["metadata"]["name"],
        ready,
        reason,
        restarts,
        timefmt.since(pod["metadata"].get("creationTimestamp")),
        _or_none(ips[0].get("ip") if ips else st.get("podIP")),
        _or_none(spec.get("nodeName")),
        _or_none(st.get("nominatedNodeName")),
        gates,
    ]


def _node_row(node: Obj) -> list[Any]:
    st = node.get("status") or {}
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = [] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    labels = node["metadata"].get("labels") or {}
    roles = sorted(
        {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")}
        | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set())
    )
    addresses = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    info = st.get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        ",".join(states),
        ",".join(roles) or "<none>",
        timefmt.since(node["metadata"].get("creationTimestamp")),
        info.get("kubeletVersion", ""),
        _or_none(addresses.get("InternalIP")),
        _or_none(addresses.get("ExternalIP")),
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _namespace_row(ns: Obj) -> list[Any]:
    return [
        ns["metadata"]["name"],
        (ns.get("status") or {}).get("phase", ""),
        timefmt.since(ns["metadata"].get("creationTimestamp")),
    ]


def _event_row(ev: Obj) -> list[Any]:
    first = timefmt.since(ev.get("firstTimestamp") or ev.get("eventTime"))
    last = timefmt.since(ev["lastTimestamp"]) if ev.get("lastTimestamp") else first
    ref = ev.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    target = f"{kind}/{ref['name']}" if ref.get("name") else kind
    source = ev.get("source") or {}
    parts = [
        source.get("component") or ev.get("reportingComponent"),
        source.get("host") or ev.get("reportingInstance"),
    ]
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        ref.get("fieldPath", ""),
        ", ".join(p for p in parts if p),
        str(ev.get("message", "")).strip(),
        first,
        int(ev.get("count") or 1),
        ev["metadata"]["name"],
    ]


ROWS: dict[str, Callable[[Obj], list[Any]]] = {
    "pods": _pod_row,
    "nodes": _node_row,
    "namespaces": _namespace_row,
    "events": _event_row,
}
_POD_DONE = {
    "Succeeded": [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ],
    "Failed": [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}],
}


def wants_table(accept: str) -> bool:
    """Whether the Accept header asks for a Table first (kubectl get does)."""
    first = accept.split(",")[0].replace(" ", "")
    return "as=Table" in first and "g=meta.k8s.io" in first


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(resource: str, items: list[Obj], resource_version: str, include: str = "Metadata") -> Obj:
    """A Table with one row per item; `include` is the `includeObject` parameter."""
    rows = []
    for item in items:
        row: Obj = {"cells": ROWS[resource](item)}
        if resource == "pods" and (item.get("status") or {}).get("phase") in _POD_DONE:
            row["conditions"] = _POD_DONE[item["status"]["phase"]]
        obj = _row_object(item, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    definitions = [
        {
            "name": name,
            "type": "integer" if name == "Count" else "string",
            "format": "name" if name == "Name" else "",
            "description": desc,
            "priority": priority,
        }
        for name, priority, desc in COLUMNS[resource]
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
