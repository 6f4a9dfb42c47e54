"""The STATUS, READY and RESTARTS cells of `kubectl get pods`, computed as the server-side pod printer does
(kubernetes `pkg/printers/internalversion/printers.go`, `printPod`)."""

from __future__ import annotations

from dataclasses import dataclass

from kdbgtest.base import k8s
from kdbgtest.sim.apiserver import timefmt


@dataclass
class _Tally:
    reason: str
    restarts: int = 0
    last_restart: str = ""
    ready: int = 0

    def count_restart(self, status: k8s.ContainerStatus) -> None:
        self.restarts += int(status.get("restartCount") or 0)
        finished = ((status.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        self.last_restart = max(self.last_restart, finished)


def _restartable(container: k8s.Container | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _terminated_reason(term: k8s.ContainerStateTerminated, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _init_phase(pod: k8s.Pod, tally: _Tally) -> bool:
    """Walk init container statuses; True while the pod is still initializing."""
    specs = {c["name"]: c for c in pod["spec"].get("initContainers") or []}
    for i, cs in enumerate(k8s.container_statuses(pod, ["init"])):
        tally.count_restart(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if _restartable(specs.get(cs["name"])) and cs.get("started"):
            tally.ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            tally.reason = _terminated_reason(term, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            tally.reason = "Init:" + waiting["reason"]
        else:
            tally.reason = f"Init:{i}/{len(specs)}"
        return True
    return False


def _has_condition(pod: k8s.Pod, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True" for c in pod["status"].get("conditions") or [])


def _containers(pod: k8s.Pod, tally: _Tally) -> None:
    has_running = False
    for cs in reversed(k8s.container_statuses(pod, ["regular"])):
        tally.count_restart(cs)
        state = cs.get("state") or {}
        waiting, term = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            tally.reason = waiting["reason"]
        elif term is not None:
            tally.reason = _terminated_reason(term, "")
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    if tally.reason == "Completed" and has_running:
        tally.reason = "Running" if _has_condition(pod, "Ready") else "NotReady"


def pod_cells(pod: k8s.Pod) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS)."""
    st = pod.setdefault("status", {})
    inits = pod["spec"].get("initContainers") or []
    total = len(pod["spec"].get("containers") or []) + sum(1 for c in inits if _restartable(c))
    tally = _Tally(st.get("reason") or st.get("phase") or "")
    for cond in st.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            tally.reason = "SchedulingGated"
    initializing = _init_phase(pod, tally)
    if not initializing or _has_condition(pod, "Initialized"):
        tally.restarts, tally.last_restart = 0, ""
        for cs in k8s.container_statuses(pod, ["init"]):
            if _restartable(next((c for c in inits if c["name"] == cs["name"]), None)):
                tally.count_restart(cs)
        _containers(pod, tally)
    if pod["metadata"].get("deletionTimestamp"):
        if st.get("reason") == "NodeLost":
            tally.reason = "Unknown"
        elif st.get("phase") not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart:
        restarts = f"{tally.restarts} ({timefmt.since(tally.last_restart)} ago)"
    return f"{tally.ready}/{total}", tally.reason, restarts
