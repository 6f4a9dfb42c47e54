"""RBAC authorization as kube-apiserver's RBAC authorizer decides it, over the Roles, ClusterRoles and bindings
in the store, and the default cluster roles and bindings every cluster starts with.

Rules match as upstream's `RuleAllows`: verbs and API groups by value or `*`; resources by `*`, the exact
`resource/subresource`, or `*/subresource`; `resourceNames` only a named request; non-resource URLs by value or a
trailing `*`. A ClusterRole with an `aggregationRule` has the rules of every ClusterRole its selectors match
(the controller-manager's aggregation, computed when asked). A binding to a role that does not exist allows
nothing and adds `rbac: RBAC: role.rbac.authorization.k8s.io "x" not found` to the reason, as kube-apiserver
v1.37.2 says it (its authorizer chain prefixes the RBAC authorizer's reason with its name; the contract test
`test_a_binding_to_a_missing_role_adds_rbacs_reason` compares the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import objects
from kdbgtest.sim.apiserver.authz import Attributes
from kdbgtest.sim.apiserver.store import Store
from kdbgtest.sim.users import User

GROUP = "rbac.authorization.k8s.io"
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def _rule(verbs: list[str], resources: list[str], groups: tuple[str, ...] = ("",)) -> Obj:
    return {"verbs": verbs, "apiGroups": list(groups), "resources": resources}


def _cluster_role(name: str, rules: list[Obj], labels: dict[str, str] | None = None, aggregate: str = "") -> Obj:
    meta: Obj = {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})}}
    if aggregate:
        meta["annotations"] = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    role: Obj = {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE}{aggregate}": "true"}}]}
        role["rules"] = []
    return role


def _to(*levels: str) -> dict[str, str]:
    return {f"{AGGREGATE}{level}": "true" for level in levels}


def default_cluster_roles() -> list[Obj]:
    """cluster-admin, admin/edit/view (aggregated from system:aggregate-to-*), and what every authenticated user
    may do (system:basic-user, system:discovery, system:public-info-viewer). The aggregated rules list the core
    resources the sim serves, as upstream's bootstrap policy grants them."""
    pods_view = [
        "pods",
        "pods/log",
        "pods/status",
        "events",
        "namespaces",
        "namespaces/status",
        "configmaps",
        "endpoints",
        "persistentvolumeclaims",
        "services",
        "serviceaccounts",
        "limitranges",
        "resourcequotas",
        "replicationcontrollers",
        "bindings",
    ]
    edit_pods = ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]
    return [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ("*",)), {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        _cluster_role("admin", [], aggregate="admin"),
        _cluster_role("edit", [], _to("admin"), aggregate="edit"),
        _cluster_role("view", [], _to("admin", "edit"), aggregate="view"),
        _cluster_role(
            "system:aggregate-to-admin", [_rule(WRITE + READ, ["roles", "rolebindings"], (GROUP,))], _to("admin")
        ),
        _cluster_role(
            "system:aggregate-to-edit",
            [
                _rule(WRITE, edit_pods),
                _rule(["create"], ["pods/eviction"]),
                _rule(READ, ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets"]),
                _rule(WRITE, ["configmaps", "events", "persistentvolumeclaims", "secrets", "services"]),
                _rule(["impersonate"], ["serviceaccounts"]),
            ],
            _to("admin", "edit"),
        ),
        _cluster_role("system:aggregate-to-view", [_rule(READ, pods_view)], _to("admin", "edit", "view")),
        _cluster_role(
            "system:basic-user",
            [
                _rule(["create"], ["selfsubjectreviews"], ("authentication.k8s.io",)),
                _rule(["create"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ("authorization.k8s.io",)),
            ],
        ),
        _cluster_role(
            "system:discovery",
            [
                {
                    "verbs": ["get"],
                    "nonResourceURLs": [
                        "/api",
                        "/api/*",
                        "/apis",
                        "/apis/*",
                        "/healthz",
                        "/livez",
                        "/openapi",
                        "/openapi/*",
                        "/readyz",
                        "/version",
                        "/version/",
                    ],
                }
            ],
        ),
        _cluster_role(
            "system:public-info-viewer",
            [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]}],
        ),
    ]


def default_cluster_role_bindings() -> list[Obj]:
    def binding(name: str, *groups: str) -> Obj:
        return {
            "apiVersion": f"{GROUP}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups],
        }

    return [
        binding("cluster-admin", "system:masters"),
        binding("system:basic-user", "system:authenticated"),
        binding("system:discovery", "system:authenticated"),
        binding("system:public-info-viewer", "system:authenticated", "system:unauthenticated"),
    ]


