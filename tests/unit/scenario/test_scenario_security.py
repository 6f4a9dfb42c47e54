"""The language of who may debug: `as`, `namespace: {labels, psa}`, the `rbac` fixture, the `can_i` step, and
steps that expect a refusal; errors at file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.debug import driver
from kdbgtest.fixtures import catalog
from kdbgtest.runner import kube, steps
from kdbgtest.scenario import loader, model

HEAD = "name: sec\nsteps:\n"


def check(tmp_path: Path, text: str) -> tuple[loader.LoadedScenario | None, list[str]]:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    loaded, issues = loader.check_file(path)
    return loaded, [str(i).replace(str(path), "s.yaml") for i in issues]


def test_as_per_scenario_and_step_and_null_for_the_admin(tmp_path: Path) -> None:
    loaded, issues = check(
        tmp_path,
        """\
        name: sec
        as: {user: alice, groups: [dev, ops]}
        steps:
          - {name: a, kubectl: {args: [get, pods]}}
          - {name: b, as: {user: bob}, kubectl: {args: [get, pods]}}
          - {name: c, as: null, kubectl: {args: [get, pods]}}
        """,
    )
    assert issues == []
    assert loaded is not None
    unused: Any = None  # identity_of reads only the context's identity
    ctx = steps.Context(
        client=unused,
        driver=unused,
        namespace="ns",
        base_dir=tmp_path,
        variables={},
        tracker=unused,
        identity=loaded.scenario.as_,
    )
    a, b, c = loaded.scenario.steps
    assert steps.identity_of(a, ctx) == model.Identity(user="alice", groups=["dev", "ops"])
    assert steps.identity_of(b, ctx) == model.Identity(user="bob")
    assert steps.identity_of(c, ctx) is None
    assert driver.impersonation_args(model.Identity(user="alice", groups=["dev", "ops"])) == [
        "--as=alice",
        "--as-group=dev",
        "--as-group=ops",
    ]


def test_impersonating_kubectl_puts_the_flags_after_the_cluster_flags() -> None:
    client = kube.Kubectl(Path("/k"), Path("/c")).acting_as(["--as=alice"])
    assert client.argv(["get", "pods"], "ns") == ["/k", "--kubeconfig", "/c", "--as=alice", "-n", "ns", "get", "pods"]


def test_psa_shorthand_spells_out_the_labels_and_an_explicit_label_wins(tmp_path: Path) -> None:
    loaded, issues = check(
        tmp_path,
        """\
        name: sec
        namespace:
          labels: {team: a, pod-security.kubernetes.io/audit: baseline}
          psa: {enforce: restricted, audit: restricted, version: v1.30}
        steps:
          - {name: a, kubectl: {args: [get, pods]}}
        """,
    )
    assert issues == []
    assert loaded is not None and loaded.scenario.namespace is not None
    assert loaded.scenario.namespace.all_labels() == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.30",
        "pod-security.kubernetes.io/audit": "baseline",
        "pod-security.kubernetes.io/audit-version": "v1.30",
        "team": "a",
    }


def test_a_wrong_psa_level_is_named_at_its_line(tmp_path: Path) -> None:
    _, issues = check(
        tmp_path,
        "name: sec\nnamespace:\n  psa: {enforce: strict}\nsteps:\n  - {name: a, kubectl: {args: [get, pods]}}\n",
    )
    assert len(issues) == 1 and issues[0].startswith("s.yaml:3:"), issues
    assert "strict" in issues[0]


def test_can_i_step_argv() -> None:
    action = model.CanIAction(
        verb="patch", resource="pods/app", subresource="ephemeralcontainers", namespace="other", allowed=True
    )
    assert steps.can_i_args(action) == [
        "auth",
        "can-i",
        "patch",
        "pods/app",
        "--subresource=ephemeralcontainers",
        "--namespace=other",
    ]


def test_rbac_fixture_renders_a_role_and_binding() -> None:
    fixture = catalog.FIXTURES["rbac"]
    params = fixture.params(
        {"user": "alice", "rules": [{"verbs": ["patch"], "resources": ["pods/ephemeralcontainers"], "names": ["app"]}]}
    )
    role, binding = fixture.render(params)
    assert role["kind"] == "Role" and role["rules"] == [
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["patch"], "resourceNames": ["app"]}
    ]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "debugger"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]
    assert fixture.ready(params) is None


def test_rbac_fixture_at_cluster_scope_is_prefixed_with_the_namespace() -> None:
    fixture = catalog.FIXTURES["rbac"]
    rendered = fixture.render(
        fixture.params(
            {"group": "g", "scope": "cluster", "prefix": "ns-", "rules": [{"verbs": ["get"], "resources": ["nodes"]}]}
        )
    )
    assert [(m["kind"], m["metadata"]["name"]) for m in rendered] == [
        ("ClusterRole", "ns-debugger"),
        ("ClusterRoleBinding", "ns-debugger"),
    ]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ("{user: '', rules: [{verbs: [get], resources: [pods]}]}", "needs 'user' or 'group'"),
        ("{user: a, cluster_role: ''}", "needs 'rules' (a new role) or 'cluster_role'"),
        ("{user: a, cluster_role: edit, rules: [{verbs: [get], resources: [pods]}]}", "not both"),
        ("{user: a, rules: [{verbs: [get]}]}", "needs 'verbs' and 'resources'"),
    ],
)
def test_a_bad_rbac_fixture_is_refused_at_its_params(tmp_path: Path, params: str, said: str) -> None:
    _, issues = check(
        tmp_path,
        f"name: sec\nfixtures:\n  - fixture: rbac\n    params: {params}\n"
        "steps:\n  - {name: a, kubectl: {args: [get, pods]}}\n",
    )
    assert len(issues) == 1 and issues[0].startswith("s.yaml:4:") and said in issues[0], issues


def test_kubectls_own_refusals_are_allowed_in_a_step_expecting_failure(tmp_path: Path) -> None:
    step = "  - name: a\n    debug: {mode: ephemeral, pod: app, tty: true}\n"
    _, refused = check(tmp_path, HEAD + step)
    assert any("(kubectl: you must specify --image" in i for i in refused)
    assert any("'tty: true' needs 'interactive: true'" in i for i in refused)
    _, allowed = check(tmp_path, HEAD + step + "    expect: {exit_code: 1, stderr: {contains: 'you must specify'}}\n")
    assert allowed == []
