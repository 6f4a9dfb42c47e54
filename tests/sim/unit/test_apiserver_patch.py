"""PATCH semantics: strategic merge as kubectl debug uses it, JSON merge patch, JSON patch, and errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kdbgtest.sim.apiserver import patch

SMP = "application/strategic-merge-patch+json"


def make_pod(**spec: Any) -> dict[str, Any]:
    containers = [
        {
            "name": "app",
            "image": "busybox:1.36",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "ports": [{"containerPort": 80}],
        },
        {"name": "side", "image": "busybox:1.36"},
    ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p", "labels": {"app": "p", "tier": "web"}},
        "spec": {"containers": containers, "tolerations": [{"operator": "Exists"}], **spec},
    }


def smp(obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return patch.apply_patch(obj, json.dumps(body).encode(), SMP)


# The body kubectl debug sends (kubectl-debug.md 1(a), observed from kubectl 1.37.1).
KUBECTL_EC = {
    "command": ["sleep", "1d"],
    "image": "busybox",
    "name": "dbg",
    "resources": {},
    "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
    "targetContainerName": "app",
    "terminationMessagePolicy": "File",
}


def test_kubectl_debug_patch_adds_the_first_ephemeral_container() -> None:
    pod = make_pod()
    result = smp(pod, {"spec": {"ephemeralContainers": [KUBECTL_EC]}})
    assert result["spec"]["ephemeralContainers"] == [KUBECTL_EC]
    assert result["spec"]["containers"] == pod["spec"]["containers"]
    assert "ephemeralContainers" not in pod["spec"], "the input must not be modified"


def test_kubectl_debug_patch_with_set_element_order_appends_by_name() -> None:
    first = {"name": "debugger-abcde", "image": "busybox"}
    pod = make_pod(ephemeralContainers=[first])
    body = {
        "spec": {
            "$setElementOrder/ephemeralContainers": [{"name": "debugger-abcde"}, {"name": "dbg"}],
            "ephemeralContainers": [KUBECTL_EC],
        }
    }
    assert smp(pod, body)["spec"]["ephemeralContainers"] == [first, KUBECTL_EC]


def test_same_name_merges_into_the_existing_element() -> None:
    pod = make_pod(ephemeralContainers=[{"name": "dbg", "image": "busybox", "stdin": True}])
    result = smp(pod, {"spec": {"ephemeralContainers": [{"name": "dbg", "image": "alpine"}]}})
    assert result["spec"]["ephemeralContainers"] == [{"name": "dbg", "image": "alpine", "stdin": True}]


def test_env_merges_by_name_and_set_element_order_reorders() -> None:
    body = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                    "$setElementOrder/env": [{"name": "C"}, {"name": "A"}, {"name": "B"}],
                }
            ]
        }
    }
    env = smp(make_pod(), body)["spec"]["containers"][0]["env"]
    assert env == [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}, {"name": "B", "value": "20"}]


def test_set_element_order_keeps_server_only_items_in_their_live_position() -> None:
    body = {
        "spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "new"}],
            "containers": [{"name": "new", "image": "x"}],
        }
    }
    names = [c["name"] for c in smp(make_pod(), body)["spec"]["containers"]]
    assert names == ["app", "side", "new"]


def test_patch_delete_removes_a_list_element_and_a_map() -> None:
    body = {
        "spec": {
            "containers": [
                {"name": "side", "$patch": "delete"},
                {"name": "app", "env": [{"name": "A", "$patch": "delete"}]},
            ]
        },
        "metadata": {"labels": {"$patch": "delete"}},
    }
    result = smp(make_pod(), body)
    assert [c["name"] for c in result["spec"]["containers"]] == ["app"]
    assert result["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]
    assert result["metadata"]["labels"] == {}  # apimachinery leaves an empty map behind


def test_patch_replace_on_a_map_and_on_a_list() -> None:
    body = {
        "metadata": {"labels": {"$patch": "replace", "only": "this"}},
        "spec": {"containers": [{"$patch": "replace"}, {"name": "solo", "image": "x"}]},
    }
    result = smp(make_pod(), body)
    assert result["metadata"]["labels"] == {"only": "this"}
    assert result["spec"]["containers"] == [{"name": "solo", "image": "x"}]


def test_null_deletes_keys_and_lists_without_merge_key_are_replaced() -> None:
    body = {
        "metadata": {"labels": {"tier": None}},
        "spec": {"tolerations": [{"key": "k", "operator": "Exists"}]},
    }
    result = smp(make_pod(), body)
    assert result["metadata"]["labels"] == {"app": "p"}
    assert result["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]


def test_merge_keys_apply_only_at_their_own_field() -> None:
    # `command` has no merge key: replaced. volumeMounts merge by mountPath; ports by containerPort.
    body = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "command": ["sh"],
                    "ports": [{"containerPort": 81}],
                    "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                }
            ]
        }
    }
    app = smp(make_pod(), body)["spec"]["containers"][0]
    assert app["command"] == ["sh"]
    assert app["ports"] == [{"containerPort": 80}, {"containerPort": 81}]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data", "readOnly": True}]


def test_retain_keys_and_delete_from_primitive_list() -> None:
    pod = make_pod(volumes=[{"name": "v", "emptyDir": {}}])
    pod["metadata"]["finalizers"] = ["a", "b"]
    body = {
        "spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/"}}]},
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]},
    }
    result = smp(pod, body)
    assert result["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/"}}]
    assert result["metadata"]["finalizers"] == ["b", "c"]


def test_status_conditions_merge_by_type() -> None:
    pod = make_pod()
    pod["status"] = {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}
    result = smp(pod, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Initialized", "status": "True"},
    ]


def test_strategic_merge_is_usable_directly() -> None:
    pod = make_pod()
    result = patch.strategic_merge(pod, {"spec": {"containers": [{"name": "side", "image": "alpine"}]}})
    assert result["spec"]["containers"][1] == {"name": "side", "image": "alpine"}


def test_element_without_merge_key_is_a_bad_request() -> None:
    with pytest.raises(patch.PatchError) as err:
        smp(make_pod(), {"spec": {"containers": [{"image": "busybox"}]}})
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert "does not contain declared merge key: name" in err.value.message


def test_merge_patch_rfc7386() -> None:
    pod = make_pod()
    body = {"metadata": {"labels": {"tier": None, "new": "1"}}, "spec": {"containers": [{"name": "only"}]}}
    result = patch.apply_patch(pod, json.dumps(body).encode(), "application/merge-patch+json")
    assert result["metadata"]["labels"] == {"app": "p", "new": "1"}
    assert result["spec"]["containers"] == [{"name": "only"}]
    assert patch.merge_patch({"a": {"b": 1}}, {"a": 5}) == {"a": 5}


def test_json_patch_operations() -> None:
    pod = make_pod()
    ops = [
        {"op": "test", "path": "/metadata/labels/app", "value": "p"},
        {"op": "add", "path": "/spec/ephemeralContainers", "value": []},
        {"op": "add", "path": "/spec/ephemeralContainers/-", "value": {"name": "dbg", "image": "busybox"}},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "alpine"},
        {"op": "remove", "path": "/spec/containers/1"},
        {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copied"},
        {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/a~1b"},
    ]
    result = patch.apply_patch(pod, json.dumps(ops).encode(), "application/json-patch+json")
    assert result["spec"]["ephemeralContainers"] == [{"name": "dbg", "image": "busybox"}]
    assert [c["image"] for c in result["spec"]["containers"]] == ["alpine"]
    assert result["metadata"]["labels"] == {"app": "p", "copied": "p", "a/b": "web"}
    assert pod == make_pod()


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [{"op": "test", "path": "/metadata/name", "value": "q"}],
            "testing value /metadata/name failed: test failed",
        ),
        (
            [{"op": "remove", "path": "/metadata/nope"}],
            "error in remove for path: '/metadata/nope': Unable to remove nonexistent key: nope: missing value",
        ),
        (
            [{"op": "replace", "path": "/spec/nope", "value": 1}],
            "replace operation does not apply: doc is missing key: /spec/nope: missing value",
        ),
        (
            [{"op": "add", "path": "/a/b", "value": 1}],
            'add operation does not apply: doc is missing path: "/a/b": missing value',
        ),
        ([{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate"),
    ],
)
def test_json_patch_failures_are_422_with_the_libraries_message(ops: list[Any], message: str) -> None:
    with pytest.raises(patch.PatchError) as err:
        patch.apply_patch(make_pod(), json.dumps(ops).encode(), "application/json-patch+json")
    assert (err.value.code, err.value.message) == (422, message)


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", SMP, 400),
        (b"[1]", SMP, 400),
        (b'{"op": "add"}', "application/json-patch+json", 400),
        (b"{}", "application/yaml", 415),
        (b'{"metadata": {"$patch": "explode"}}', SMP, 400),
    ],
)
def test_malformed_patches(body: bytes, content_type: str, code: int) -> None:
    with pytest.raises(patch.PatchError) as err:
        patch.apply_patch(copy.deepcopy(make_pod()), body, content_type)
    assert err.value.code == code


def test_content_type_parameters_are_ignored() -> None:
    body = json.dumps({"metadata": {"labels": {"x": "y"}}}).encode()
    result = patch.apply_patch(make_pod(), body, "application/merge-patch+json; charset=utf-8")
    assert result["metadata"]["labels"]["x"] == "y"
