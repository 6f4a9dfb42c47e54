"""The object store: objects by resource, resourceVersions, a bounded change history and live watches.

`Store` is also the `ClusterState` the node agents use to report pod statuses, events and node status.
"""

from __future__ import annotations

import asyncio
import collections
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import objects, status
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import PodChange

HISTORY = 2000  # watch events kept for resuming watches; older resourceVersions get 410 Gone
CLUSTER_SCOPED = frozenset({"nodes", "namespaces", "clusterroles", "clusterrolebindings"})
# Namespaced objects that go with their namespace (pods go first, gracefully).
NAMESPACE_CONTENTS = ("events", "roles", "rolebindings")
Key = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    resource: str
    obj: Obj  # snapshot, never mutated
    rv: int
    prev: Obj | None = None  # the state before a MODIFIED change (for selector transitions)


class Watch:
    """A live subscription; events arrive in `queue` (None: the store closed it)."""

    def __init__(self, store: Store, resource: str, namespace: str | None) -> None:
        self.store, self.resource, self.namespace = store, resource, namespace
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()

    def wants(self, event: WatchEvent) -> bool:
        if event.resource != self.resource:
            return False
        return self.namespace is None or event.obj["metadata"].get("namespace") == self.namespace

    def close(self) -> None:
        self.store._watches.discard(self)


def _key(obj: Obj) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


