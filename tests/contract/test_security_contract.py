"""Who may debug: RBAC, impersonation and Pod Security, checked on the offline sim AND on the real local
cluster with the same kubectl commands, so every message the sim gives is compared with kube-apiserver's.

The backends are test_kubernetes_contract's (`backend`: the sim, and the local cluster where it is built). Each
case acts as a user through impersonation (`--as`), which the admin of both clusters may do; the case that needs a
user authenticating with credentials of its own (kubeconfig user `kdbgtest-alice`) is skipped, saying so, where the
kubeconfig has none. Namespaces with Pod Security labels and cluster-wide roles are this module's own (random
names) and are removed at the end.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import test_kubernetes_contract as contract
import yaml

from kdbgtest.base import waiting

Backend = contract.Backend
backend = contract.backend  # one cluster per backend for this module (module-scoped fixture)
GROUP = "rbac.authorization.k8s.io"
NODE_POD = r"node-debugger-[a-z0-9.-]+-[a-z0-9]{5}"


def role(
    name: str, *rules: dict[str, Any], cluster: bool = False, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRole" if cluster else "Role",
        "metadata": meta,
        "rules": list(rules),
    }


def binding(name: str, role_kind: str, role_name: str, user: str = "", group: str = "") -> dict[str, Any]:
    kind, subject = ("User", user) if user else ("Group", group)
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": GROUP, "kind": role_kind, "name": role_name},
        "subjects": [{"apiGroup": GROUP, "kind": kind, "name": subject}],
    }


def rule(verbs: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": [""], "resources": resources, "verbs": verbs, **extra}


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.fixture(scope="module")
def users(backend: Backend) -> str:
    """In the module's namespace: alice may only add ephemeral containers (and attach) to pod `app`; group
    `viewers` holds the built-in `view`; dan is bound to a Role that does not exist. Returns the node's name."""
    backend.create(contract.sleeper("app"))
    backend.create(contract.sleeper("other"))
    for manifest in (
        role(
            "ephemeral-only",
            rule(["get", "list", "watch"], ["pods"]),
            rule(["patch"], ["pods/ephemeralcontainers"], resourceNames=["app"]),
            rule(["create"], ["pods/attach"]),
        ),
        binding("alice-ephemeral", "Role", "ephemeral-only", user="alice"),
        binding("viewers-view", "ClusterRole", "view", group="viewers"),
        binding("dan-dangling", "Role", "missing", user="dan"),
    ):
        backend.create(manifest)
    for pod in ("app", "other"):
        backend.kubectl(
            "wait",
            "--for=condition=Ready",
            f"pod/{pod}",
            f"--timeout={contract.POD_TIMEOUT}s",
            timeout=contract.POD_TIMEOUT + 30,
        )
    return str(backend.pod("app")["spec"]["nodeName"])


# ---- RBAC: Forbidden messages ----------------------------------------------------------------------------


def test_ephemeral_container_refused_names_user_verb_subresource_and_namespace(backend: Backend, users: str) -> None:
    done = backend.kubectl("debug", "other", "--image=busybox:1.36", "--as=alice", "--", "true", check=False)
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods "other" is forbidden: User "alice" cannot patch resource '
        f'"pods/ephemeralcontainers" in API group "" in the namespace "{backend.namespace}"'
    )


def test_a_copy_is_refused_without_create_pods_and_the_message_names_no_pod(backend: Backend, users: str) -> None:
    done = backend.kubectl(
        "debug", "app", "--image=busybox:1.36", "--copy-to=app-copy", "--as=alice", "--", "true", check=False
    )
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot create resource "pods" in API group '
        f'"" in the namespace "{backend.namespace}"'
    )


def test_node_debugging_is_refused_without_get_nodes(backend: Backend, users: str) -> None:
    done = backend.kubectl("debug", f"node/{users}", "--image=busybox:1.36", "--as=alice", "--", "true", check=False)
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        f'Error from server (Forbidden): nodes "{users}" is forbidden: User "alice" cannot get resource "nodes" in '
        'API group "" at the cluster scope'
    )


