"""HTTP plumbing shared by the handlers: app keys, JSON/Table responses, request bodies, query parameters."""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import Any

import yaml
from aiohttp import web

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import fieldcheck, protobuf, status, tables
from kdbgtest.sim.apiserver.store import DryRun, Store
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import NodeRuntime
from kdbgtest.sim.versions import ComponentVersions

STORE = web.AppKey("store", Store)
CONFIG = web.AppKey("config", SimConfig)
VERSIONS = web.AppKey("versions", ComponentVersions)  # read the kube-apiserver's at each request
NODES = web.AppKey("nodes", Mapping[str, NodeRuntime])
TOKEN = web.AppKey("token", str)
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])  # open exec/attach sessions

KINDS = {"pods": "Pod", "nodes": "Node", "namespaces": "Namespace", "events": "Event"}
PROTOBUF = "application/vnd.kubernetes.protobuf"


def store(request: web.Request) -> Store:
    """The store, or a dry-run view of it for writes with `?dryRun=All`."""
    real = request.app[STORE]
    if request.method != "GET" and request.query.get("dryRun") == "All":
        return DryRun(real)
    return real


def respond(body: Any, code: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=code,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers=headers,
    )


def error_response(err: status.ApiError) -> web.Response:
    return respond(err.status, err.code)


def _typed(resource: str, obj: Obj) -> Obj:
    obj.setdefault("apiVersion", "v1")
    obj.setdefault("kind", KINDS[resource])
    return obj


def object_response(request: web.Request, resource: str, obj: Obj, code: int = 200) -> web.Response:
    """One object, or a one-row Table when the client asked for tables."""
    if tables.wants_table(request.headers.get("Accept", "")):
        include = request.query.get("includeObject", "Metadata")
        return respond(tables.table(resource, [obj], obj["metadata"].get("resourceVersion", ""), include), code)
    return respond(_typed(resource, obj), code)


def list_response(request: web.Request, resource: str, items: list[Obj], resource_version: str) -> web.Response:
    if tables.wants_table(request.headers.get("Accept", "")):
        include = request.query.get("includeObject", "Metadata")
        return respond(tables.table(resource, items, resource_version, include))
    body = {
        "kind": KINDS[resource] + "List",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": resource_version},
        "items": [_typed(resource, item) for item in items],
    }
    return respond(body)


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise status.bad_request(f'invalid value for {name}: "{raw}": must be an integer') from None


async def read_object(request: web.Request, resource: str) -> tuple[Obj, list[str]]:
    """The request body as an object, and the warnings to send (unknown fields under fieldValidation=Warn)."""
    raw = await request.read()
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    obj = decode(raw, content_type)
    kind = KINDS[resource]
    unknown = fieldcheck.unknown_fields(kind, obj) if content_type != PROTOBUF else []
    return obj, field_validation(request, kind, unknown)


def decode(raw: bytes, content_type: str) -> Obj:
    """JSON, YAML or the protobuf envelope kubectl sends for creates and deletes."""
    try:
        if content_type == PROTOBUF:
            obj: Any = protobuf.decode_object(raw)
        elif content_type in ("application/yaml", "application/x-yaml"):
            obj = yaml.safe_load(raw.decode()) if raw else {}
        elif content_type in ("application/json", ""):
            obj = json.loads(raw) if raw else {}
        else:
            raise status.unsupported_media_type(content_type)
    except (ValueError, yaml.YAMLError) as err:
        raise status.bad_request(f"couldn't get version/kind; json parse error: {err}") from err
    if not isinstance(obj, dict):
        raise status.bad_request("couldn't get version/kind; json parse error: the body is not an object")
    return obj


def field_validation(request: web.Request, kind: str, unknown: list[str]) -> list[str]:
    """Apply `fieldValidation`: Strict rejects unknown fields (400), Warn (the default) returns warnings."""
    mode = request.query.get("fieldValidation", "Warn")
    if mode not in ("Strict", "Warn", "Ignore"):
        raise status.bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{mode}"')
    if not unknown or mode == "Ignore":
        return []
    messages = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        raise status.bad_request(
            f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: ' + ", ".join(messages)
        )
    return messages


def warning_headers(warnings: list[str]) -> dict[str, str]:
    """The `Warning: 299 - "..."` header (one, comma-joined, as aiohttp keeps single values)."""
    if not warnings:
        return {}
    return {"Warning": ", ".join('299 - "{}"'.format(w.replace('"', '\\"')) for w in warnings)}
