"""The offline cluster's API server: routes, bearer-token authentication, Status errors. `build_app` is the
entry point; the daemon serves the returned application over TLS."""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import WSCloseCode, web

from kdbgtest.sim import users
from kdbgtest.sim.apiserver import (
    access,
    components,
    discovery,
    handlers,
    logs,
    openapi,
    openapi_groups,
    rbac,
    rbac_handlers,
    rest,
    status,
    streams,
)
from kdbgtest.sim.apiserver import pod_handlers as ph
from kdbgtest.sim.apiserver.store import Store
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import NodeRuntime
from kdbgtest.sim.versions import APISERVER, ComponentVersions

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NS = "/api/v1/namespaces/{namespace}"
POD = NS + "/pods/{name}"


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as a metav1.Status, as the API server answers."""
    try:
        return await handler(request)
    except status.ApiError as err:
        return rest.error_response(err)
    except web.HTTPNotFound:
        return rest.error_response(status.resource_not_found())
    except web.HTTPMethodNotAllowed:
        return rest.error_response(status.method_not_allowed())
    except web.HTTPException:
        raise
    except Exception as err:  # a bug in the sim: the client still gets a Status
        log.exception("unhandled error serving %s %s", request.method, request.path)
        return rest.error_response(status.internal(f"{type(err).__name__}: {err}"))


def _static(body: Callable[[web.Request], object]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return rest.respond(body(request))

    return handler


async def _ok(_: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def _openapi_v1(request: web.Request) -> web.Response:
    return web.Response(
        body=openapi.api_v1_document(request.app[rest.VERSIONS].feature(APISERVER, "EphemeralContainers")),
        content_type="application/json",
        headers={"Cache-Control": "public, immutable"},
    )


def _group_doc(build: Callable[[str], object], group: str, _: web.Request) -> object:
    return build(group)


def _openapi_group(group: str) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(
            body=openapi_groups.document(group),
            content_type="application/json",
            headers={"Cache-Control": "public, immutable"},
        )

    return handler


def _routes(app: web.Application) -> None:
    running = app[rest.VERSIONS]
    add = app.router.add_route
    for path in ("/healthz", "/livez", "/readyz"):
        add("GET", path, _ok)
    add("GET", "/version", _static(lambda _: discovery.version(running.version(APISERVER))))
    add("GET", "/api", _static(lambda _: discovery.api_versions()))
    add("GET", "/apis", _static(lambda _: discovery.api_groups()))
    for group in discovery.GROUPS:
        add("GET", f"/apis/{group}", _static(functools.partial(_group_doc, discovery.api_group, group)))
        add("GET", f"/apis/{group}/v1", _static(functools.partial(_group_doc, discovery.group_resources, group)))
    app.router.add_routes(rbac_handlers.routes())
    add("GET", "/api/v1", _static(lambda _: discovery.core_v1(running.feature(APISERVER, "EphemeralContainers"))))
    add("GET", "/openapi/v3", _static(lambda _: openapi.index(running.feature(APISERVER, "EphemeralContainers"))))
    add("GET", "/openapi/v3/api/v1", _openapi_v1)
    for group in openapi_groups.GROUPS:
        add("GET", f"/openapi/v3/apis/{group}/v1", _openapi_group(group))
    add("GET", "/api/v1/namespaces", handlers.list_namespaces)
    add("POST", "/api/v1/namespaces", handlers.create_namespace)
    add("GET", NS, handlers.get_namespace)
    add("DELETE", NS, handlers.delete_namespace)
    add("PATCH", NS, handlers.patch_namespace)
    add("GET", "/api/v1/nodes", handlers.list_nodes)
    add("GET", "/api/v1/nodes/{name}", handlers.get_node)
    add("GET", "/api/v1/nodes/{name}/status", handlers.get_node)
    add("PATCH", "/api/v1/nodes/{name}", handlers.patch_node)
    add("GET", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", handlers.get_node_lease)
    add("GET", "/api/v1/pods", handlers.list_pods_all)
    add("GET", "/api/v1/events", handlers.list_events)
    add("GET", NS + "/events", handlers.list_events)
    add("POST", NS + "/events", handlers.create_event)
    add("GET", NS + "/events/{name}", handlers.get_event)
    add("DELETE", NS + "/events/{name}", handlers.delete_event)
    add("GET", components.PREFIX, components.list_components)
    add("PUT", components.PREFIX + "/{component}", components.set_component)
    _pod_routes(app)


def _pod_routes(app: web.Application) -> None:
    add = app.router.add_route
    add("GET", NS + "/pods", ph.list_pods)
    add("POST", NS + "/pods", ph.create_pod)
    add("GET", POD, ph.get_pod)
    add("PUT", POD, ph.replace_pod)
    add("PATCH", POD, ph.patch_pod)
    add("DELETE", POD, ph.delete_pod)
    add("GET", POD + "/status", ph.get_status)
    add("PUT", POD + "/status", ph.replace_status)
    add("PATCH", POD + "/status", ph.patch_status)
    add("GET", POD + "/ephemeralcontainers", ph.get_ephemeral)
    add("PUT", POD + "/ephemeralcontainers", ph.replace_ephemeral)
    add("PATCH", POD + "/ephemeralcontainers", ph.patch_ephemeral)
    add("GET", POD + "/log", logs.log_handler)
    for method in ("GET", "POST"):
        add(method, POD + "/exec", streams.exec_handler)
        add(method, POD + "/attach", streams.attach_handler)


def build_app(
    config: SimConfig,
    store: Store,
    nodes: Mapping[str, NodeRuntime],
    token: str,
    versions: ComponentVersions | None = None,
) -> web.Application:
    """The API server application; requests must carry `Authorization: Bearer <token>` (the admin's `token`,
    or a named user's token derived from it: `kdbgtest.sim.users`), and RBAC must allow them.

    `versions`: the running components' versions, shared with the node agents (default: all at the config's).
    """
    app = web.Application(middlewares=[_errors, access.guard], client_max_size=16 * 1024 * 1024)
    app[rest.CONFIG] = config
    app[rest.VERSIONS] = versions or ComponentVersions(config)
    app[rest.STORE] = store
    app[rest.NODES] = nodes
    app[rest.TOKEN] = token
    app[access.USERS] = users.by_token(token)
    rbac.bootstrap(store)
    _routes(app)

    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[rest.SOCKETS] = sockets

    async def close_streams(_: web.Application) -> None:
        """Let the server stop at once: end watches and exec/attach sessions (1001 going away)."""
        store.close_watches()
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    app.on_shutdown.append(close_streams)
    return app