def test_exec_is_refused_to_a_viewer(backend: Backend, users: str) -> None:
    done = backend.kubectl("exec", "app", "--as=vic", "--as-group=viewers", "--", "true", check=False)
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        'error: unable to upgrade connection: pods "app" is forbidden: User "vic" cannot create resource '
        f'"pods/exec" in API group "" in the namespace "{backend.namespace}"'
    )


def test_a_list_across_namespaces_is_refused_at_the_cluster_scope(backend: Backend, users: str) -> None:
    done = backend.kubectl("get", "pods", "--all-namespaces", "--as=alice", check=False)
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
        "at the cluster scope"
    )


def test_a_binding_to_a_missing_role_adds_rbacs_reason(backend: Backend, users: str) -> None:
    done = backend.kubectl("get", "pods", "--as=dan", check=False)
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods is forbidden: User "dan" cannot list resource "pods" in API group "" in '
        f'the namespace "{backend.namespace}": rbac: RBAC: role.rbac.authorization.k8s.io "missing" not found'
    )


def test_impersonation_is_refused_without_the_impersonate_verb(backend: Backend) -> None:
    config = yaml.safe_load(backend.kubeconfig.read_text(encoding="utf-8")) or {}
    if "kdbgtest-alice" not in {u.get("name") for u in config.get("users") or []}:
        pytest.skip(f"{backend.name}: the kubeconfig has no user kdbgtest-alice (a user with credentials of its own)")
    done = backend.kubectl("get", "pods", "--user=kdbgtest-alice", "--as=bob", check=False)
    # 1.36+ (ConstrainedImpersonation on) names the first constrained check; before, the legacy verb
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot impersonate-on:user-info:list '
        f'resource "pods" in API group "" in the namespace "{backend.namespace}"'
    )


# ---- RBAC: what kubectl auth can-i answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "args", "answer"),
    [
        (["--as=alice"], ["patch", "pods/app", "--subresource=ephemeralcontainers"], "yes"),
        (["--as=alice"], ["patch", "pods/other", "--subresource=ephemeralcontainers"], "no"),
        (["--as=alice"], ["patch", "pods", "--subresource=ephemeralcontainers"], "no"),  # no name: resourceNames
        (["--as=alice"], ["create", "pods", "--subresource=attach"], "yes"),
        (["--as=alice"], ["create", "pods"], "no"),
        (["--as=alice"], ["get", "nodes"], "no"),
        (["--as=vic", "--as-group=viewers"], ["get", "pods", "--subresource=log"], "yes"),
        (["--as=vic", "--as-group=viewers"], ["create", "pods", "--subresource=exec"], "no"),
        (["--as=vic", "--as-group=viewers"], ["patch", "pods", "--subresource=ephemeralcontainers"], "no"),
        (["--as=vic", "--as-group=viewers"], ["get", "secrets"], "no"),
        (["--as=nobody"], ["create", "selfsubjectaccessreviews.authorization.k8s.io"], "yes"),
    ],
)
def test_can_i(backend: Backend, users: str, who: list[str], args: list[str], answer: str) -> None:
    done = backend.kubectl("auth", "can-i", *args, *who, check=False)
    assert (done.stdout.strip(), done.returncode) == (answer, 0 if answer == "yes" else 1), done.stderr


@pytest.mark.parametrize("role_name", ["view", "edit", "admin"])
@pytest.mark.parametrize(
    "args",
    [
        ["patch", "pods", "--subresource=ephemeralcontainers"],
        ["create", "pods", "--subresource=attach"],
        ["create", "pods", "--subresource=exec"],
        ["create", "pods"],
        ["get", "pods", "--subresource=log"],
        ["create", "rolebindings.rbac.authorization.k8s.io"],
    ],
    ids=lambda a: "-".join(a).replace("--subresource=", ""),
)
def test_the_default_roles_answer_as_upstream_bootstraps_them(
    backend: Backend, role_name: str, args: list[str]
) -> None:
    """What view/edit/admin grant for debugging; the sim's answers are checked against the real bootstrap."""
    name = f"default-{role_name}"
    if backend.kubectl("get", "rolebinding", name, check=False).returncode != 0:
        backend.create(binding(name, "ClusterRole", role_name, group=f"holders-of-{role_name}"))
    real = backend.kubectl("auth", "can-i", *args, "--as=someone", f"--as-group=holders-of-{role_name}", check=False)
    assert real.returncode in (0, 1), real.stderr
    expected = EXPECTED_DEFAULTS[role_name].get(args[0] + " " + " ".join(args[1:]), "no")
    assert real.stdout.strip() == expected


