"""Containers that will not start until someone changes something: an image that cannot be pulled, or a
container whose configuration the kubelet refuses.

A wait for such a container to run would only wait out its deadline (60 s per debug step, 30 s per fixture),
so every wait asks `cannot_start` and fails at once with the kubelet's own reason and message. The runner's
waits (`kdbgtest.runner.waits`), kubectl's wait for its debug container and the API driver's share this one
judgement.
"""

from __future__ import annotations

from collections.abc import Iterable

from kdbgtest.base import k8s
from kdbgtest.base.errors import StepFailed

# Waiting reasons the kubelet keeps reporting until the pod or the registry changes. ErrImageNeverPull is the
# same situation as ErrImagePull under `imagePullPolicy: Never`.
NEVER_STARTS = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
)


class CannotStart(StepFailed):
    """A container the step waits for is stuck in one of `NEVER_STARTS`."""


def cannot_start(pod: k8s.Pod, containers: Iterable[str] | None = None) -> str | None:
    """Why a container of `pod` cannot start, as the kubelet says it: `container app: ImagePullBackOff: Back-off
    pulling image "nope:1"`; None when none is stuck. `containers` limits the look to those names (init
    containers are always looked at: while one is stuck, no other container starts)."""
    wanted = None if containers is None else set(containers)
    others = k8s.container_statuses(pod, ["regular", "ephemeral"])
    looked = [*k8s.container_statuses(pod, ["init"]), *(s for s in others if wanted is None or s.get("name") in wanted)]
    for item in looked:
        why = state_stuck(item.get("state") or {})
        if why is not None:
            return f"container {item.get('name')}: {why}"
    return None


def state_stuck(state: k8s.ContainerState) -> str | None:
    """`ImagePullBackOff: Back-off pulling image "nope:1"` when a container state is one of `NEVER_STARTS`."""
    waiting = state.get("waiting") or {}
    reason = waiting.get("reason") if isinstance(waiting, dict) else None
    if reason not in NEVER_STARTS:
        return None
    return f"{reason}: {waiting.get('message') or 'no message'}"


def failure(pod_name: str, why: str, *, waiting: str) -> CannotStart:
    """The error a wait for `waiting` raises for a stuck container (`why` from `cannot_start`)."""
    return CannotStart(f"pod {pod_name}: {why}; stopped waiting for {waiting}: it will not start without a change")
