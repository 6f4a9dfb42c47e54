"""Which container a log/exec/attach request means (the API server's `validateContainer`)."""

from __future__ import annotations

from kdbgtest.sim.apiserver import status
from kdbgtest.sim.contracts import Obj


def all_names(pod: Obj) -> list[str]:
    """Init, regular and ephemeral container names, in the API server's visiting order."""
    spec = pod.get("spec") or {}
    lists = ("initContainers", "containers", "ephemeralContainers")
    return [c["name"] for field in lists for c in spec.get(field) or []]


def resolve(pod: Obj, container: str) -> str:
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
