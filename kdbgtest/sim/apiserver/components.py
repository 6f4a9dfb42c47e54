"""The sim's own admin endpoints for in-place upgrades: the version each component runs (kdbgtest.sim.versions).

    GET /kdbgtest/v1/components               -> {"kube-apiserver": "1.36", ..., "kubelet": "1.36"}
    PUT /kdbgtest/v1/components/{component}   {"version": "1.37"} -> the new map

An unknown component is a 404 Status, a version other than 1.N (or a body without one) a 400 Status.
"""

from __future__ import annotations

import json

from aiohttp import web

from kdbgtest.sim import versions
from kdbgtest.sim.apiserver import rest, status

PREFIX = "/kdbgtest/v1/components"


async def list_components(request: web.Request) -> web.Response:
    return rest.respond(request.app[rest.VERSIONS].as_dict())


async def set_component(request: web.Request) -> web.Response:
    running = request.app[rest.VERSIONS]
    component = request.match_info["component"]
    try:
        running.version(component)  # an unknown component is a 404 whatever the body
        running.set(component, _requested_version(await request.read()))
    except versions.UnknownComponent as exc:
        details = {"name": component, "kind": "components"}
        raise status.ApiError(status.failure(404, "NotFound", str(exc), details)) from None
    except versions.InvalidVersion as exc:
        raise status.bad_request(str(exc)) from None
    return rest.respond(running.as_dict())


def _requested_version(raw: bytes) -> str:
    """The `version` of a JSON body `{"version": "1.N"}`; a 400 for any other body."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, str):
        raise status.bad_request('expected a JSON body like {"version": "1.36"}')
    return version
