"""Validation rules with their exact API server messages, and the 422 Status they become."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kdbgtest.sim.apiserver import defaults, validation
from kdbgtest.sim.apiserver.fielderrors import LABEL_MESSAGE, SUBDOMAIN_MESSAGE

FORBIDDEN_EC = "cannot be set for an Ephemeral Container"


def stored_pod(**spec: Any) -> dict[str, Any]:
    """A valid pod as the API server stores it (defaulted)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "ns1"},
        "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}], **spec},
    }
    return defaults.default_pod(pod)


def with_ecs(pod: dict[str, Any], *ecs: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(pod)
    new["spec"]["ephemeralContainers"] = [
        *new["spec"].get("ephemeralContainers", []),
        *(defaults.default_ephemeral_container(ec) for ec in ecs),
    ]
    return new


def messages(errors: list[validation.FieldError]) -> list[str]:
    return [str(e) for e in errors]


def test_a_defaulted_pod_is_valid() -> None:
    assert validation.validate_pod_create(stored_pod()) == []


def test_name_is_required() -> None:
    pod = stored_pod()
    del pod["metadata"]["name"]
    assert messages(validation.validate_pod_create(pod)) == [
        "metadata.name: Required value: name or generateName is required"
    ]


def test_name_must_be_a_dns_subdomain() -> None:
    pod = stored_pod()
    pod["metadata"]["name"] = "Bad_Name"
    assert messages(validation.validate_pod_create(pod)) == [
        f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MESSAGE}'
    ]
    assert SUBDOMAIN_MESSAGE == (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
        r"validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def test_containers_are_required() -> None:
    pod = stored_pod()
    pod["spec"]["containers"] = []
    assert messages(validation.validate_pod_create(pod)) == ["spec.containers: Required value"]


def test_container_names_are_unique_dns_labels_and_images_required() -> None:
    pod = stored_pod()
    pod["spec"]["containers"] += [
        defaults.default_ephemeral_container({"name": "app", "image": "busybox"}),
        defaults.default_ephemeral_container({"name": "Side_Car"}),
    ]
    assert messages(validation.validate_pod_create(pod)) == [
        'spec.containers[1].name: Duplicate value: "app"',
        f'spec.containers[2].name: Invalid value: "Side_Car": {LABEL_MESSAGE}',
        "spec.containers[2].image: Required value",
    ]
    assert (
        "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')" in LABEL_MESSAGE
    )


def test_ephemeral_containers_cannot_be_set_on_create() -> None:
    pod = with_ecs(stored_pod(), {"name": "dbg", "image": "busybox"})
    assert messages(validation.validate_pod_create(pod)) == [
        "spec.ephemeralContainers: Forbidden: cannot be set on create"
    ]


def test_restart_policy_values() -> None:
    pod = stored_pod(restartPolicy="Sometimes")
    assert messages(validation.validate_pod_create(pod)) == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    ]


def test_volume_mounts_must_name_a_valid_volume() -> None:
    pod = stored_pod(volumes=[{"name": "data", "emptyDir": {}}, {"name": "host", "hostPath": {"path": ""}}])
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "x", "mountPath": "/x"},
        {"name": "host", "mountPath": "/host"},
        {"name": "data", "mountPath": "/x"},
    ]
    assert messages(validation.validate_pod_create(pod)) == [
        "spec.volumes[1].hostPath.path: Required value",
        'spec.containers[0].volumeMounts[0].name: Not found: "x"',
        'spec.containers[0].volumeMounts[1].name: Not found: "host"',
        'spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/x": must be unique',
    ]


def test_volume_needs_exactly_one_source_and_unique_name() -> None:
    volumes = [{"name": "a", "emptyDir": {}, "hostPath": {"path": "/"}}, {"name": "c", "emptyDir": {}}]
    pod = stored_pod(volumes=[*volumes, {"name": "c", "emptyDir": {}}])
    pod["spec"]["volumes"].insert(1, {"name": "b"})  # after defaulting, which would make it an emptyDir
    assert messages(validation.validate_pod_create(pod)) == [
        "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
        "spec.volumes[1]: Required value: must specify a volume type",
        'spec.volumes[3].name: Duplicate value: "c"',
    ]


def test_share_process_namespace_and_host_pid_conflict() -> None:
    pod = stored_pod(shareProcessNamespace=True, hostPID=True)
    assert messages(validation.validate_pod_create(pod)) == [
        "spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"
    ]


# --- updates


def test_image_deadline_and_toleration_additions_may_change() -> None:
    old = stored_pod(activeDeadlineSeconds=600)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    new["spec"]["activeDeadlineSeconds"] = 300
    new["spec"]["tolerations"].append({"key": "k", "operator": "Exists"})
    assert validation.validate_pod_update(old, new) == []


