"""What a request asks to do, as kube-apiserver's RequestInfoFactory reads it from the path and method, and the
`Forbidden` Status it answers when authorization says no (responsewriters.Forbidden, errors.NewForbidden)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from kdbgtest.sim.apiserver import status
from kdbgtest.sim.users import User

# Subresources that are an upgrade to a stream: kube-apiserver >= 1.31 authorizes them as `create` whatever the
# method (AuthorizePodWebsocketUpgradeCreatePermission), so a GET websocket needs what a POST needs.
STREAMS = frozenset({"exec", "attach", "portforward"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class Attributes:
    """One authorization question: may `user` do `verb` on this resource (or non-resource `path`)?"""

    user: User
    verb: str
    resource_request: bool = True
    api_group: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    @property
    def combined(self) -> str:
        """`pods/ephemeralcontainers`: what RBAC rules name."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def acting_as(self, user: User) -> Attributes:
        return replace(self, user=user)


def request_attributes(user: User, method: str, path: str, query: dict[str, str]) -> Attributes:
    """The attributes of an HTTP request, as kube-apiserver's request info (resource requests under `/api` and
    `/apis`; everything else is a non-resource path)."""
    parts = [p for p in path.strip("/").split("/") if p]
    lower = method.upper()
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        return Attributes(user, _plain_verb(lower), resource_request=False, path=path)
    if not rest:
        return Attributes(user, _plain_verb(lower), resource_request=False, path=path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = _verb(lower, bool(name), query)
    if verb in ("list", "watch") and not name:
        name = _named_in(query.get("fieldSelector", ""))
    if subresource in STREAMS:
        verb = "create"
    return Attributes(user, verb, True, group, namespace, resource, subresource, name, path)


def _named_in(selector: str) -> str:
    """The name a list/watch asks for with `fieldSelector=metadata.name=NAME` (RBAC's resourceNames then apply,
    as kube-apiserver's request info sets it), else ""."""
    parts = [p for p in selector.split(",") if p]
    if len(parts) == 1:
        key, sep, value = parts[0].partition("==") if "==" in parts[0] else parts[0].partition("=")
        if sep and key == "metadata.name" and not key.endswith("!"):
            return value
    return ""


def _plain_verb(method: str) -> str:
    return {"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower()
    )


def _verb(method: str, named: bool, query: dict[str, str]) -> str:
    if method in ("GET", "HEAD"):
        if query.get("watch", "").lower() in ("true", "1"):
            return "watch"
        return "get" if named else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return method.lower()


def forbidden_message(attrs: Attributes) -> str:
    """responsewriters' forbiddenMessage: `User "alice" cannot patch resource "pods/ephemeralcontainers" in API
    group "" in the namespace "ns"`."""
    who = attrs.user.name
    if not attrs.resource_request:
        return f'User "{who}" cannot {attrs.verb} path "{attrs.path}"'
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{who}" cannot {attrs.verb} resource "{attrs.combined}" in API group "{attrs.api_group}" {where}'


def forbidden(attrs: Attributes, reason: str = "") -> status.ApiError:
    """The 403 Status for a refused request: errors.NewForbidden of the group-resource and name."""
    why = forbidden_message(attrs) + (f": {reason}" if reason else "")
    details: dict[str, str] = {}
    if not attrs.resource_request or not attrs.resource:
        return status.ApiError(status.failure(403, "Forbidden", f"forbidden: {why}", {}))
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    message = f'{qualified} "{attrs.name}" is forbidden: {why}' if attrs.name else f"{qualified} is forbidden: {why}"
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    details["kind"] = attrs.resource
    return status.ApiError(status.failure(403, "Forbidden", message, details))
