"""Handlers for pods and their status and ephemeralcontainers subresources."""

from __future__ import annotations

from aiohttp import web

from kdbgtest.base.k8s import Obj
from kdbgtest.sim import versions
from kdbgtest.sim.apiserver import fieldcheck, handlers, pods, podsecurity, rest, status
from kdbgtest.sim.apiserver.store import DryRun


def _ns(request: web.Request) -> str:
    return request.match_info["namespace"]


def _name(request: web.Request) -> str:
    return request.match_info["name"]


async def list_pods(request: web.Request) -> web.StreamResponse:
    return await handlers.collection(request, "pods", _ns(request))


def _admission(request: web.Request, warnings: list[str]) -> pods.Admit:
    """Pod Security admission for the request's namespace; its warnings are added to `warnings`."""

    def admit(pod: Obj) -> None:
        namespace = rest.store(request).find("namespaces", "", _ns(request))
        warnings.extend(podsecurity.admit(namespace, pod))

    return admit


async def create_pod(request: web.Request) -> web.Response:
    body, warnings = await rest.read_object(request, "pods")
    created = pods.create(rest.store(request), _ns(request), body, _admission(request, warnings))
    return rest.respond(created, 201, rest.warning_headers(warnings))


async def get_pod(request: web.Request) -> web.Response:
    return rest.object_response(request, "pods", rest.store(request).get("pods", _ns(request), _name(request)))


async def replace_pod(request: web.Request) -> web.Response:
    body, warnings = await rest.read_object(request, "pods")
    updated = pods.update(rest.store(request), _ns(request), _name(request), body)
    return rest.respond(updated, 200, rest.warning_headers(warnings))


async def _patched(request: web.Request) -> tuple[Obj, list[str]]:
    """The pod with the request's patch applied, and unknown-field warnings (fieldValidation)."""
    _, new = await handlers.patched_object(request, "pods", _ns(request), _name(request))
    warnings = rest.field_validation(request, "Pod", fieldcheck.unknown_fields("Pod", new))
    return new, warnings


async def patch_pod(request: web.Request) -> web.Response:
    new, warnings = await _patched(request)
    updated = pods.update(rest.store(request), _ns(request), _name(request), new)
    return rest.respond(updated, 200, rest.warning_headers(warnings))


async def delete_pod(request: web.Request) -> web.Response:
    options: Obj = {}
    if request.can_read_body:
        options, _ = await _delete_options(request)
    grace = rest.int_param(request, "gracePeriodSeconds")
    if grace is None and options.get("gracePeriodSeconds") is not None:
        grace = int(options["gracePeriodSeconds"])
    store = rest.store(request)
    if "All" in (options.get("dryRun") or []):  # kubectl sends dryRun inside DeleteOptions
        store = DryRun(rest.store(request))
    deleted = pods.delete(store, _ns(request), _name(request), grace)
    return rest.respond(deleted)


async def _delete_options(request: web.Request) -> tuple[Obj, str]:
    raw = await request.read()
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    return (rest.decode(raw, content_type) if raw else {}), content_type


# -- pods/status -------------------------------------------------------------------------------------------
async def get_status(request: web.Request) -> web.Response:
    return await get_pod(request)


async def replace_status(request: web.Request) -> web.Response:
    body, _ = await rest.read_object(request, "pods")
    return rest.respond(pods.update_status(rest.store(request), _ns(request), _name(request), body))


async def patch_status(request: web.Request) -> web.Response:
    new, _ = await _patched(request)
    return rest.respond(pods.update_status(rest.store(request), _ns(request), _name(request), new))


# -- pods/ephemeralcontainers ------------------------------------------------------------------------------
def _require_ephemeral(request: web.Request) -> None:
    """With the feature gate off the subresource does not exist: the generic 404 with no name in details."""
    if not request.app[rest.VERSIONS].feature(versions.APISERVER, "EphemeralContainers"):
        raise status.resource_not_found()


async def get_ephemeral(request: web.Request) -> web.Response:
    _require_ephemeral(request)
    return await get_pod(request)


async def replace_ephemeral(request: web.Request) -> web.Response:
    _require_ephemeral(request)
    body, warnings = await rest.read_object(request, "pods")
    updated = pods.update_ephemeral(
        rest.store(request), _ns(request), _name(request), body, _admission(request, warnings)
    )
    return rest.respond(updated, 200, rest.warning_headers(warnings))


async def patch_ephemeral(request: web.Request) -> web.Response:
    _require_ephemeral(request)
    new, warnings = await _patched(request)
    updated = pods.update_ephemeral(
        rest.store(request), _ns(request), _name(request), new, _admission(request, warnings)
    )
    return rest.respond(updated, 200, rest.warning_headers(warnings))
