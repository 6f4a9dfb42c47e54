"""`/openapi/v3/apis/GROUP/v1` for the RBAC and authorization groups: the operations kubectl looks at before it
creates or patches (a `patch` with the `fieldValidation` parameter for each kind, so it validates on the server),
and object schemas that say only their kind (no `kubectl explain` detail)."""

from __future__ import annotations

import functools
import hashlib
import json

from kdbgtest.base.k8s import Obj

_KINDS = {
    "rbac.authorization.k8s.io": [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    "authorization.k8s.io": [("selfsubjectaccessreviews", "SelfSubjectAccessReview", False)],
}
_PACKAGE = {"rbac.authorization.k8s.io": "io.k8s.api.rbac.v1", "authorization.k8s.io": "io.k8s.api.authorization.v1"}
_WRITE = ("dryRun", "fieldManager", "fieldValidation")


def _param(name: str, where: str = "query") -> Obj:
    param: Obj = {"name": name, "in": where, "description": name, "schema": {"type": "string", "uniqueItems": True}}
    if where == "path":
        param["required"] = True
    return param


def _op(action: str, group: str, kind: str, params: list[str]) -> Obj:
    model = f"#/components/schemas/{_PACKAGE[group]}.{kind}"
    return {
        "operationId": f"{action}{kind}",
        "parameters": [_param(p) for p in params],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": model}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": kind, "version": "v1"},
    }


@functools.cache
def document(group: str) -> bytes:
    paths: Obj = {}
    schemas: Obj = {}
    for plural, kind, namespaced in _KINDS[group]:
        base = f"/apis/{group}/v1" + ("/namespaces/{namespace}" if namespaced else "") + f"/{plural}"
        paths[base] = {"post": _op("post", group, kind, list(_WRITE))}
        if kind != "SelfSubjectAccessReview":
            paths[base]["get"] = _op("list", group, kind, [])
            paths[base + "/{name}"] = {
                "get": _op("get", group, kind, []),
                "put": _op("put", group, kind, list(_WRITE)),
                "patch": _op("patch", group, kind, [*_WRITE, "force"]),
                "delete": _op("delete", group, kind, []),
                "parameters": [_param("name", "path")] + ([_param("namespace", "path")] if namespaced else []),
            }
        schemas[f"{_PACKAGE[group]}.{kind}"] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": group, "kind": kind, "version": "v1"}],
        }
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def index_entries() -> Obj:
    """The index's entries for these groups (`apis/GROUP/v1` with its hash)."""
    entries: Obj = {}
    for group in _KINDS:
        digest = hashlib.sha512(document(group)).hexdigest()[:128].upper()
        entries[f"apis/{group}/v1"] = {"serverRelativeURL": f"/openapi/v3/apis/{group}/v1?hash={digest}"}
    return entries


GROUPS = tuple(_KINDS)
