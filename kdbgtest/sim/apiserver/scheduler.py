"""A tiny default-scheduler: node selector and taint filtering, then the node with the fewest pods."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kdbgtest.base import k8s
from kdbgtest.base.k8s import Obj


@dataclass(frozen=True)
class Decision:
    node: str | None
    message: str  # the FailedScheduling message when node is None


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    """Whether any toleration matches the taint (core/v1 `Toleration.ToleratesTaint`)."""
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        operator = tol.get("operator") or "Equal"
        if operator == "Exists" and not tol.get("key"):
            return True
        if tol.get("key") != taint.get("key"):
            continue
        if operator == "Exists" or (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _untolerated(pod: k8s.Pod, node: k8s.Node) -> Obj | None:
    tolerations = pod["spec"].get("tolerations") or []
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return dict(taint)
    return None


def _selector_matches(pod: k8s.Pod, node: k8s.Node) -> bool:
    labels = node["metadata"].get("labels") or {}
    wanted = pod["spec"].get("nodeSelector") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def schedule(pod: k8s.Pod, nodes: list[k8s.Node], pods: list[k8s.Pod]) -> Decision:
    """Pick a node for `pod`, or explain (in the scheduler's words) why none fits."""
    reasons: Counter[str] = Counter()
    fitting = []
    for node in nodes:
        taint = _untolerated(pod, node)
        if not _selector_matches(pod, node):
            reasons["node(s) didn't match Pod's node affinity/selector"] += 1
        elif node.get("spec", {}).get("unschedulable"):
            reasons["node(s) were unschedulable"] += 1
        elif taint is not None:
            reasons[f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"] += 1
        else:
            fitting.append(node["metadata"]["name"])
    if fitting:
        load = Counter(p["spec"].get("nodeName") for p in pods if not _terminal(p))
        return Decision(min(fitting, key=lambda name: (load[name], name)), "")
    total = len(nodes)
    detail = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))  # as FitError
    message = (
        f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: "
        f"{total} Preemption is not helpful for scheduling."
    )
    return Decision(None, message)


def _terminal(pod: k8s.Pod) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