def bootstrap(store: Store) -> None:
    """Put the default cluster roles and bindings into the store (those it lacks)."""
    for resource, items in (
        ("clusterroles", default_cluster_roles()),
        ("clusterrolebindings", default_cluster_role_bindings()),
    ):
        for obj in items:
            if store.find(resource, "", obj["metadata"]["name"]) is not None:
                continue
            objects.stamp_new(obj, None)
            store.create(resource, obj)


# -- deciding ----------------------------------------------------------------------------------------------


def _has(values: list[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def _resource_matches(rule_resources: list[str], attrs: Attributes) -> bool:
    for resource in rule_resources:
        if resource in ("*", attrs.combined):
            return True
        if attrs.subresource and resource == f"*/{attrs.subresource}":
            return True
    return False


def _url_matches(urls: list[str], path: str) -> bool:
    return any(u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])) for u in urls)


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    """Upstream's RuleAllows for one PolicyRule."""
    verbs = list(rule.get("verbs") or [])
    if not _has(verbs, attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(list(rule.get("nonResourceURLs") or []), attrs.path)
    if not _has(list(rule.get("apiGroups") or []), attrs.api_group):
        return False
    if not _resource_matches(list(rule.get("resources") or []), attrs):
        return False
    names = list(rule.get("resourceNames") or [])
    return not names or attrs.name in names


def _selected(labels: dict[str, str], selector: Obj) -> bool:
    match = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and present and labels[key] in values):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return bool(match or selector.get("matchExpressions"))


def cluster_role_rules(store: Store, role: Obj) -> list[Obj]:
    """A ClusterRole's rules, with those of the ClusterRoles its aggregation rule selects."""
    aggregation = role.get("aggregationRule")
    if not aggregation:
        return list(role.get("rules") or [])
    rules: list[Obj] = []
    for other in store.list_objects("clusterroles"):
        labels = other["metadata"].get("labels") or {}
        if other["metadata"]["name"] != role["metadata"]["name"] and any(
            _selected(labels, s) for s in aggregation.get("clusterRoleSelectors") or []
        ):
            rules += [r for r in other.get("rules") or [] if r not in rules]
    return rules


def _applies(subject: Obj, user: User, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace') or namespace}:{name}"
    return False


def _subject_text(subject: Obj) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace")}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def _bindings(store: Store, attrs: Attributes) -> Iterator[tuple[Obj, str]]:
    """(binding, its namespace or "") that could apply: cluster-wide ones, then the request namespace's."""
    for binding in store.list_objects("clusterrolebindings"):
        yield binding, ""
    if attrs.namespace:
        for binding in store.list_objects("rolebindings", attrs.namespace):
            yield binding, attrs.namespace


def _role_rules(store: Store, ref: Obj, namespace: str) -> tuple[list[Obj] | None, str]:
    kind, name = ref.get("kind"), ref.get("name", "")
    if kind == "ClusterRole":
        role = store.find("clusterroles", "", name)
        if role is None:
            return None, f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        return cluster_role_rules(store, role), ""
    role = store.find("roles", namespace, name)
    if role is None:
        return None, f'role.rbac.authorization.k8s.io "{name}" not found'
    return list(role.get("rules") or []), ""


def authorize(store: Store, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason): the reason names the granting binding (`RBAC: allowed by RoleBinding "b/ns" of Role
    "r" to User "alice"`), or, when refused, the roles that bindings name but do not exist."""
    errors: list[str] = []
    for binding, namespace in _bindings(store, attrs):
        subjects = [s for s in binding.get("subjects") or [] if _applies(s, attrs.user, namespace)]
        if not subjects:
            continue
        ref: dict[str, Any] = binding.get("roleRef") or {}
        rules, error = _role_rules(store, ref, namespace)
        if rules is None:
            errors.append(error)
            continue
        if any(rule_allows(rule, attrs) for rule in rules):
            name = binding["metadata"]["name"]
            where = f'RoleBinding "{name}/{namespace}"' if namespace else f'ClusterRoleBinding "{name}"'
            role = f'{ref.get("kind")} "{ref.get("name")}"'
            return True, f"RBAC: allowed by {where} of {role} to {_subject_text(subjects[0])}"
    if errors:
        return False, "rbac: RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return False, ""
