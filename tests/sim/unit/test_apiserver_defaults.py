"""Pod defaulting as the API server (defaults.go + default admission plugins) applies it on create."""

from __future__ import annotations

from typing import Any

import pytest

from kdbgtest.fixtures import catalog
from kdbgtest.sim.apiserver import defaults, validation


def pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns1"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}], **spec},
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("registry.local:5000/team/busybox", "Always"),
        ("registry.local:5000/team/busybox:latest", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("registry.local:5000/busybox:1.36", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
        ("busybox:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert defaults.image_pull_policy(image) == policy
    assert (
        defaults.default_pod(pod(containers=[{"name": "a", "image": image}]))["spec"]["containers"][0][
            "imagePullPolicy"
        ]
        == policy
    )


def test_the_full_set_of_pod_defaults() -> None:
    assert defaults.default_pod(pod())["spec"] == {
        "containers": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "imagePullPolicy": "IfNotPresent",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "enableServiceLinks": True,
        "priority": 0,
        "preemptionPolicy": "PreemptLowerPriority",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            },
        ],
    }


def test_explicit_values_are_kept_and_the_input_is_not_modified() -> None:
    given = pod(
        restartPolicy="Never",
        terminationGracePeriodSeconds=0,
        enableServiceLinks=False,
        containers=[
            {
                "name": "a",
                "image": "x:latest",
                "imagePullPolicy": "Never",
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }
        ],
    )
    spec = defaults.default_pod(given)["spec"]
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"], spec["enableServiceLinks"]) == (
        "Never",
        0,
        False,
    )
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert "dnsPolicy" not in given["spec"]


def test_tolerations_that_already_cover_not_ready_are_not_duplicated() -> None:
    spec = defaults.default_pod(pod(tolerations=[{"operator": "Exists"}]))["spec"]
    assert spec["tolerations"] == [{"operator": "Exists"}]
    spec = defaults.default_pod(pod(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]))[
        "spec"
    ]
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/not-ready",
    ]


def test_ports_probes_requests_and_volumes() -> None:
    container = {
        "name": "a",
        "image": "x:1",
        "ports": [{"containerPort": 80}],
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
        "livenessProbe": {"httpGet": {"port": 80}},
    }
    volumes = [
        {"name": "e"},
        {"name": "h", "hostPath": {"path": "/"}},
        {"name": "s", "secret": {"secretName": "s"}},
        {"name": "d", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
    ]
    spec = defaults.default_pod(pod(containers=[container], volumes=volumes, hostNetwork=True))["spec"]
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP", "hostPort": 80}]
    assert c["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert spec["volumes"] == [
        {"name": "e", "emptyDir": {}},
        {"name": "h", "hostPath": {"path": "/", "type": ""}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {
            "name": "d",
            "downwardAPI": {
                "defaultMode": 420,
                "items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}],
            },
        },
    ]


def test_ephemeral_container_defaults() -> None:
    ec = {"name": "dbg", "image": "busybox", "targetContainerName": "app", "stdin": True}
    assert defaults.default_ephemeral_container(ec) == {
        **ec,
        "imagePullPolicy": "Always",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "resources": {},
    }


@pytest.mark.parametrize("name", sorted(catalog.FIXTURES))
def test_every_fixture_pod_is_valid_after_defaulting(name: str) -> None:
    fixture = catalog.FIXTURES[name]
    for manifest in fixture.render(fixture.defaults):
        if manifest["kind"] == "Pod":
            stored = defaults.default_pod({**manifest, "metadata": {**manifest["metadata"], "namespace": "ns1"}})
            stored["spec"]["nodeName"] = stored["spec"].get("nodeName", "").replace("${node}", "n1")
            assert [str(e) for e in validation.validate_pod_create(stored)] == []
