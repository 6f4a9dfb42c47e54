"""Waiting, with a deadline, for a pod or node to reach the state a `WaitAction` declares.

Every wait watches the object (through the client's keep-alive reader; without one it polls with kubectl)
and, when it expires, says what it last saw, e.g.
`pod crashloop: container app waiting (ContainerCreating), restarts 0`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kdbgtest.base import k8s
from kdbgtest.base.errors import KdbgtestError, StepFailed
from kdbgtest.debug import stuck
from kdbgtest.runner import kube
from kdbgtest.scenario import model


@dataclass(frozen=True)
class Seen:
    """One observation: whether the state is reached, and how to describe what was there."""

    done: bool
    text: str


def describe_target(action: model.WaitAction) -> str:
    """`pod app to be crashloop (container app, restarts >= 2)` style description of the awaited state."""
    subject = f"node {action.node}" if action.node else f"pod {action.pod}"
    extra = [f"container {action.container}"] if action.container else []
    if action.restarts is not None:
        extra.append(f"restarts >= {action.restarts}")
    if action.reason:
        extra.append(f"reason {action.reason}")
    return f"{subject} to be {action.for_}" + (f" ({', '.join(extra)})" if extra else "")


def wait_state(client: kube.Kubectl, action: model.WaitAction, *, namespace: str, timeout: float) -> str:
    """Poll until `action`'s state holds; return the final observation. Raises `StepTimeout` on expiry."""
    if action.node is None and action.pod is None:
        raise StepFailed("a wait needs `pod` or `node`")
    ref = f"node/{action.node}" if action.node else f"pod/{action.pod}"
    judge = _judge_for(action)
    if client.reader is not None:  # watch: each change is judged as it arrives, no polls
        kind, name = ("nodes", str(action.node)) if action.node else ("pods", str(action.pod))

        def look(obj: k8s.Obj | None) -> tuple[bool, str]:
            seen = judge(obj)
            if not seen.done and obj is not None:
                _fail_if_stuck(obj, action)
            return seen.done, seen.text

        where = None if action.node else namespace
        return client.reader.watch_one(kind, name, where, look, timeout=timeout, what=describe_target(action))

    def probe() -> tuple[bool, str]:
        try:
            obj = client.get(ref, namespace=None if action.node else namespace, timeout=min(timeout, 30.0))
        except KdbgtestError as exc:  # a failed poll is something seen, not the end of the wait
            return False, f"{ref}: kubectl failed: {exc}"
        seen = judge(obj)
        if not seen.done and obj is not None:
            _fail_if_stuck(obj, action)
        return seen.done, seen.text

    return kube.poll(probe, timeout=timeout, what=describe_target(action))


def _fail_if_stuck(obj: k8s.Obj, action: model.WaitAction) -> None:
    """`stuck.CannotStart` when a container the awaited state needs cannot start (an image that cannot be
    pulled, a refused configuration); a wait `for: waiting` (or `deleted`) expects such states and goes on."""
    if action.node is not None or action.for_ in ("waiting", "deleted"):
        return
    pod = k8s.as_pod(obj)
    spec = pod.get("spec") or {}
    if action.for_ in ("running", "ready", "completed"):
        names = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
    else:
        names = [action.container or _default_container(pod)]
    why = stuck.cannot_start(pod, [str(n) for n in names if n])
    if why is not None:
        raise stuck.failure(str(action.pod), why, waiting=describe_target(action))


def _judge_for(action: model.WaitAction) -> Callable[[k8s.Obj | None], Seen]:
    if action.node is not None:
        return lambda obj: judge_node(None if obj is None else k8s.as_node(obj), action)
    return lambda obj: judge_pod(None if obj is None else k8s.as_pod(obj), action)


# ------------------------------------------------------------------------------------------------------------
# Nodes


def judge_node(node: k8s.Node | None, action: model.WaitAction) -> Seen:
    name = action.node
    if node is None:
        return Seen(action.for_ == "deleted", f"node {name} not found")
    if action.for_ == "deleted":
        return Seen(False, f"node {name} still exists")
    ready = _condition(node, "Ready")
    if ready is None:
        return Seen(False, f"node {name}: no Ready condition yet")
    status, reason = ready.get("status"), ready.get("reason", "")
    return Seen(status == "True", f"node {name}: Ready={status}" + (f" ({reason})" if reason else ""))


