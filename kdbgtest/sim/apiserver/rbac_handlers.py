"""The `rbac.authorization.k8s.io/v1` objects (Role, ClusterRole, RoleBinding, ClusterRoleBinding: create, get,
list, update, patch, delete) and `authorization.k8s.io/v1` SelfSubjectAccessReview, which `kubectl auth can-i`
asks.

Not modelled: RBAC's escalation check on creating roles and bindings (the sim's users who may create them are
admins in practice), SelfSubjectRulesReview (`kubectl auth can-i --list`), watches of RBAC objects.
"""

from __future__ import annotations

from aiohttp import web

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import access, authz, handlers, objects, rbac, rest, status
from kdbgtest.sim.apiserver.store import Store

GROUP_VERSION = f"{rbac.GROUP}/v1"
KINDS = {
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "clusterroles": "ClusterRole",
    "clusterrolebindings": "ClusterRoleBinding",
}
NAMESPACED = ("roles", "rolebindings")
RBAC_NS = "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def _where(request: web.Request, resource: str) -> str:
    return request.match_info.get("namespace", "") if resource in NAMESPACED else ""


def _typed(resource: str, obj: Obj, store: Store | None = None) -> Obj:
    """The object as served; an aggregated ClusterRole shows the rules it aggregates, as the controller-manager
    writes them into it."""
    if store is not None and resource == "clusterroles" and obj.get("aggregationRule"):
        obj = {**obj, "rules": rbac.cluster_role_rules(store, obj)}
    return {"kind": KINDS[resource], "apiVersion": GROUP_VERSION, **obj}


def _check(resource: str, obj: Obj) -> None:
    """The validation errors a user meets most: a binding without a roleRef, a rule without verbs."""
    name = (obj.get("metadata") or {}).get("name") or ""
    kind = KINDS[resource]
    problems: list[str] = []
    if resource.endswith("bindings"):
        ref = obj.get("roleRef") or {}
        if not ref.get("name"):
            problems.append("roleRef.name: Required value")
        if ref.get("kind") not in ("Role", "ClusterRole"):
            problems.append(
                f'roleRef.kind: Unsupported value: "{ref.get("kind", "")}": supported values: "Role", "ClusterRole"'
            )
        elif resource == "clusterrolebindings" and ref.get("kind") != "ClusterRole":
            problems.append(f'roleRef.kind: Unsupported value: "{ref.get("kind")}": supported values: "ClusterRole"')
    else:
        for index, rule in enumerate(obj.get("rules") or []):
            if not rule.get("verbs"):
                problems.append(f"rules[{index}].verbs: Required value: verbs must contain at least one value")
    if problems:
        message = f'{kind}.{rbac.GROUP} "{name}" is invalid: ' + ", ".join(problems)
        raise status.ApiError(
            status.failure(422, "Invalid", message, {"name": name, "group": rbac.GROUP, "kind": kind})
        )


def _body_kind_matches(resource: str, obj: Obj) -> None:
    kind = obj.get("kind")
    if kind is not None and kind != KINDS[resource]:
        raise status.bad_request(f'{kind} in version "v1" cannot be handled as a {KINDS[resource]}')