class Store:
    """Every object of the sim cluster, in memory."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._rv = 1
        self._objects: dict[str, dict[Key, Obj]] = collections.defaultdict(dict)
        self._history: collections.deque[WatchEvent] = collections.deque(maxlen=HISTORY)
        self._watches: set[Watch] = set()
        self._pod_subscribers: dict[str, list[Callable[[PodChange], None]]] = collections.defaultdict(list)
        for index, name in enumerate(config.node_names):
            self.create("nodes", objects.node(config, index, name))
        for name in objects.SYSTEM_NAMESPACES:
            self.create("namespaces", objects.namespace(name))

    # -- generic access -------------------------------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def find(self, resource: str, namespace: str, name: str) -> Obj | None:
        """A deep copy of the object, or None."""
        found = self._objects[resource].get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def get(self, resource: str, namespace: str, name: str) -> Obj:
        found = self.find(resource, namespace, name)
        if found is None:
            raise status.not_found(resource, name)
        return found

    def list_objects(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Deep copies of the objects (of one namespace, or all), ordered by namespace and name."""
        return [copy.deepcopy(obj) for _, obj in self._iter(resource, namespace)]

    def _iter(self, resource: str, namespace: str | None) -> Iterator[tuple[Key, Obj]]:
        for key in sorted(self._objects[resource]):
            if namespace is None or key[0] == namespace:
                yield key, self._objects[resource][key]

    def create(self, resource: str, obj: Obj) -> Obj:
        """Store a new object (metadata already stamped); AlreadyExists if the name is taken."""
        key = _key(obj)
        if key in self._objects[resource]:
            raise status.already_exists(resource, key[1])
        return self._put(resource, key, obj, "ADDED")

    def update(self, resource: str, obj: Obj) -> Obj:
        """Replace an object; Conflict if `metadata.resourceVersion` is set and stale."""
        key = _key(obj)
        current = self._objects[resource].get(key)
        if current is None:
            raise status.not_found(resource, key[1])
        sent = obj["metadata"].get("resourceVersion")
        if sent and sent != current["metadata"]["resourceVersion"]:
            raise status.stale_update(resource, key[1])
        return self._put(resource, key, obj, "MODIFIED")

    def remove(self, resource: str, namespace: str, name: str) -> Obj:
        """Delete an object now; the DELETED event carries a fresh resourceVersion."""
        popped = self._objects[resource].pop((namespace, name), None)
        if popped is None:
            raise status.not_found(resource, name)
        current = copy.deepcopy(popped)
        self._rv += 1
        current["metadata"]["resourceVersion"] = str(self._rv)
        self._emit(resource, "DELETED", current)
        return copy.deepcopy(current)

    def _put(self, resource: str, key: Key, obj: Obj, type_: str) -> Obj:
        self._rv += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self._rv)
        previous = self._objects[resource].get(key)
        self._objects[resource][key] = stored
        self._emit(resource, type_, stored, previous)
        return copy.deepcopy(stored)

    def _emit(self, resource: str, type_: str, obj: Obj, previous: Obj | None = None) -> None:
        event = WatchEvent(type_, resource, copy.deepcopy(obj), self._rv, previous)
        self._history.append(event)
        for watch in list(self._watches):
            if watch.wants(event):
                watch.queue.put_nowait(event)
        if resource == "pods":
            self._notify_nodes(type_, copy.deepcopy(obj), previous)

    # -- watches --------------------------------------------------------------------------------------------
    def watch(self, resource: str, namespace: str | None, since: int | None) -> Watch:
        """Subscribe; with `since`, first replay history after it (410 Gone when it was compacted)."""
        watch = Watch(self, resource, namespace)
        if since is not None:
            oldest = self._history[0].rv if self._history else self._rv + 1
            if since < oldest - 1 and len(self._history) == self._history.maxlen:
                raise status.ApiError(status.gone(since, oldest))
            for event in self._history:
                if event.rv > since and watch.wants(event):
                    watch.queue.put_nowait(event)
        self._watches.add(watch)
        return watch

    def close_watches(self) -> None:
        for watch in list(self._watches):
            watch.queue.put_nowait(None)
        self._watches.clear()

    # -- node agents (ClusterState) -------------------------------------------------------------------------
    def _notify_nodes(self, type_: str, pod: Obj, previous: Obj | None) -> None:
        node = pod.get("spec", {}).get("nodeName")
        before = (previous or {}).get("spec", {}).get("nodeName")
        if not node:
            return
        change = PodChange("ADDED" if type_ == "MODIFIED" and before != node else type_, pod)
        for callback in list(self._pod_subscribers.get(node, [])):
            _call_soon(callback, change)

    def pods_on_node(self, node: str) -> list[Obj]:
        return [copy.deepcopy(p) for _, p in self._iter("pods", None) if p["spec"].get("nodeName") == node]

    def subscribe_pods(self, node: str, callback: Callable[[PodChange], None]) -> None:
        self._pod_subscribers[node].append(callback)

    def update_pod_status(self, namespace: str, name: str, status_: Obj) -> Obj | None:
        pod = self.find("pods", namespace, name)
        if pod is None:
            return None
        pod["status"] = copy.deepcopy(status_)
        return self._put("pods", (namespace, name), pod, "MODIFIED")

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        if (namespace, name) in self._objects["pods"]:
            self.remove("pods", namespace, name)
        self.finish_namespace(namespace)

    def record_event(self, involved: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        ref = objects.object_reference(involved)
        host = (involved.get("spec") or {}).get("nodeName", "")
        self.emit_event(ref, reason, message, type_, "kubelet", host)

    def emit_event(self, ref: Obj, reason: str, message: str, type_: str, component: str, host: str) -> None:
        """Create an Event, or bump count/lastTimestamp of the identical one (as the event recorder does)."""
        namespace = ref.get("namespace") or "default"
        for _, existing in self._iter("events", namespace):
            same_ref = existing["involvedObject"].get("uid") == ref.get("uid") and existing["involvedObject"].get(
                "fieldPath"
            ) == ref.get("fieldPath")
            if same_ref and (existing["reason"], existing["message"], existing["type"]) == (
                reason,
                message,
                type_,
            ):
                bumped = copy.deepcopy(existing)
                bumped["count"] = existing.get("count", 1) + 1
                bumped["lastTimestamp"] = objects.now()
                self._put("events", _key(bumped), bumped, "MODIFIED")
                return
        if self.find("namespaces", "", namespace) is not None:
            self.create("events", objects.event(ref, reason, message, type_, component, host))

    def set_node_status(self, name: str, status_: Obj) -> None:
        node = self.get("nodes", "", name)
        node["status"] = copy.deepcopy(status_)
        self._put("nodes", ("", name), node, "MODIFIED")

    # -- namespace termination ------------------------------------------------------------------------------
    def finish_namespace(self, namespace: str) -> None:
        """Remove a terminating namespace once its last pod is gone (its events and RBAC objects go with it)."""
        ns = self._objects["namespaces"].get(("", namespace))
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if any(True for _ in self._iter("pods", namespace)):
            return
        for resource in NAMESPACE_CONTENTS:
            for key, _ in list(self._iter(resource, namespace)):
                self.remove(resource, *key)
        self.remove("namespaces", "", namespace)


class DryRun(Store):
    """`?dryRun=All`: the same checks and answers, nothing stored, no watch events, no events recorded."""

    def __init__(self, real: Store) -> None:  # shares the real store's state, read-only
        self.__dict__.update(real.__dict__)

    def create(self, resource: str, obj: Obj) -> Obj:
        if _key(obj) in self._objects[resource]:
            raise status.already_exists(resource, _key(obj)[1])
        return copy.deepcopy(obj)

    def update(self, resource: str, obj: Obj) -> Obj:
        current = self.get(resource, *_key(obj))
        sent = obj["metadata"].get("resourceVersion")
        if sent and sent != current["metadata"]["resourceVersion"]:
            raise status.stale_update(resource, _key(obj)[1])
        return copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> Obj:
        return self.get(resource, namespace, name)

    def emit_event(self, ref: Obj, reason: str, message: str, type_: str, component: str, host: str) -> None:
        return

    def finish_namespace(self, namespace: str) -> None:
        return


def _call_soon(callback: Callable[[PodChange], None], change: PodChange) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback(change)
        return
    loop.call_soon(callback, change)
