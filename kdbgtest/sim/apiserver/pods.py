"""Pod operations of the registry: create (defaults, validation, scheduling), update, patch, the status and
ephemeralcontainers subresources, and graceful deletion."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable

from kdbgtest.base import k8s
from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import defaults, namespaces, objects, patch, scheduler, status, validation
from kdbgtest.sim.apiserver.store import Store

DEFAULT_GRACE = 30


def _invalid(pod: Obj, errors: list[validation.FieldError]) -> status.ApiError:
    name = pod.get("metadata", {}).get("name") or ""
    return status.ApiError(validation.invalid_status("Pod", name, errors))


def qos_class(pod: Obj) -> str:
    """BestEffort, Burstable or Guaranteed, from the containers' requests and limits."""
    containers = (pod["spec"].get("containers") or []) + (pod["spec"].get("initContainers") or [])
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for res in resources:
        limits = res.get("limits") or {}
        requests = res.get("requests") or limits
        if any(k not in limits for k in ("cpu", "memory")) or any(requests.get(k) != limits[k] for k in limits):
            return "Burstable"
    return "Guaranteed"


Admit = Callable[[Obj], None]  # validating admission (Pod Security): raises ApiError to refuse


def create(store: Store, namespace: str, pod: Obj, admit: Admit | None = None) -> Obj:
    """Create a pod in `namespace` and schedule it (soon after, as the scheduler would). `admit` sees the
    defaulted, valid pod before it is stored, as validating admission does."""
    meta = pod.setdefault("metadata", {})
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise status.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    namespaces.require_active(store, namespace, "pods", meta.get("name") or meta.get("generateName") or "")
    objects.stamp_new(pod, namespace)
    meta["generation"] = 1
    pod.setdefault("spec", {})
    pod = defaults.service_account_volume(defaults.default_pod(pod))
    errors = validation.validate_pod_create(pod)
    if errors:
        raise _invalid(pod, errors)
    if admit is not None:
        admit(pod)
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod)}
    created = store.create("pods", pod)
    if not created["spec"].get("nodeName"):
        _soon(lambda: schedule(store, namespace, created["metadata"]["name"]))
    return created


def schedule(store: Store, namespace: str, name: str) -> None:
    """Bind an unscheduled pod to a node, or record why it cannot be bound."""
    pod = store.find("pods", namespace, name)
    if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
        return
    nodes = [k8s.as_node(node) for node in store.list_objects("nodes")]
    others = [k8s.as_pod(other) for other in store.list_objects("pods")]
    decision = scheduler.schedule(k8s.as_pod(pod), nodes, others)
    ref = objects.object_reference(pod)
    conditions = [c for c in pod["status"].get("conditions") or [] if c.get("type") != "PodScheduled"]
    if decision.node is None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": decision.message,
                "lastProbeTime": None,
                "lastTransitionTime": objects.now(),
            }
        )
        pod["status"]["conditions"] = conditions
        store.update("pods", pod)
        store.emit_event(ref, "FailedScheduling", decision.message, "Warning", "default-scheduler", "")
        return
    pod["spec"]["nodeName"] = decision.node
    conditions.append(
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": objects.now()}
    )
    pod["status"]["conditions"] = conditions
    store.update("pods", pod)
    store.emit_event(
        ref,
        "Scheduled",
        f"Successfully assigned {namespace}/{name} to {decision.node}",
        "Normal",
        "default-scheduler",
        "",
    )


def _keep_server_fields(old: Obj, new: Obj) -> None:
    """Fields a client cannot change by writing the object: identity and timestamps."""
    for field in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ):
        if field in old["metadata"]:
            new["metadata"][field] = old["metadata"][field]
        else:
            new["metadata"].pop(field, None)
    new["metadata"]["name"], new["metadata"]["namespace"] = (
        old["metadata"]["name"],
        old["metadata"]["namespace"],
    )


def _bump_generation(old: Obj, new: Obj) -> None:
    if old.get("spec") != new.get("spec"):
        new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1


def update(store: Store, namespace: str, name: str, new: Obj) -> Obj:
    """PUT of the main resource: spec/metadata change, status is kept."""
    old = store.get("pods", namespace, name)
    _check_name(new, name)
    new.setdefault("metadata", {})
    _keep_server_fields(old, new)
    new["status"] = old.get("status", {})
    new = defaults.default_pod(new)
    errors = validation.validate_pod_update(old, new)
    if errors:
        raise _invalid(new, errors)
    _bump_generation(old, new)
    return store.update("pods", new)


def _check_name(new: Obj, name: str) -> None:
    sent = (new.get("metadata") or {}).get("name")
    if sent and sent != name:
        raise status.bad_request(f"the name of the object ({sent}) does not match the name on the URL ({name})")


def patch_error(err: patch.PatchError) -> status.ApiError:
    code = int(getattr(err, "code", 400) or 400)
    reason = {422: "Invalid", 415: "UnsupportedMediaType", 409: "Conflict"}.get(code, "BadRequest")
    message = str(getattr(err, "message", None) or err)
    return status.ApiError(status.failure(code, reason, message))


def update_status(store: Store, namespace: str, name: str, new: Obj) -> Obj:
    """PUT/PATCH of pods/status: only status changes."""
    old = store.get("pods", namespace, name)
    _check_name(new, name)
    pod = copy.deepcopy(old)
    pod["status"] = new.get("status") or {}
    sent = (new.get("metadata") or {}).get("resourceVersion")
    pod["metadata"]["resourceVersion"] = sent or old["metadata"]["resourceVersion"]
    return store.update("pods", pod)


def update_ephemeral(store: Store, namespace: str, name: str, new: Obj, admit: Admit | None = None) -> Obj:
    """PUT/PATCH of pods/ephemeralcontainers: only spec.ephemeralContainers changes (others are dropped)."""
    old = store.get("pods", namespace, name)
    _check_name(new, name)
    pod = validation.drop_non_ephemeral_updates(new, old)
    spec = pod["spec"]
    if "ephemeralContainers" in spec:
        spec["ephemeralContainers"] = [defaults.default_ephemeral_container(ec) for ec in spec["ephemeralContainers"]]
    errors = validation.validate_ephemeral_update(old, pod)
    if errors:
        raise _invalid(pod, errors)
    if admit is not None:
        admit(pod)
    _bump_generation(old, pod)
    sent = (new.get("metadata") or {}).get("resourceVersion")
    pod["metadata"]["resourceVersion"] = sent or old["metadata"]["resourceVersion"]
    return store.update("pods", pod)


def delete(store: Store, namespace: str, name: str, grace: int | None) -> Obj:
    """Delete gracefully (deletionTimestamp; the node stops the pod) or at once, as the pod strategy says."""
    pod = store.get("pods", namespace, name)
    period = grace if grace is not None else pod["spec"].get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    if not pod["spec"].get("nodeName") or pod["status"].get("phase") in ("Succeeded", "Failed"):
        period = 0
    meta = pod["metadata"]
    if meta.get("deletionTimestamp") and period >= meta.get("deletionGracePeriodSeconds", 0):
        return pod
    if period <= 0:
        removed = store.remove("pods", namespace, name)
        store.finish_namespace(namespace)
        return removed
    meta["deletionTimestamp"] = objects.later(period)
    meta["deletionGracePeriodSeconds"] = period
    return store.update("pods", pod)


def _soon(action: Callable[[], None]) -> None:
    try:
        asyncio.get_running_loop().call_soon(action)
    except RuntimeError:
        action()