def _route(resource: str) -> tuple[web.RouteDef, ...]:
    async def create(request: web.Request) -> web.Response:
        obj = rest.decode(await request.read(), request.headers.get("Content-Type", "application/json").split(";")[0])
        _body_kind_matches(resource, obj)
        namespace = _where(request, resource)
        _check(resource, obj)
        objects.stamp_new(obj, namespace or None)
        if not obj["metadata"].get("name"):
            raise status.bad_request("name or generateName is required")
        return rest.respond(_typed(resource, rest.store(request).create(resource, obj)), 201)

    async def get(request: web.Request) -> web.Response:
        store = rest.store(request)
        found = store.get(resource, _where(request, resource), request.match_info["name"])
        return rest.respond(_typed(resource, found, store))

    async def list_(request: web.Request) -> web.Response:
        namespace = request.match_info.get("namespace")
        store = rest.store(request)
        body = {
            "kind": KINDS[resource] + "List",
            "apiVersion": GROUP_VERSION,
            "metadata": {"resourceVersion": store.resource_version},
            "items": [_typed(resource, o, store) for o in store.list_objects(resource, namespace)],
        }
        return rest.respond(body)

    async def replace(request: web.Request) -> web.Response:
        obj = rest.decode(await request.read(), request.headers.get("Content-Type", "application/json").split(";")[0])
        _check(resource, obj)
        return rest.respond(_typed(resource, _update(request, obj)))

    async def patch(request: web.Request) -> web.Response:
        _, new = await handlers.patched_object(request, resource, _where(request, resource), request.match_info["name"])
        _check(resource, new)
        return rest.respond(_typed(resource, _update(request, new)))

    def _update(request: web.Request, obj: Obj) -> Obj:
        store = rest.store(request)
        current = store.get(resource, _where(request, resource), request.match_info["name"])
        if resource.endswith("bindings") and obj.get("roleRef") != current.get("roleRef"):
            raise status.ApiError(
                status.failure(
                    422,
                    "Invalid",
                    f'{KINDS[resource]}.{rbac.GROUP} "{current["metadata"]["name"]}" is invalid: roleRef: Invalid '
                    "value: ...: cannot change roleRef",
                )
            )
        for key in ("rules", "aggregationRule", "subjects"):
            if key in obj or key in current:
                current[key] = obj.get(key)
                if current[key] is None:
                    current.pop(key)
        meta = obj.get("metadata") or {}
        for key in ("labels", "annotations"):
            current["metadata"][key] = meta.get(key) or {}
        if meta.get("resourceVersion"):
            current["metadata"]["resourceVersion"] = meta["resourceVersion"]
        return store.update(resource, current)

    async def delete(request: web.Request) -> web.Response:
        rest.store(request).remove(resource, _where(request, resource), request.match_info["name"])
        return rest.respond(
            status.success() | {"details": {"name": request.match_info["name"], "group": rbac.GROUP, "kind": resource}}
        )

    base = f"{RBAC_NS}/{resource}" if resource in NAMESPACED else f"{RBAC}/{resource}"
    routes = [
        web.get(base, list_),
        web.post(base, create),
        web.get(base + "/{name}", get),
        web.put(base + "/{name}", replace),
        web.patch(base + "/{name}", patch),
        web.delete(base + "/{name}", delete),
    ]
    if resource in NAMESPACED:
        routes.append(web.get(f"{RBAC}/{resource}", list_))
    return tuple(routes)


async def self_subject_access_review(request: web.Request) -> web.Response:
    """Whether the asking user may do what the review's attributes say: `status.allowed`, and the reason."""
    review = rest.decode(await request.read(), request.headers.get("Content-Type", "application/json").split(";")[0])
    spec = review.get("spec") or {}
    user = request[access.USER]
    res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res is None and nonres is None:
        raise status.ApiError(
            status.failure(
                422,
                "Invalid",
                'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: '
                '"null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
            )
        )
    if res is not None:
        attrs = authz.Attributes(
            user,
            res.get("verb", ""),
            True,
            res.get("group", ""),
            res.get("namespace", ""),
            res.get("resource", ""),
            res.get("subresource", ""),
            res.get("name", ""),
        )
    else:
        plain: Obj = nonres or {}
        attrs = authz.Attributes(user, plain.get("verb", ""), False, path=plain.get("path", ""))
    allowed, reason = rbac.authorize(rest.store(request), attrs)
    result: Obj = {"allowed": allowed}
    if reason:
        result["reason"] = reason
    body = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": result,
    }
    return rest.respond(body, 201)


def routes() -> list[web.RouteDef]:
    found: list[web.RouteDef] = []
    for resource in KINDS:
        found += _route(resource)
    found.append(web.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", self_subject_access_review))
    return found
