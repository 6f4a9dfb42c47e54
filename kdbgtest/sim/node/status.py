"""Pod status as the kubelet computes it (`generateAPIPodStatus`, `getPhase`, the condition generators).

Pure functions over `ContainerRecord`s (what the pod worker knows about each container) and the pod object.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

CREATING: Obj = {"waiting": {"reason": "ContainerCreating"}}
INITIALIZING: Obj = {"waiting": {"reason": "PodInitializing"}}


def now() -> str:
    """RFC 3339 with seconds, UTC, as metav1.Time serialises."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ContainerRecord:
    """The kubelet's view of one container of a pod (all instances so far)."""

    name: str
    kind: str  # "init" | "regular" | "ephemeral"
    image: str
    state: Obj = field(default_factory=lambda: dict(CREATING))
    last_state: Obj = field(default_factory=dict)
    restart_count: int = 0
    container_id: str = ""
    image_id: str = ""
    ready: bool = False
    started: bool = False

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> Obj | None:
        return self.state.get("terminated")

    @property
    def succeeded(self) -> bool:
        term = self.terminated
        return term is not None and term.get("exitCode") == 0

    def to_status(self) -> Obj:
        """The v1.ContainerStatus (ephemeral ones have no `started` and are never ready)."""
        status: Obj = {
            "name": self.name,
            "state": self.state,
            "lastState": self.last_state,
            "ready": self.ready if self.kind != "ephemeral" else False,
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": self.image_id,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        if self.kind != "ephemeral":
            status["started"] = self.started
        return status


def phase(pod: Obj, records: dict[str, ContainerRecord], *, terminal: bool = False) -> str:
    """`getPhase` for pods without sidecar containers; `terminal`: the pod was stopped for good (deleted)."""
    spec = pod.get("spec", {})
    policy = spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for c in spec.get("initContainers") or []:
        rec = records.get(c["name"])
        if rec is None or rec.running:
            pending_init += 1
        elif (term := rec.terminated) is not None:
            failed_init += term.get("exitCode") != 0
        elif (last := rec.last_state.get("terminated")) is not None and last.get("exitCode") != 0:
            failed_init += 1
        else:
            pending_init += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or failed_init:
        return "Pending"
    return _regular_phase(spec, records, policy, terminal)


def _regular_phase(spec: Obj, records: dict[str, ContainerRecord], policy: str, terminal: bool) -> str:
    running = waiting = stopped = succeeded = 0
    for c in spec.get("containers") or []:
        rec = records.get(c["name"])
        if rec is None:
            waiting += 1
        elif rec.running:
            running += 1
        elif (term := rec.terminated or rec.last_state.get("terminated")) is not None:
            stopped += 1
            succeeded += term.get("exitCode") == 0
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def conditions(
    pod: Obj, records: dict[str, ContainerRecord], pod_phase: str, sandbox_ready: bool, minor: int = 34
) -> list[Obj]:
    """PodReadyToStartContainers (1.29+), Initialized, Ready, ContainersReady, PodScheduled."""
    previous = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}
    spec = pod.get("spec", {})
    incomplete = [c["name"] for c in spec.get("initContainers") or [] if not _done(records.get(c["name"]))]
    unready = [c["name"] for c in spec.get("containers") or [] if not _ready(records.get(c["name"]))]
    ready: tuple[bool, str, str]
    if pod_phase == "Succeeded":
        ready = (False, "PodCompleted", "")
    elif unready:
        ready = (False, "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    else:
        ready = (True, "", "")
    init = (False, "ContainersNotInitialized", f"containers with incomplete status: [{' '.join(incomplete)}]")
    wanted = [
        ("PodReadyToStartContainers", (sandbox_ready, "", "")),
        ("Initialized", (True, "", "") if not incomplete else init),
        ("Ready", ready),
        ("ContainersReady", ready),
    ]
    if minor < 29:  # the gate (PodHasNetwork, then PodReadyToStartContainers) was off before 1.29
        wanted = wanted[1:]
    result = [_condition(type_, *value, previous.get(type_)) for type_, value in wanted]
    scheduled = previous.get("PodScheduled") or _condition("PodScheduled", True, "", "", None)
    return [*result, scheduled]


def _done(rec: ContainerRecord | None) -> bool:
    return rec is not None and rec.succeeded


def _ready(rec: ContainerRecord | None) -> bool:
    return rec is not None and rec.ready


def _condition(type_: str, ok: bool, reason: str, message: str, before: Obj | None) -> Obj:
    status = "True" if ok else "False"
    cond: Obj = {"type": type_, "status": status, "lastProbeTime": None}
    same = before is not None and before.get("status") == status
    cond["lastTransitionTime"] = before["lastTransitionTime"] if same and before else now()
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def qos_class(pod: Obj) -> str:
    """BestEffort, Guaranteed or Burstable (`v1qos.GetPodQOS`, comparing quantities as written)."""
    spec = pod.get("spec", {})
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if any(key not in limits for key in ("cpu", "memory")):
            return "Burstable"
        if any(str(requests.get(k, limits[k])) != str(limits[k]) for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def container_statuses(records: dict[str, ContainerRecord], kind: str, order: list[str]) -> list[Obj]:
    """Statuses of one kind: init containers in spec order, the others sorted by name (as the kubelet)."""
    chosen = [records[n] for n in order if n in records and records[n].kind == kind]
    if kind != "init":
        chosen.sort(key=lambda r: r.name)
    return [r.to_status() for r in chosen]
