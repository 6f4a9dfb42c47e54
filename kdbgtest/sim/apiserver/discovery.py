"""Legacy discovery documents (`/api`, `/apis`, `/api/v1`) and `/version`."""

from __future__ import annotations

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import objects

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_STATUS_VERBS = ["get", "patch", "update"]


def _resource(name: str, kind: str, namespaced: bool, verbs: list[str], short: list[str] | None = None) -> Obj:
    singular = "" if "/" in name else name.rstrip("s")
    res: Obj = {
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if short:
        res["shortNames"] = short
    if name == "pods":
        res["categories"] = ["all"]
    return res


def api_versions() -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}],
    }


# The API groups besides the core one: RBAC objects, and the access reviews `kubectl auth can-i` creates.
GROUPS = ("authorization.k8s.io", "rbac.authorization.k8s.io")


def _group(name: str) -> Obj:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}


def api_groups() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS]}


def api_group(name: str) -> Obj:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def group_resources(name: str) -> Obj:
    """`/apis/GROUP/v1` of the groups in GROUPS."""
    if name == "rbac.authorization.k8s.io":
        resources = [
            _resource("clusterrolebindings", "ClusterRoleBinding", False, _ALL_VERBS),
            _resource("clusterroles", "ClusterRole", False, _ALL_VERBS),
            _resource("rolebindings", "RoleBinding", True, _ALL_VERBS),
            _resource("roles", "Role", True, _ALL_VERBS),
        ]
    else:
        resources = [
            _resource("localsubjectaccessreviews", "LocalSubjectAccessReview", True, ["create"]),
            _resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"]),
            _resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", False, ["create"]),
            _resource("subjectaccessreviews", "SubjectAccessReview", False, ["create"]),
        ]
    for res in resources:
        res["singularName"] = str(res["kind"]).lower()
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{name}/v1", "resources": resources}


def core_v1(ephemeral_containers: bool) -> Obj:
    resources = [
        _resource("events", "Event", True, _ALL_VERBS, ["ev"]),
        _resource(
            "namespaces",
            "Namespace",
            False,
            ["create", "delete", "get", "list", "patch", "update", "watch"],
            ["ns"],
        ),
        _resource("namespaces/status", "Namespace", False, _STATUS_VERBS),
        _resource("nodes", "Node", False, _ALL_VERBS, ["no"]),
        _resource("nodes/status", "Node", False, _STATUS_VERBS),
        _resource("pods", "Pod", True, _ALL_VERBS, ["po"]),
        _resource("pods/attach", "PodAttachOptions", True, ["create", "get"]),
        _resource("pods/exec", "PodExecOptions", True, ["create", "get"]),
        _resource("pods/log", "Pod", True, ["get"]),
        _resource("pods/status", "Pod", True, _STATUS_VERBS),
    ]
    if ephemeral_containers:
        resources.append(_resource("pods/ephemeralcontainers", "Pod", True, _STATUS_VERBS))
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": sorted(resources, key=lambda r: str(r["name"])),
    }


# The sim's `/version` says what it is here (a real kube-apiserver has the commit it was built from), so that a
# sim reached through a kubeconfig is reported as the offline cluster.
GIT_COMMIT = "kdbgtest-sim"


def version(running: str) -> Obj:
    """`/version` of a kube-apiserver running `running` ("1.36")."""
    minor = running.split(".")[1]
    return {
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": f"v{running}.0",
        "gitCommit": GIT_COMMIT,
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": f"linux/{objects.arch()}",
    }
