"""RBAC, impersonation and `kubectl auth can-i` against the API server, with the real kubectl and the messages
kube-apiserver gives (tests/contract compares them with a real cluster's)."""

from __future__ import annotations

import textwrap

import pytest
from api_harness import ApiServer

pytestmark = pytest.mark.unit

ROLE = textwrap.dedent("""\
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {name: ephemeral-debugger, namespace: rbac}
    rules:
    - {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
    - {apiGroups: [""], resources: [pods/ephemeralcontainers], verbs: [patch], resourceNames: [app]}
    - {apiGroups: [""], resources: [pods/attach], verbs: [create]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: alice-debugs, namespace: rbac}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ephemeral-debugger}
    subjects:
    - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: dev-views, namespace: rbac}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
    subjects:
    - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: dangling, namespace: rbac}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: missing}
    subjects:
    - {apiGroup: rbac.authorization.k8s.io, kind: User, name: dan}
    """)


@pytest.fixture(scope="module")
def roles(api: ApiServer) -> None:
    api.kubectl("create", "namespace", "rbac")
    api.kubectl("create", "-f", "-", stdin=ROLE)
    api.kubectl("run", "app", "-n", "rbac", "--image=busybox", "--", "sleep", "3600")
    api.kubectl("run", "other", "-n", "rbac", "--image=busybox", "--", "sleep", "3600")


def can_i(api: ApiServer, *args: str) -> str:
    done = api.kubectl("auth", "can-i", *args, "-n", "rbac", check=False)
    return done.stdout.strip() + f" ({done.returncode})"


@pytest.mark.parametrize(
    ("who", "args", "answer"),
    [
        ("alice", ["get", "pods"], "yes (0)"),
        # the rule names pod app: a question about no pod in particular is not allowed
        ("alice", ["patch", "pods", "--subresource=ephemeralcontainers"], "no (1)"),
        ("alice", ["patch", "pods/app", "--subresource=ephemeralcontainers"], "yes (0)"),
        ("alice", ["patch", "pods/other", "--subresource=ephemeralcontainers"], "no (1)"),
        ("alice", ["create", "pods", "--subresource=attach"], "yes (0)"),
        ("alice", ["create", "pods"], "no (1)"),
        ("alice", ["get", "nodes"], "no (1)"),
        ("bob", ["get", "pods"], "no (1)"),
    ],
)
def test_can_i_answers_as_the_roles_say(api: ApiServer, roles: None, who: str, args: list[str], answer: str) -> None:
    assert can_i(api, *args, f"--as={who}") == answer


def test_a_group_bound_to_view_reads_but_does_not_debug(api: ApiServer, roles: None) -> None:
    assert can_i(api, "list", "pods", "--as=zoe", "--as-group=dev") == "yes (0)"
    assert can_i(api, "patch", "pods", "--subresource=ephemeralcontainers", "--as=zoe", "--as-group=dev") == "no (1)"
    assert can_i(api, "create", "pods", "--subresource=exec", "--as=zoe", "--as-group=dev") == "no (1)"


def test_an_aggregated_role_shows_the_rules_it_aggregates(api: ApiServer) -> None:
    view = api.kubectl_json("get", "clusterrole", "view")
    assert view["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}
    ]
    assert any("pods/log" in rule.get("resources", []) for rule in view["rules"])
    edit = api.kubectl_json("get", "clusterrole", "edit")
    assert any("pods/exec" in rule.get("resources", []) for rule in edit["rules"])
    assert all(rule in edit["rules"] for rule in view["rules"])


def test_the_default_roles_exist_and_edit_aggregates_view(api: ApiServer) -> None:
    names = api.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    assert {"clusterrole.rbac.authorization.k8s.io/" + n for n in ("admin", "edit", "view", "cluster-admin")} <= set(
        names
    )
    assert can_i(api, "get", "pods", "--subresource=log", "--as=x", "--as-group=system:masters") == "yes (0)"


def test_forbidden_debug_names_user_verb_and_subresource(api: ApiServer, roles: None) -> None:
    done = api.kubectl("debug", "other", "-n", "rbac", "--image=busybox", "--as=alice", check=False)
    assert done.returncode == 1
    assert (
        'pods "other" is forbidden: User "alice" cannot patch resource "pods/ephemeralcontainers" in API group "" '
        'in the namespace "rbac"'
    ) in done.stderr


def test_forbidden_copy_and_node_debug(api: ApiServer, roles: None) -> None:
    copy = api.kubectl("debug", "app", "-n", "rbac", "--image=busybox", "--copy-to=app-copy", "--as=alice", check=False)
    assert 'User "alice" cannot create resource "pods" in API group "" in the namespace "rbac"' in copy.stderr
    node = api.kubectl("debug", "node/t-control-plane", "-n", "rbac", "--image=busybox", "--as=alice", check=False)
    assert (
        'nodes "t-control-plane" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the '
        "cluster scope"
    ) in node.stderr


def test_a_binding_to_a_missing_role_says_so(api: ApiServer, roles: None) -> None:
    done = api.kubectl("get", "pods", "-n", "rbac", "--as=dan", check=False)
    assert done.stderr.strip().endswith(
        'pods is forbidden: User "dan" cannot list resource "pods" in API group "" in the namespace "rbac": '
        'rbac: RBAC: role.rbac.authorization.k8s.io "missing" not found'
    )


def test_impersonation_needs_the_impersonate_verb(api: ApiServer, roles: None) -> None:
    done = api.kubectl("get", "pods", "-n", "rbac", "--user=kdbgtest-alice", "--as=bob", check=False)
    assert done.returncode == 1
    assert (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster '
        "scope"
    ) in done.stderr


def test_a_named_user_authenticates_with_its_own_token(api: ApiServer, roles: None) -> None:
    assert api.kubectl("get", "pods", "-n", "rbac", "--user=kdbgtest-alice", "-o", "name").stdout.split() == [
        "pod/app",
        "pod/other",
    ]
