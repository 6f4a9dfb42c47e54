"""Who is asking and whether they may: bearer-token authentication, impersonation headers, RBAC authorization,
as kube-apiserver's filter chain does it (authentication, impersonation, authorization, in that order)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

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
    impersonate it (and each group, uid and extra); ApiError 403 naming the first refused one."""
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
            raise authz.forbidden(attrs, reason)
    acting = tuple(groups)
    if name != "system:anonymous" and AUTHENTICATED not in acting:
        acting += (AUTHENTICATED,)
    return User(name, acting)


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