def test_other_spec_changes_are_forbidden_with_the_real_message() -> None:
    old = stored_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["command"] = ["sh"]
    (error,) = validation.validate_pod_update(old, new)
    assert (error.type, error.field) == ("FieldValueForbidden", "spec")
    assert str(error).startswith(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)\n  core.PodSpec{\n"
    )
    assert '+ \tcontainers[0].command: ["sh"]' in str(error)


def test_ephemeral_containers_cannot_change_through_a_normal_update() -> None:
    old = stored_pod()
    (error,) = validation.validate_pod_update(old, with_ecs(old, {"name": "dbg", "image": "busybox"}))
    assert "pod updates may not change fields other than" in str(error)


def test_containers_cannot_be_added_and_tolerations_not_modified() -> None:
    old = stored_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"].append(copy.deepcopy(new["spec"]["containers"][0]) | {"name": "two"})
    assert messages(validation.validate_pod_update(old, new)) == [
        "spec.containers: Forbidden: pod updates may not add or remove containers"
    ]
    new = copy.deepcopy(old)
    new["spec"]["tolerations"][0]["effect"] = "NoSchedule"
    assert "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds" in (
        messages(validation.validate_pod_update(old, new))
    )


def test_deadline_may_only_decrease() -> None:
    old = stored_pod(activeDeadlineSeconds=60)
    new = copy.deepcopy(old)
    new["spec"]["activeDeadlineSeconds"] = 120
    assert messages(validation.validate_pod_update(old, new)) == [
        "spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value"
    ]


# --- the ephemeralcontainers subresource


def ec_update(old: dict[str, Any], *ecs: dict[str, Any]) -> list[str]:
    return messages(validation.validate_ephemeral_update(old, with_ecs(old, *ecs)))


def test_adding_an_ephemeral_container_is_valid() -> None:
    assert (
        ec_update(
            stored_pod(),
            {
                "name": "dbg",
                "image": "busybox",
                "targetContainerName": "app",
                "stdin": True,
                "tty": True,
                "resources": {},
            },
        )
        == []
    )


def test_duplicate_names_across_all_container_lists() -> None:
    old = stored_pod(initContainers=[{"name": "init", "image": "busybox"}])
    old = with_ecs(old, {"name": "debugger", "image": "busybox"})
    assert ec_update(
        old,
        {"name": "debugger", "image": "busybox"},
        {"name": "app", "image": "busybox"},
        {"name": "init", "image": "busybox"},
    ) == [
        'spec.ephemeralContainers[1].name: Duplicate value: "debugger"',
        'spec.ephemeralContainers[2].name: Duplicate value: "app"',
        'spec.ephemeralContainers[3].name: Duplicate value: "init"',
    ]


def test_name_and_image_rules() -> None:
    assert ec_update(stored_pod(), {"name": "Dbg", "image": "busybox"}, {"image": "busybox"}, {"name": "noimage"}) == [
        f'spec.ephemeralContainers[0].name: Invalid value: "Dbg": {LABEL_MESSAGE}',
        "spec.ephemeralContainers[1].name: Required value",
        "spec.ephemeralContainers[2].image: Required value",
    ]


def test_target_must_be_a_non_ephemeral_container() -> None:
    old = with_ecs(stored_pod(), {"name": "first", "image": "busybox"})
    assert ec_update(
        old,
        {"name": "dbg", "image": "busybox", "targetContainerName": "first"},
        {"name": "dbg2", "image": "busybox", "targetContainerName": "x"},
    ) == [
        'spec.ephemeralContainers[1].targetContainerName: Not found: "first"',
        'spec.ephemeralContainers[2].targetContainerName: Not found: "x"',
    ]


def test_fields_outside_the_allow_list_are_forbidden() -> None:
    ec = {
        "name": "dbg",
        "image": "busybox",
        "ports": [{"containerPort": 80}],
        "resources": {"limits": {"cpu": "1"}},
        "livenessProbe": {"exec": {"command": ["true"]}},
        "lifecycle": {"preStop": {"exec": {"command": ["x"]}}},
        "restartPolicy": "Always",
        "readinessProbe": {"exec": {"command": ["true"]}},
        "startupProbe": {"exec": {"command": ["true"]}},
        "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
    }
    errors = [m for m in ec_update(stored_pod(), ec) if "Forbidden" in m]
    assert errors == [
        f"spec.ephemeralContainers[0].{f}: Forbidden: cannot be set for an Ephemeral Container"
        for f in (
            "ports",
            "resources",
            "resizePolicy",
            "restartPolicy",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
        )
    ]


