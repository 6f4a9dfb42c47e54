"""The shape of the Kubernetes objects kdbgtest reads, as JSON: one declaration for the harness and the sim.

`Obj` is any object of any kind, for code that stores, patches or passes objects on without looking inside
(the sim's store, merge patches, generic gets). The TypedDicts name the fields code reads, with the types the
API server sends; all are `total=False` because a cluster may leave any field out and the code must not assume
it. Fields nothing reads field by field stay `Obj`. Like kopf's `bodies.py`, these describe JSON and
validate nothing: a reader that meets a cluster's odd answer still checks (`or {}`, `isinstance`).

`as_pod`, `as_node`... say at the one place where code learns the kind of a generic `Obj` which shape it
has from then on (a typed `cast`: no copy, no check). `container_statuses` is the one walk over a pod's init,
regular and ephemeral container statuses, `containers` its twin over the spec.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict, cast

Obj = dict[str, Any]
"""A Kubernetes object of any kind, or a part of one nothing here reads field by field."""


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str | None
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[Obj]
    finalizers: list[str]
    managedFields: list[Obj]


class Container(TypedDict, total=False):
    """A container of `spec.initContainers`, `spec.containers` or `spec.ephemeralContainers`."""

    name: str
    image: str
    imagePullPolicy: str
    command: list[str]
    args: list[str]
    workingDir: str
    env: list[Obj]
    envFrom: list[Obj]
    ports: list[Obj]
    resources: Obj
    volumeMounts: list[Obj]
    volumeDevices: list[Obj]
    securityContext: Obj
    livenessProbe: Obj
    readinessProbe: Obj
    startupProbe: Obj
    lifecycle: Obj
    restartPolicy: str  # an init container's `Always`: a sidecar
    stdin: bool
    stdinOnce: bool
    tty: bool
    terminationMessagePath: str
    terminationMessagePolicy: str
    targetContainerName: str  # ephemeral containers only


class PodSpec(TypedDict, total=False):
    initContainers: list[Container]
    containers: list[Container]
    ephemeralContainers: list[Container]
    nodeName: str
    nodeSelector: dict[str, str]
    restartPolicy: str
    terminationGracePeriodSeconds: int
    activeDeadlineSeconds: int
    serviceAccountName: str
    automountServiceAccountToken: bool
    hostPID: bool
    hostIPC: bool
    hostNetwork: bool
    shareProcessNamespace: bool
    securityContext: Obj
    volumes: list[Obj]
    tolerations: list[Obj]
    affinity: Obj
    schedulingGates: list[Obj]
    enableServiceLinks: bool
    priority: int


class ContainerStateWaiting(TypedDict, total=False):
    reason: str
    message: str


class ContainerStateRunning(TypedDict, total=False):
    startedAt: str


class ContainerStateTerminated(TypedDict, total=False):
    exitCode: int
    signal: int
    reason: str
    message: str
    startedAt: str
    finishedAt: str
    containerID: str


class ContainerState(TypedDict, total=False):
    """At most one of the three is set; none while the kubelet has not looked yet."""

    waiting: ContainerStateWaiting
    running: ContainerStateRunning
    terminated: ContainerStateTerminated


class ContainerStatus(TypedDict, total=False):
    name: str
    state: ContainerState
    lastState: ContainerState
    ready: bool
    started: bool
    restartCount: int
    image: str
    imageID: str
    containerID: str


class Condition(TypedDict, total=False):
    """A pod's or a node's condition (`Ready`, `PodScheduled`, ...): `status` is "True", "False" or "Unknown"."""

    type: str
    status: str
    reason: str
    message: str
    lastProbeTime: str | None
    lastTransitionTime: str
    lastHeartbeatTime: str  # nodes only


class PodStatus(TypedDict, total=False):
    phase: str
    reason: str
    message: str
    conditions: list[Condition]
    hostIP: str
    hostIPs: list[Obj]
    podIP: str
    podIPs: list[Obj]
    startTime: str
    qosClass: str
    nominatedNodeName: str
    initContainerStatuses: list[ContainerStatus]
    containerStatuses: list[ContainerStatus]
    ephemeralContainerStatuses: list[ContainerStatus]


class Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus


class NodeStatus(TypedDict, total=False):
    conditions: list[Condition]
    addresses: list[Obj]
    nodeInfo: dict[str, str]  # kubeletVersion, osImage, ...
    capacity: dict[str, str]
    allocatable: dict[str, str]


class NodeSpec(TypedDict, total=False):
    taints: list[Obj]
    unschedulable: bool
    podCIDR: str
    providerID: str


class Node(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: NodeSpec
    status: NodeStatus


def as_pod(obj: Obj) -> Pod:
    """`obj`, which the caller knows is a pod, read as one."""
    return cast(Pod, obj)


def as_node(obj: Obj) -> Node:
    """`obj`, which the caller knows is a node, read as one."""
    return cast(Node, obj)


ContainerKind = Literal["init", "regular", "ephemeral"]
ALL_KINDS: tuple[ContainerKind, ...] = ("init", "regular", "ephemeral")


def container_statuses(pod: Pod, kinds: Iterable[ContainerKind] = ALL_KINDS) -> list[ContainerStatus]:
    """The pod's container statuses of `kinds`, in that order (by default init, regular, ephemeral: kubectl's
    lookup order), each list in the server's order; entries that are not objects are left out."""
    status = pod.get("status") or {}
    lists = {
        "init": status.get("initContainerStatuses"),
        "regular": status.get("containerStatuses"),
        "ephemeral": status.get("ephemeralContainerStatuses"),
    }
    found: list[ContainerStatus] = []
    for kind in kinds:
        found += [s for s in lists[kind] or [] if isinstance(s, dict)]
    return found


def containers(pod: Pod, kinds: Iterable[ContainerKind] = ALL_KINDS) -> list[Container]:
    """The pod's containers of `kinds` in its spec, in that order (by default init, regular, ephemeral: the API
    server's visiting order); entries that are not objects are left out."""
    spec = pod.get("spec") or {}
    lists = {
        "init": spec.get("initContainers"),
        "regular": spec.get("containers"),
        "ephemeral": spec.get("ephemeralContainers"),
    }
    found: list[Container] = []
    for kind in kinds:
        found += [c for c in lists[kind] or [] if isinstance(c, dict)]
    return found
