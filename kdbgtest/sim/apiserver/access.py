"""Who is asking and whether they may: bearer-token authentication, impersonation headers, RBAC authorization,
as kube-apiserver's filter chain does it (authentication, impersonation, authorization, in that order)."""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from kdbgtest.sim import versions
from kdbgtest.sim.apiserver import authz, rbac, rest, status
from kdbgtest.sim.users import AUTHENTICATED, User

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = frozenset({"/healthz", "/livez", "/readyz", "/version"})  # system:public-info-viewer, also anonymous
USER = web.RequestKey("user", User)
USERS = web.AppKey("users", dict[str, User])
IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
IMPERSONATE_UID = "Impersonate-Uid"
IMPERSONATE_EXTRA = "Impersonate-Extra-"


def authenticate(request: web.Request) -> User | None:
    """The user whose bearer token the request carries, or None."""
    sent = request.headers.get("Authorization", "")
    for token, user in request.app[USERS].items():
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return user
    return None


def impersonate(request: web.Request, user: User) -> User:
    """The user the request acts as: `user`, or the one its Impersonate-* headers name if `user` may
    impersonate it (and each group, uid and extra); ApiError 403 naming the first refused one.

    With ConstrainedImpersonation (on from 1.36), a user refused the legacy `impersonate` verb may still act as
    another user for this one request if granted `impersonate-on:user-info:VERB` on the request's resource and
    `impersonate:user-info` on that user; when both ways are refused, the error names the first constrained
    check, as kube-apiserver v1.36/v1.37 says it (`pods is forbidden: User "alice" cannot
    impersonate-on:user-info:list resource "pods" ...`)."""
    name = request.headers.get(IMPERSONATE_USER)
    groups = request.headers.getall(IMPERSONATE_GROUP, [])
    uid = request.headers.get(IMPERSONATE_UID)
    extras = [
        (k[len(IMPERSONATE_EXTRA) :].lower(), v)
        for k, v in request.headers.items()
        if k.lower().startswith(IMPERSONATE_EXTRA.lower())
    ]
    if name is None:
        if groups or uid or extras:
            asked = [f"{{Group  {g}  }}" for g in groups]
            raise status.bad_request(f"requested [{' '.join(asked)}] without impersonating a user")
        return user
    store = request.app[rest.STORE]
    wanted = [authz.Attributes(user, "impersonate", resource="users", name=name)]
    if name.startswith("system:serviceaccount:") and name.count(":") == 3:
        _, _, namespace, account = name.split(":")
        wanted = [authz.Attributes(user, "impersonate", resource="serviceaccounts", namespace=namespace, name=account)]
    wanted += [authz.Attributes(user, "impersonate", resource="groups", name=g) for g in groups]
    if uid is not None:
        wanted.append(
            authz.Attributes(user, "impersonate", api_group="authentication.k8s.io", resource="uids", name=uid)
        )
    wanted += [
        authz.Attributes(
            user, "impersonate", api_group="authentication.k8s.io", resource="userextras", subresource=key, name=value
        )
        for key, value in extras
    ]
    for attrs in wanted:
        allowed, reason = rbac.authorize(store, attrs)
        if not allowed:
            if _constrained_applies(request, name, groups, uid, extras):
                _constrained(request, user, name)
                break
            raise authz.forbidden(attrs, reason)
    acting = tuple(groups)
    if name != "system:anonymous" and AUTHENTICATED not in acting:
        acting += (AUTHENTICATED,)
    return User(name, acting)


def _constrained_applies(
    request: web.Request, name: str, groups: list[str], uid: str | None, extras: list[tuple[str, str]]
) -> bool:
    """Whether constrained impersonation can stand in: the gate is on and only a plain user is impersonated
    (the groups, uids, extras and service-account modes are not modelled)."""
    plain = not (groups or uid or extras) and not name.startswith("system:serviceaccount:")
    return plain and request.app[rest.VERSIONS].feature(versions.APISERVER, "ConstrainedImpersonation")


def _constrained(request: web.Request, user: User, name: str) -> None:
    """Allow `user` to act as `name` for this request by constrained impersonation, or ApiError 403."""
    target = authz.request_attributes(user, request.method, request.path, dict(request.query))
    checks = [
        dataclasses.replace(target, verb=f"impersonate-on:user-info:{target.verb}"),
        authz.Attributes(user, "impersonate:user-info", api_group="authentication.k8s.io", resource="users", name=name),
    ]
    for attrs in checks:
        allowed, reason = rbac.authorize(request.app[rest.STORE], attrs)
        if not allowed:
            raise authz.forbidden(attrs, reason)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, impersonate and authorize every request but the public health and version paths."""
    if request.path in PUBLIC:
        return await handler(request)
    user = authenticate(request)
    if user is None:
        return rest.respond(status.unauthorized(), 401)
    try:
        user = impersonate(request, user)
        attrs = authz.request_attributes(user, request.method, request.path, dict(request.query))
        allowed, reason = rbac.authorize(request.app[rest.STORE], attrs)
        if not allowed:
            raise authz.forbidden(attrs, reason)
    except status.ApiError as err:
        return rest.error_response(err)
    request[USER] = user
    return await handler(request)