# The sim's answers (kdbgtest.sim.apiserver.rbac); the local case shows whether upstream agrees.
EXPECTED_DEFAULTS: dict[str, dict[str, str]] = {
    "view": {"get pods --subresource=log": "yes"},
    "edit": {
        "create pods --subresource=attach": "yes",
        "create pods --subresource=exec": "yes",
        "create pods": "yes",
        "get pods --subresource=log": "yes",
    },
    "admin": {
        "create pods --subresource=attach": "yes",
        "create pods --subresource=exec": "yes",
        "create pods": "yes",
        "get pods --subresource=log": "yes",
        "create rolebindings.rbac.authorization.k8s.io": "yes",
    },
}


@pytest.fixture
def aggregated(backend: Backend) -> Iterator[str]:
    name = f"kdbgtest-contract-{secrets.token_hex(3)}"
    backend.create(role(name, rule(["get"], ["nodes"]), cluster=True, labels={f"{GROUP}/aggregate-to-view": "true"}))
    try:
        yield name
    finally:
        backend.kubectl("delete", "clusterrole", name, "--ignore-not-found", check=False)


def test_a_role_labelled_aggregate_to_view_adds_to_view(backend: Backend, aggregated: str) -> None:
    if backend.kubectl("get", "rolebinding", "default-view", check=False).returncode != 0:
        backend.create(binding("default-view", "ClusterRole", "view", group="holders-of-view"))

    def granted() -> tuple[bool, str]:
        view = json.loads(backend.kubectl("get", "clusterrole", "view", "-o", "json").stdout)
        return any("nodes" in (r.get("resources") or []) for r in view.get("rules") or []) or _asks(backend), ""

    waiting.wait_for(granted, timeout=30, what="the aggregated rule in ClusterRole view", interval=0.5)


def _asks(backend: Backend) -> bool:
    done = backend.kubectl("auth", "can-i", "get", "nodes", "--as=x", "--as-group=holders-of-view", check=False)
    return done.stdout.strip() == "yes"


# ---- Pod Security admission ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def psa(backend: Backend) -> Iterator[dict[str, str]]:
    """Namespaces labelled enforce=baseline, enforce=restricted (version v1.30) and warn=restricted, each with a
    non-root pod `app` that restricted admits."""
    made: dict[str, str] = {}
    for mode, labels in (
        ("baseline", {"enforce": "baseline"}),
        ("restricted", {"enforce": "restricted", "enforce-version": "v1.30"}),
        ("warn", {"warn": "restricted"}),
    ):
        name = f"{backend.namespace}-{mode}"
        backend.kubectl("create", "namespace", name)
        backend.kubectl("label", "namespace", name, *(f"pod-security.kubernetes.io/{k}={v}" for k, v in labels.items()))
        contract._wait_for_service_account(Backend(backend.name, backend.kubeconfig, name))
        made[mode] = name
    for name in made.values():
        other = Backend(backend.name, backend.kubeconfig, name)
        other.create(non_root("app"))
        other.kubectl(
            "wait",
            "--for=condition=Ready",
            "pod/app",
            f"--timeout={contract.POD_TIMEOUT}s",
            timeout=contract.POD_TIMEOUT + 30,
        )
    try:
        yield made
    finally:
        for name in made.values():
            backend.kubectl("delete", "namespace", name, "--wait=false", check=False)