def test_sub_paths_are_forbidden_and_mounts_must_exist() -> None:
    old = stored_pod(volumes=[{"name": "data", "emptyDir": {}}])
    ec = {
        "name": "dbg",
        "image": "busybox",
        "volumeMounts": [
            {"name": "data", "mountPath": "/d", "subPath": "x"},
            {"name": "data", "mountPath": "/e", "subPathExpr": "$(X)"},
            {"name": "nope", "mountPath": "/n"},
        ],
    }
    assert ec_update(old, ec) == [
        'spec.ephemeralContainers[0].volumeMounts[2].name: Not found: "nope"',
        f"spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: {FORBIDDEN_EC}",
        f"spec.ephemeralContainers[0].volumeMounts[1].subPathExpr: Forbidden: {FORBIDDEN_EC}",
    ]


def test_existing_ephemeral_containers_may_not_be_removed_or_changed() -> None:
    old = with_ecs(stored_pod(), {"name": "one", "image": "busybox"}, {"name": "two", "image": "busybox"})
    new = copy.deepcopy(old)
    del new["spec"]["ephemeralContainers"][0]
    new["spec"]["ephemeralContainers"][0]["image"] = "alpine"
    removed, changed = messages(validation.validate_ephemeral_update(old, new))
    assert removed == 'spec.ephemeralContainers: Forbidden: existing ephemeral containers "one" may not be removed\n'
    assert changed.startswith(
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "two" may not be changed\n'
        "  core.EphemeralContainer{\n"
    )
    assert '- \timage: "busybox"\n+ \timage: "alpine"' in changed


def test_static_pods_do_not_support_ephemeral_containers() -> None:
    old = stored_pod()
    old["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    assert ec_update(old, {"name": "dbg", "image": "busybox"}) == [
        ": Forbidden: static pods do not support ephemeral containers"
    ]


def test_drop_non_ephemeral_updates_keeps_only_the_ephemeral_containers() -> None:
    old = stored_pod()
    sent = with_ecs(old, {"name": "dbg", "image": "busybox"})
    sent["spec"]["containers"][0]["image"] = "changed"
    sent["metadata"]["labels"] = {"sneaky": "yes"}
    result = validation.drop_non_ephemeral_updates(sent, old)
    assert result["spec"]["containers"] == old["spec"]["containers"]
    assert "labels" not in result["metadata"]
    assert [ec["name"] for ec in result["spec"]["ephemeralContainers"]] == ["dbg"]


# --- the 422 Status


def test_invalid_status_with_one_error() -> None:
    error = validation.FieldError("FieldValueDuplicate", "spec.ephemeralContainers[0].name", "debugger")
    assert validation.invalid_status("Pod", "web", [error]) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Pod "web" is invalid: spec.ephemeralContainers[0].name: Duplicate value: "debugger"',
        "reason": "Invalid",
        "details": {
            "name": "web",
            "kind": "Pod",
            "causes": [
                {
                    "reason": "FieldValueDuplicate",
                    "message": 'Duplicate value: "debugger"',
                    "field": "spec.ephemeralContainers[0].name",
                }
            ],
        },
        "code": 422,
    }


def test_invalid_status_aggregates_several_errors_without_repeats() -> None:
    pod = stored_pod()
    pod["spec"].update(restartPolicy="", dnsPolicy="")
    errors = validation.validate_pod_create(pod)
    errors += errors[:1]
    status = validation.invalid_status("Pod", "web", errors)
    assert (
        status["message"]
        == 'Pod "web" is invalid: [spec.restartPolicy: Required value, spec.dnsPolicy: Required value]'
    )
    assert [c["reason"] for c in status["details"]["causes"]] == ["FieldValueRequired"] * 3


@pytest.mark.parametrize(
    ("error", "reason", "text"),
    [
        (validation.FieldError("FieldValueNotFound", "f", "x"), "FieldValueNotFound", 'f: Not found: "x"'),
        (
            validation.FieldError("FieldValueInvalid", "f", 5, "bad"),
            "FieldValueInvalid",
            "f: Invalid value: 5: bad",
        ),
        (
            validation.FieldError("FieldValueForbidden", "f", None, "no"),
            "FieldValueForbidden",
            "f: Forbidden: no",
        ),
        (
            validation.FieldError("FieldValueNotSupported", "f", "z", 'supported values: "a"'),
            "FieldValueNotSupported",
            'f: Unsupported value: "z": supported values: "a"',
        ),
    ],
)
def test_error_rendering_per_type(error: validation.FieldError, reason: str, text: str) -> None:
    assert (error.type, str(error)) == (reason, text)
    assert validation.invalid_status("Pod", "p", [error])["details"]["causes"][0]["reason"] == reason
