"""The named test users of the clusters kdbgtest makes, beside the admin: no rights until a scenario binds a role
to them. Each has a kubeconfig user and context `kdbgtest-NAME` (`kubectl --user=kdbgtest-alice`): the sim
authenticates them by token (kdbgtest.sim.users), the local cluster by certificate (kdbgtest.local.pki), and
kdbgtest.cluster.base looks for their entries to offer the `named-users` capability.
"""

from __future__ import annotations

NAMES = ("alice", "bob", "carol")


def kubeconfig_entry(name: str) -> str:
    """The kubeconfig user (and context) entry of a named user: `kdbgtest-alice`."""
    return f"kdbgtest-{name}"
