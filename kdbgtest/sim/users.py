"""Who may talk to a sim cluster: the admin and a few named users, each with a bearer token of its own.

The admin (`kubernetes-admin`, group `system:masters`) is the kubeconfig's default user. The named users hold no
rights until a scenario binds a role to them (kdbgtest.base.named_users); their kubeconfig entries are
`kdbgtest-NAME` (`kubectl --user=kdbgtest-alice`), so a scenario can act as a user that authenticates itself,
not only through impersonation. Their tokens derive from the admin's, so nothing more is stored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from kdbgtest.base import named_users

ADMIN = "kubernetes-admin"
ADMIN_GROUPS = ("system:masters", "system:authenticated")
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    """An authenticated (or impersonated) user as the authorizer sees it."""

    name: str
    groups: tuple[str, ...] = (AUTHENTICATED,)


def token_for(admin_token: str, name: str) -> str:
    """The bearer token of named user `name`, derived from the admin's."""
    return hmac.new(admin_token.encode(), f"user:{name}".encode(), hashlib.sha256).hexdigest()


def by_token(admin_token: str) -> dict[str, User]:
    """Every token the API server accepts and the user it authenticates."""
    found = {admin_token: User(ADMIN, ADMIN_GROUPS)}
    for name in named_users.NAMES:
        found[token_for(admin_token, name)] = User(name)
    return found
