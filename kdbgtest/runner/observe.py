"""What a debug step left in the API: the debug container as the server stored it, and its pod's settings.

Recorded in `StepFinished.observed` so that results of different clusters can be compared (the version
matrix reports a changed generated securityContext as a behaviour difference). Observing never fails a step:
when the pod or the container cannot be read, nothing is recorded.

    {"pod": "app", "container_field": "ephemeralContainers", "container": {...the container...},
     "pod_spec": {"hostPID": true, "securityContext": {...}, ...only the fields the pod has}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.debug import driver as debug_driver
from kdbgtest.runner import kube

OBSERVE_TIMEOUT = 15.0
CONTAINER_FIELDS = ("ephemeralContainers", "containers", "initContainers")
# Pod-level settings a debug profile or a node/copy debug may change.
POD_FIELDS = (
    "hostPID",
    "hostNetwork",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "nodeName",
    "restartPolicy",
    "volumes",
    "tolerations",
)


def debug_facts(
    client: kube.Kubectl, namespace: str, captures: Mapping[str, str], timeout: float = OBSERVE_TIMEOUT
) -> dict[str, Any] | None:
    """The facts of the debug container a step made (from its `debug_pod`/`debug_container` captures)."""
    pod_name = captures.get(debug_driver.DEBUG_POD)
    container = captures.get(debug_driver.DEBUG_CONTAINER)
    if not pod_name or not container:
        return None
    try:
        pod = client.get(f"pod/{pod_name}", namespace=namespace, timeout=timeout)
    except KdbgtestError:
        return None
    return facts(pod, container) if pod is not None else None


def facts(pod: Mapping[str, Any], container: str) -> dict[str, Any] | None:
    """The observed facts of `container` in `pod` (None when the pod has no such container)."""
    spec = pod.get("spec") or {}
    for field_name in CONTAINER_FIELDS:
        for item in spec.get(field_name) or []:
            if isinstance(item, dict) and item.get("name") == container:
                return {
                    "pod": (pod.get("metadata") or {}).get("name"),
                    "container_field": field_name,
                    "container": item,
                    "pod_spec": {key: spec[key] for key in POD_FIELDS if key in spec},
                }
    return None
