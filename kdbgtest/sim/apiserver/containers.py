"""Which container a log/exec/attach request means (the API server's `validateContainer`)."""

from __future__ import annotations

from kdbgtest.base import k8s
from kdbgtest.sim.apiserver import status


def all_names(pod: k8s.Pod) -> list[str]:
    """Init, regular and ephemeral container names, in the API server's visiting order."""
    return [c["name"] for c in k8s.containers(pod)]


def resolve(pod: k8s.Pod, container: str) -> str:
    """`container`, or the only regular container; BadRequest with the server's message otherwise."""
    name = pod["metadata"]["name"]
    regular = pod["spec"].get("containers") or []
    if container:
        if container not in all_names(pod):
            raise status.bad_request(f"container {container} is not valid for pod {name}")
        return container
    if len(regular) == 1:
        return str(regular[0]["name"])
    if not regular:
        raise status.bad_request(f"pod {name} does not have a container")
    choices = " ".join(all_names(pod))
    raise status.bad_request(f"a container name must be specified for pod {name}, choose one of: [{choices}]")