def non_root(name: str) -> dict[str, Any]:
    pod = contract.sleeper(
        name, securityContext={"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
    )
    pod["spec"]["containers"][0]["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    return pod


def in_ns(backend: Backend, namespace: str, *args: str) -> Any:
    return Backend(backend.name, backend.kubeconfig, namespace).kubectl(*args, check=False)


def test_baseline_refuses_a_node_debugger(backend: Backend, psa: dict[str, str], users: str) -> None:
    done = in_ns(backend, psa["baseline"], "debug", f"node/{users}", "--image=busybox:1.36", "--", "true")
    assert done.returncode == 1
    assert re.fullmatch(
        rf'Error from server \(Forbidden\): pods "{NODE_POD}" is forbidden: violates PodSecurity "baseline:latest": '
        r'host namespaces \(hostNetwork=true, hostPID=true, hostIPC=true\), hostPath volumes \(volume "host-root"\)',
        last_line(done.stderr),
    ), done.stderr


@pytest.mark.parametrize(
    ("profile", "said"),
    [
        (
            "general",
            'non-default capabilities (container "dbg-general" must not include "SYS_PTRACE" in '
            "securityContext.capabilities.add)",
        ),
        (
            "netadmin",
            'non-default capabilities (container "dbg-netadmin" must not include "NET_ADMIN", "NET_RAW" in '
            "securityContext.capabilities.add)",
        ),
        ("sysadmin", 'privileged (container "dbg-sysadmin" must not set securityContext.privileged=true)'),
    ],
)
def test_baseline_refuses_ephemeral_profiles_beyond_it(
    backend: Backend, psa: dict[str, str], profile: str, said: str
) -> None:
    done = in_ns(
        backend,
        psa["baseline"],
        "debug",
        "app",
        "--image=busybox:1.36",
        f"--profile={profile}",
        f"--container=dbg-{profile}",
        "--",
        "true",
    )
    assert done.returncode == 1
    assert last_line(done.stderr) == (
        f'Error from server (Forbidden): pods "app" is forbidden: violates PodSecurity "baseline:latest": {said}'
    )


def test_restricted_names_its_version_and_every_rule_the_baseline_profile_breaks(
    backend: Backend, psa: dict[str, str]
) -> None:
    done = in_ns(
        backend,
        psa["restricted"],
        "debug",
        "app",
        "--image=busybox:1.36",
        "--profile=baseline",
        "--container=dbg",
        "--",
        "true",
    )
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): pods "app" is forbidden: violates PodSecurity "restricted:v1.30": '
        'allowPrivilegeEscalation != false (container "dbg" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "dbg" must set securityContext.capabilities.drop=["ALL"])'
    )


def test_restricted_admits_the_restricted_profile(backend: Backend, psa: dict[str, str]) -> None:
    done = in_ns(
        backend,
        psa["restricted"],
        "debug",
        "app",
        "--image=busybox:1.36",
        "--profile=restricted",
        "--container=strict",
        "--",
        "true",
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr


def test_restricted_refuses_a_root_pod_with_every_reason(backend: Backend, psa: dict[str, str]) -> None:
    other = Backend(backend.name, backend.kubeconfig, psa["restricted"])
    done = other.create(contract.sleeper("rooted", hostPID=True), check=False)
    assert last_line(done.stderr) == (
        'Error from server (Forbidden): error when creating "STDIN": pods "rooted" is forbidden: violates '
        'PodSecurity "restricted:v1.30": host namespaces (hostPID=true), allowPrivilegeEscalation != false '
        '(container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
        '(container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
        'container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must '
        'set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )


def test_warn_mode_admits_and_kubectl_prints_the_warning(backend: Backend, psa: dict[str, str]) -> None:
    done = in_ns(
        backend,
        psa["warn"],
        "debug",
        "app",
        "--image=busybox:1.36",
        "--profile=general",
        "--container=gen",
        "--",
        "true",
    )
    assert done.returncode == 0, done.stderr
    assert (  # kubectl's own warning about the pod's non-root user comes first
        'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "gen" '
        'must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "gen" must '
        'set securityContext.capabilities.drop=["ALL"]; container "gen" must not include "SYS_PTRACE" in '
        "securityContext.capabilities.add)"
    ) in done.stderr.splitlines()
