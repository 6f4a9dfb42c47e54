"""`/openapi/v3` (index) and `/openapi/v3/api/v1`: enough for `kubectl apply` (patch operations with the
`fieldValidation` parameter, schemas with patch strategies) and `kubectl explain`."""

from __future__ import annotations

import functools
import hashlib
import json

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import openapi_groups, schema

_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+cbor",
)
_QUERY = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "fieldManager is a name associated with the actor or entity making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request "
    "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, "
    "Warn (the default), Strict.",
    "pretty": "If 'true', then the output is pretty printed.",
}


def _param(name: str, where: str = "query", description: str = "") -> Obj:
    param: Obj = {
        "name": name,
        "in": where,
        "description": description or _QUERY.get(name, name),
        "schema": {"type": "string", "uniqueItems": True},
    }
    if where == "path":
        param["required"] = True
    return param


def _ref(name: str) -> Obj:
    return {"$ref": "#/components/schemas/" + name}


def _operation(action: str, kind: str, op_id: str, body: bool, extra: list[Obj]) -> Obj:
    model = schema.model_of(kind)
    op: Obj = {
        "tags": ["core_v1"],
        "description": f"{action} {kind}",
        "operationId": op_id,
        "parameters": extra,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": _ref(model)}}},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": "", "kind": kind, "version": "v1"},
    }
    if body:
        types = _PATCH_TYPES if action == "patch" else ("*/*",)
        target = _ref(schema.META + "Patch") if action == "patch" else _ref(model)
        op["requestBody"] = {"content": {t: {"schema": target} for t in types}, "required": True}
    return op


def _item_path(kind: str, scope: str, suffix: str, sub: str) -> Obj:
    """get/put/patch operations on one object or one of its subresources."""
    writes = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
    path_params = [_param("name", "path", f"name of the {kind}")]
    if scope:
        path_params.append(_param("namespace", "path", "object name and auth scope"))
    name = f"{scope}{kind}{sub}"
    return {
        "get": _operation("get", kind, f"readCoreV1{name}", False, []),
        "put": _operation("put", kind, f"replaceCoreV1{name}", True, writes),
        "patch": _operation("patch", kind, f"patchCoreV1{name}", True, [*writes, _param("force")]),
        "parameters": [*path_params, _param("pretty")],
    }


def _paths(ephemeral: bool) -> Obj:
    paths: Obj = {}
    for plural, kind, scope in (
        ("pods", "Pod", "Namespaced"),
        ("events", "Event", "Namespaced"),
        ("nodes", "Node", ""),
        ("namespaces", "Namespace", ""),
    ):
        base = f"/api/v1/namespaces/{{namespace}}/{plural}" if scope else f"/api/v1/{plural}"
        item = _item_path(kind, scope, "", "")
        item["delete"] = _operation("delete", kind, f"deleteCoreV1{scope}{kind}", False, [])
        paths[base + "/{name}"] = item
        paths[base] = {
            "get": _operation("list", kind, f"listCoreV1{scope}{kind}", False, []),
            "post": _operation(
                "post",
                kind,
                f"createCoreV1{scope}{kind}",
                True,
                [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")],
            ),
        }
    for sub in ("status", "ephemeralcontainers") if ephemeral else ("status",):
        paths[f"/api/v1/namespaces/{{namespace}}/pods/{{name}}/{sub}"] = _item_path(
            "Pod", "Namespaced", sub, sub.capitalize()
        )
    return paths


@functools.cache
def api_v1_document(ephemeral: bool = True) -> bytes:
    """The api/v1 document; without `ephemeral` the pods/ephemeralcontainers paths are left out (gate off)."""
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": _paths(ephemeral),
        "components": {"schemas": schema.components()},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def index(ephemeral: bool = True) -> Obj:
    digest = hashlib.sha512(api_v1_document(ephemeral)).hexdigest()[:128].upper()
    return {
        "paths": {
            "api/v1": {"serverRelativeURL": f"/openapi/v3/api/v1?hash={digest}"},
            **openapi_groups.index_entries(),
        }
    }
