"""What a pod worker tells the API server: the pod as last seen, its container records, its events and status."""

from __future__ import annotations

from kdbgtest.sim.node import status
from kdbgtest.sim.node.podcontext import EventFn, NodeContext, Obj
from kdbgtest.sim.node.podsandbox import Sandbox

_FIELDS = {"init": "initContainers", "regular": "containers", "ephemeral": "ephemeralContainers"}


class PodReport:
    """The pod's latest version and its container records; writes its Events and its status.

    The sandbox tells whether it is up and the pod's IP (status conditions and podIP).
    """

    def __init__(self, ctx: NodeContext, pod: Obj, sandbox: Sandbox) -> None:
        self._ctx = ctx
        self._sandbox = sandbox
        self.pod = pod
        meta = pod["metadata"]
        self.uid: str = meta["uid"]
        self.namespace: str = meta.get("namespace", "default")
        self.name: str = meta["name"]
        self.records: dict[str, status.ContainerRecord] = {}
        self._start_time = status.now()
        self._gone = False  # the pod left the store: nothing more is written
        self._terminated = False  # every container was stopped because the pod is going away

    def update(self, pod: Obj) -> bool:
        """Take a newer version of the pod; False if it is not this pod (or this one is gone)."""
        if self._gone or pod["metadata"].get("uid") != self.uid:
            return False
        self.pod = pod
        return True

    def leave(self) -> None:
        """The pod left the store: no more events or status."""
        self._gone = True

    @property
    def gone(self) -> bool:
        return self._gone

    def terminated(self) -> None:
        """Every container was stopped because the pod goes away: the phase says so from now on."""
        self._terminated = True

    def deleting(self) -> bool:
        return self._gone or bool(self.pod["metadata"].get("deletionTimestamp"))

    def spec_containers(self, kind: str) -> list[Obj]:
        containers: list[Obj] = self.pod["spec"].get(_FIELDS[kind]) or []
        return containers

    def add_records(self) -> None:
        """Records for the init and regular containers, waiting as the kubelet shows them before any start."""
        waiting = status.INITIALIZING if self.spec_containers("init") else status.CREATING
        for c in self.spec_containers("init"):
            self.records[c["name"]] = status.ContainerRecord(c["name"], "init", c["image"])
        for c in self.spec_containers("regular"):
            self.records[c["name"]] = status.ContainerRecord(c["name"], "regular", c["image"], dict(waiting))

    def add_ephemeral_record(self, container: Obj) -> bool:
        """A record for an ephemeral container not seen before; False if it has one already."""
        if container["name"] in self.records:
            return False
        self.records[container["name"]] = status.ContainerRecord(container["name"], "ephemeral", container["image"])
        return True

    def event(self, type_: str, reason: str, message: str, container: str | None = None) -> None:
        """Record an Event about the pod, or about one of its containers (fieldPath spec.containers{NAME})."""
        if self._gone:
            return
        involved: Obj = self.pod
        rec = self.records.get(container) if container is not None else None
        if rec is not None:
            meta = self.pod["metadata"]
            involved = {
                "apiVersion": "v1", "kind": "Pod", "name": self.name, "namespace": self.namespace,
                "uid": self.uid, "resourceVersion": meta.get("resourceVersion", ""),
                "fieldPath": f"spec.{_FIELDS[rec.kind]}{{{rec.name}}}",
            }  # fmt: skip
        self._ctx.state.record_event(involved, reason, message, type_)

    def container_event(self, container: str) -> EventFn:
        """`event` bound to one container."""
        return lambda type_, reason, message: self.event(type_, reason, message, container)

    def publish(self) -> None:
        """Write the pod status to the store (skipped once the pod has left it)."""
        if self._gone:
            return
        updated = self._ctx.state.update_pod_status(self.namespace, self.name, self.build_status())
        if updated is not None and updated["metadata"].get("uid") == self.uid:
            self.pod = updated

    def still_stored(self) -> bool:
        pods = self._ctx.state.pods_on_node(self._ctx.name)
        return any(p["metadata"].get("uid") == self.uid for p in pods)

    def build_status(self) -> Obj:
        recs = self.records
        phase = status.phase(self.pod, recs, terminal=self._terminated)
        sandbox_up, pod_ip = self._sandbox.up, self._sandbox.ip
        result: Obj = {
            "phase": phase,
            "conditions": status.conditions(self.pod, recs, phase, sandbox_up, self._ctx.minor),
            "hostIP": self._ctx.host_ip,
            "hostIPs": [{"ip": self._ctx.host_ip}],
            "startTime": self._start_time,
            "qosClass": status.qos_class(self.pod),
        }
        if pod_ip:
            result["podIP"] = pod_ip
            result["podIPs"] = [{"ip": pod_ip}]
        names = [c["name"] for c in self.spec_containers("init")]
        if names:
            result["initContainerStatuses"] = status.container_statuses(recs, "init", names)
        regular = [c["name"] for c in self.spec_containers("regular")]
        result["containerStatuses"] = status.container_statuses(recs, "regular", regular)
        ephemeral = [c["name"] for c in self.spec_containers("ephemeral")]
        if any(n in recs for n in ephemeral):
            result["ephemeralContainerStatuses"] = status.container_statuses(recs, "ephemeral", ephemeral)
        generation = self.pod["metadata"].get("generation")
        if self._ctx.minor >= 34 and generation is not None:  # PodObservedGenerationTracking (beta)
            result["observedGeneration"] = generation
            for cond in result["conditions"]:
                if cond["type"] != "PodScheduled":
                    cond["observedGeneration"] = generation
        return result
