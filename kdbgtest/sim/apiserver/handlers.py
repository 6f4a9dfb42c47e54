"""Handlers for namespaces, nodes and events, and the list/watch handler every collection shares."""

from __future__ import annotations

import copy

from aiohttp import web

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import namespaces, objects, patch, pods, rest, selectors, status, watch


def _ns(request: web.Request) -> str:
    return request.match_info["namespace"]


def _name(request: web.Request) -> str:
    return request.match_info["name"]


async def collection(request: web.Request, resource: str, namespace: str | None) -> web.StreamResponse:
    """LIST (filtered by label/field selectors) or, with `watch=true`, WATCH."""
    if rest.flag(request, "watch"):
        return await watch.serve(request, resource, namespace)
    store = rest.store(request)
    predicate = selectors.combined(resource, request.query.get("labelSelector"), request.query.get("fieldSelector"))
    items = [obj for obj in store.list_objects(resource, namespace) if predicate(obj)]
    return rest.list_response(request, resource, items, store.resource_version)


async def patched_object(request: web.Request, resource: str, namespace: str, name: str) -> tuple[Obj, Obj]:
    """(current, patched) for any resource, with the patch errors as Status.

    The body is read first: from then on nothing awaits, so the patch applies to the latest object (the API
    server retries a patch on conflicts for the same reason)."""
    body = await request.read()
    current = rest.store(request).get(resource, namespace, name)
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    try:
        return current, patch.apply_patch(copy.deepcopy(current), body, content_type)
    except patch.PatchError as err:
        raise pods.patch_error(err) from err


# -- namespaces --------------------------------------------------------------------------------------------
async def list_namespaces(request: web.Request) -> web.StreamResponse:
    return await collection(request, "namespaces", None)


async def create_namespace(request: web.Request) -> web.Response:
    body, warnings = await rest.read_object(request, "namespaces")
    created = namespaces.create(rest.store(request), body)
    return rest.respond(created, 201, rest.warning_headers(warnings))


async def get_namespace(request: web.Request) -> web.Response:
    return rest.object_response(request, "namespaces", rest.store(request).get("namespaces", "", _ns(request)))


async def delete_namespace(request: web.Request) -> web.Response:
    store = rest.store(request)

    def delete_pod(namespace: str, name: str) -> None:
        pods.delete(store, namespace, name, None)

    return rest.object_response(request, "namespaces", namespaces.delete(store, _ns(request), delete_pod))


async def patch_namespace(request: web.Request) -> web.Response:
    current, new = await patched_object(request, "namespaces", "", _ns(request))
    current["metadata"]["labels"] = new["metadata"].get("labels") or {}
    current["metadata"]["labels"]["kubernetes.io/metadata.name"] = current["metadata"]["name"]
    current["metadata"]["annotations"] = new["metadata"].get("annotations") or {}
    return rest.object_response(request, "namespaces", rest.store(request).update("namespaces", current))


# -- nodes -------------------------------------------------------------------------------------------------
async def list_nodes(request: web.Request) -> web.StreamResponse:
    return await collection(request, "nodes", None)


async def get_node(request: web.Request) -> web.Response:
    return rest.object_response(request, "nodes", rest.store(request).get("nodes", "", _name(request)))


async def get_node_lease(request: web.Request) -> web.Response:
    """The node's heartbeat Lease (`kubectl describe node` shows it); renewed whenever it is asked for."""
    node = rest.store(request).get("nodes", "", _name(request))
    if request.match_info["namespace"] != "kube-node-lease":
        raise status.not_found("leases", _name(request), "coordination.k8s.io")
    return rest.respond(objects.node_lease(node))


async def patch_node(request: web.Request) -> web.Response:
    """Labels, annotations, taints and `unschedulable` (kubectl label / cordon / taint)."""
    current, new = await patched_object(request, "nodes", "", _name(request))
    for field in ("labels", "annotations"):
        current["metadata"][field] = new["metadata"].get(field) or {}
    current["spec"] = new.get("spec") or {}
    return rest.object_response(request, "nodes", rest.store(request).update("nodes", current))


# -- events ------------------------------------------------------------------------------------------------
async def list_events(request: web.Request) -> web.StreamResponse:
    return await collection(request, "events", request.match_info.get("namespace"))


async def list_pods_all(request: web.Request) -> web.StreamResponse:
    return await collection(request, "pods", None)


async def get_event(request: web.Request) -> web.Response:
    return rest.object_response(request, "events", rest.store(request).get("events", _ns(request), _name(request)))


async def create_event(request: web.Request) -> web.Response:
    body, _ = await rest.read_object(request, "events")
    namespaces.require_active(rest.store(request), _ns(request), "events", body.get("metadata", {}).get("name", ""))
    objects.stamp_new(body, _ns(request))
    return rest.respond(rest.store(request).create("events", body), 201)


async def delete_event(request: web.Request) -> web.Response:
    removed = rest.store(request).remove("events", _ns(request), _name(request))
    return rest.respond(removed)


def not_found(_: web.Request) -> web.Response:
    raise status.resource_not_found()