def _condition(obj: k8s.Pod | k8s.Node, kind: str) -> k8s.Condition | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


# ------------------------------------------------------------------------------------------------------------
# Pods


def _default_container(pod: k8s.Pod) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return containers[0].get("name") if containers else None


def describe_container(status: k8s.ContainerStatus) -> str:
    """`container app waiting (CrashLoopBackOff), restarts 2`."""
    state = status.get("state") or {}
    name, restarts = status.get("name"), status.get("restartCount", 0)
    if "running" in state:
        what = "running"
    elif "terminated" in state:
        term = state["terminated"] or {}
        what = f"terminated ({term.get('reason', '?')}, exit {term.get('exitCode', '?')})"
    elif "waiting" in state:
        what = f"waiting ({(state['waiting'] or {}).get('reason', '?')})"
    else:
        what = "in no state yet"
    return f"container {name} {what}, restarts {restarts}"


def judge_pod(pod: k8s.Pod | None, action: model.WaitAction) -> Seen:
    """Whether `pod` is in the awaited state, and a description of what it is in."""
    if pod is None:
        return Seen(action.for_ == "deleted", f"pod {action.pod} not found")
    if action.for_ == "deleted":
        return Seen(False, f"pod {action.pod} still exists (phase {_phase(pod)})")
    container = action.container or _default_container(pod)
    status = next((s for s in k8s.container_statuses(pod) if s.get("name") == container), None)
    text = f"pod {action.pod}: " + (
        describe_container(status) if status else f"phase {_phase(pod)}, container {container} has no status yet"
    )
    return Seen(_POD_STATES[action.for_](pod, status, action), text)


def _phase(pod: k8s.Pod) -> str:
    return str((pod.get("status") or {}).get("phase", "unknown"))


def _state(status: k8s.ContainerStatus | None) -> k8s.ContainerState:
    return (status.get("state") or {}) if status is not None else {}


def _is_running(status: k8s.ContainerStatus | None) -> bool:
    return isinstance(_state(status).get("running"), dict)


def _waiting_state(status: k8s.ContainerStatus | None) -> k8s.ContainerStateWaiting | None:
    state = _state(status).get("waiting")
    return state if isinstance(state, dict) else None


def _terminated_state(status: k8s.ContainerStatus | None) -> k8s.ContainerStateTerminated | None:
    state = _state(status).get("terminated")
    return state if isinstance(state, dict) else None


def _restarts_ok(status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    wanted = action.restarts or 0
    return status is not None and int(status.get("restartCount", 0)) >= wanted


def _running(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    regular = k8s.container_statuses(pod, ["regular"])
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    all_running = len(regular) >= len(names) and all(_is_running(s) for s in regular)
    return _phase(pod) == "Running" and all_running and _restarts_ok(status, action)


def _ready(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    cond = _condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def _crashloop(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    waiting_state = _waiting_state(status)
    return (
        waiting_state is not None and waiting_state.get("reason") == "CrashLoopBackOff" and _restarts_ok(status, action)
    )


def _terminated(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    term = _terminated_state(status)
    if term is None:
        return action.container is None and action.reason is None and _phase(pod) in ("Succeeded", "Failed")
    return action.reason is None or term.get("reason") == action.reason


def _completed(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    return _phase(pod) == "Succeeded"


def _container_running(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    return _is_running(status) and _restarts_ok(status, action)


def _container_terminated(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    term = _terminated_state(status)
    return term is not None and (action.reason is None or term.get("reason") == action.reason)


def _waiting(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    state = _waiting_state(status)
    return state is not None and (action.reason is None or state.get("reason") == action.reason)


def _never(pod: k8s.Pod, status: k8s.ContainerStatus | None, action: model.WaitAction) -> bool:
    return False  # `deleted` is decided before; `node-ready` on a pod is a validation error


_POD_STATES: dict[str, Callable[[k8s.Pod, k8s.ContainerStatus | None, model.WaitAction], bool]] = {
    "running": _running,
    "ready": _ready,
    "crashloop": _crashloop,
    "terminated": _terminated,
    "completed": _completed,
    "deleted": _never,
    "container-running": _container_running,
    "container-terminated": _container_terminated,
    "waiting": _waiting,
    "node-ready": _never,
}
