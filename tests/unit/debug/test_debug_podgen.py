"""What the API driver builds, against kubectl 1.37's documented behaviour (shared/reference/kubectl-debug.md:
the profiles table, names, copy construction, node pod spec, messages). The sim tests
(test_debug_api_driver_sim.py) compare the same objects with what the real pinned kubectl makes."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from kdbgtest.debug import api_errors, merge, podgen, profiles
from kdbgtest.scenario import model

NAME = re.compile(r"^debugger-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def pod(**spec: Any) -> dict[str, Any]:
    """A pod as the API server returns it: defaults filled, a node, status."""
    base: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "app",
            "namespace": "ns",
            "uid": "u-1",
            "resourceVersion": "7",
            "labels": {"app": "web"},
            "annotations": {"note": "hi"},
        },
        "spec": {
            "nodeName": "node-a",
            "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
            "containers": [
                {
                    "name": "app",
                    "image": "app:1",
                    "command": ["/app"],
                    "args": ["--port=80"],
                    "env": [{"name": "A", "value": "1"}],
                    "livenessProbe": {"exec": {"command": ["true"]}},
                    "readinessProbe": {"exec": {"command": ["true"]}},
                    "startupProbe": {"exec": {"command": ["true"]}},
                }
            ],
            "securityContext": {},
        },
        "status": {"phase": "Running"},
    }
    base["spec"].update(spec)
    return base


def action(**fields: Any) -> model.DebugAction:
    fields.setdefault("mode", "ephemeral")
    fields.setdefault("pod", "app")
    return model.DebugAction(**fields)


def ephemeral(**fields: Any) -> tuple[dict[str, Any], dict[str, Any], podgen.Printed]:
    out = podgen.Printed()
    ec, patch = podgen.ephemeral(action(image="busybox:1.36", **fields), pod(), out)
    return ec, patch, out


# -- names and messages


def test_generated_name_uses_kubectls_alphabet_and_is_announced() -> None:
    ec, _, out = ephemeral()
    assert NAME.match(ec["name"])
    assert out.stdout == [f"Defaulting debug container name to {ec['name']}."]


def test_generated_name_is_regenerated_while_it_collides(monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter(["bbbbb", "bbbbb", "ccccc"])
    monkeypatch.setattr(podgen, "suffix", lambda length=5: next(names))
    target = pod(ephemeralContainers=[{"name": "debugger-bbbbb", "image": "busybox"}])
    out = podgen.Printed()
    assert podgen.debug_name(action(), target, out) == "debugger-ccccc"
    assert out.stdout == ["Defaulting debug container name to debugger-ccccc."]


def test_given_name_and_quiet_print_nothing() -> None:
    ec, _, out = ephemeral(container="dbg")
    assert ec["name"] == "dbg" and out.stdout == []
    ec, _, out = ephemeral(quiet=True, target="app")
    assert NAME.match(ec["name"]) and out.stdout == []


def test_target_message_is_printed_by_the_flag_check() -> None:
    out = podgen.Printed()
    podgen.check(action(image="busybox", target="app"), out)
    assert out.stdout == [
        'Targeting container "app". If you don\'t see processes from this container it may be because the '
        "container runtime doesn't support this feature."
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"replace": True, "image": "b"}, "--replace may only be used with --copy-to."),
        ({"same_node": True, "image": "b"}, "--same-node may only be used with --copy-to."),
        ({"set_image": {"*": "b"}, "image": "b"}, "--set-image may only be used with --copy-to."),
        ({}, "you must specify --image when not using --copy-to."),
        ({"copy_to": "c"}, "you must specify --image, --set-image or command arguments."),
        (
            {"copy_to": "c", "command": ["sh"]},
            "you must specify an existing container or a new image when specifying args.",
        ),
        (
            {"copy_to": "c", "image": "b", "target": "app"},
            "--target is incompatible with --copy-to. Use --share-processes instead.",
        ),
        ({"image": "b", "tty": True}, "-i/--stdin is required for containers with -t/--tty=true"),
        (
            {"image": "b", "custom": {"image": "x"}},
            "name, command, image, lifecycle and volume devices are not modifiable via custom profile",
        ),
    ],
)
def test_kubectls_flag_checks(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(podgen.Refused, match=re.escape(message)):
        podgen.check(action(**fields), podgen.Printed())


def test_legacy_profile_warns_on_stderr() -> None:
    out = podgen.Printed()
    podgen.check(action(image="b", profile="legacy"), out)
    assert out.stderr and out.stderr[0].startswith("--profile=legacy is deprecated and planned to be removed in v1.39")


# -- ephemeral containers


def test_ephemeral_container_fields() -> None:
    ec, patch, _ = ephemeral(
        container="dbg", target="app", env={"B": "2", "A": "1"}, interactive=True, command=["sh", "-c", "x"]
    )
    assert ec == {
        "name": "dbg",
        "image": "busybox:1.36",
        "resources": {},
        "terminationMessagePolicy": "File",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "stdin": True,
        "tty": True,
        "command": ["sh", "-c", "x"],
        "targetContainerName": "app",
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},  # general, kubectl 1.37's default
    }
    assert patch == {"spec": {"ephemeralContainers": [ec]}}  # the body kubectl sends (reference, observed)


def test_ephemeral_arguments_only_and_pull_policy() -> None:
    ec, _, _ = ephemeral(command=["-x"], arguments_only=True, image_pull_policy="Never")
    assert ec["args"] == ["-x"] and "command" not in ec and ec["imagePullPolicy"] == "Never"
    ec, _, _ = ephemeral()
    assert "imagePullPolicy" not in ec and "stdin" not in ec and "tty" not in ec


def test_patch_with_existing_ephemeral_containers_keeps_their_order() -> None:
    before = [{"name": "old", "image": "busybox"}]
    after = [*before, {"name": "new", "image": "busybox"}]
    assert podgen.ephemeral_patch(before, after) == {
        "spec": {
            "$setElementOrder/ephemeralContainers": [{"name": "old"}, {"name": "new"}],
            "ephemeralContainers": [{"name": "new", "image": "busybox"}],
        }
    }


EPHEMERAL_CONTEXTS = {
    "legacy": None,
    "general": {"capabilities": {"add": ["SYS_PTRACE"]}},
    "baseline": None,
    "restricted": {
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "netadmin": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
    "sysadmin": {"privileged": True},
}


@pytest.mark.parametrize("profile", sorted(EPHEMERAL_CONTEXTS))
def test_ephemeral_profiles_table(profile: str) -> None:
    out = podgen.Printed()
    ec, patch = podgen.ephemeral(action(image="b", profile=profile), pod(), out)
    assert ec.get("securityContext") == EPHEMERAL_CONTEXTS[profile]
    assert set(patch["spec"]) == {"ephemeralContainers"}  # labels are not touched through the subresource


def test_custom_profile_replaces_capabilities_and_merges_env() -> None:
    custom = {
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": 0},
        "env": [{"name": "A", "value": "changed"}, {"name": "C", "value": "3"}],
    }
    ec, _, _ = ephemeral(env={"A": "1", "B": "2"}, custom=custom)
    assert ec["securityContext"] == {"capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": 0}
    assert ec["env"] == [
        {"name": "A", "value": "changed"},
        {"name": "B", "value": "2"},
        {"name": "C", "value": "3"},
    ]


def test_merge_deletes_with_null_and_refuses_directives() -> None:
    merged = merge.merge_container({"name": "c", "workingDir": "/x", "tty": True}, {"workingDir": None})
    assert merged == {"name": "c", "tty": True}
    with pytest.raises(Exception, match=r"\$patch"):
        merge.merge_container({"name": "c"}, {"env": [{"name": "A", "$patch": "delete"}]})


def test_non_root_pod_warning() -> None:
    target = pod(securityContext={"runAsUser": 1000})
    out = podgen.Printed()
    podgen.ephemeral(action(image="b"), target, out)
    assert out.stderr and out.stderr[0].startswith("Warning: Non-root user is configured for the entire target Pod")
    out = podgen.Printed()
    podgen.ephemeral(action(image="b", profile="baseline"), target, out)
    assert out.stderr == []  # baseline grants nothing


# -- copies


def copy_of(**fields: Any) -> tuple[dict[str, Any], str, podgen.Printed]:
    fields.setdefault("copy_to", "app-copy")
    out = podgen.Printed()
    copied, name = podgen.pod_copy(action(mode="copy", **fields), pod(), out)
    return copied, name, out


def test_copy_with_new_debug_container_general() -> None:
    copied, name, out = copy_of(image="busybox:1.36", interactive=True)
    assert NAME.match(name) and out.stdout == [f"Defaulting debug container name to {name}."]
    assert copied["metadata"] == {"name": "app-copy", "namespace": "ns"}  # labels and annotations removed
    spec = copied["spec"]
    assert "nodeName" not in spec and spec["shareProcessNamespace"] is True
    assert [c["name"] for c in spec["containers"]] == ["app", name]
    app, debugger = spec["containers"]
    assert not {"livenessProbe", "readinessProbe", "startupProbe"} & set(app)
    assert app["command"] == ["/app"] and "securityContext" not in app
    assert debugger == {
        "name": name,
        "image": "busybox:1.36",
        "terminationMessagePolicy": "File",
        "stdin": True,
        "tty": True,
        "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}},
    }
    assert spec["initContainers"][0]["name"] == "init"  # kept: --keep-init-containers defaults to true


def test_copy_modifying_existing_container() -> None:
    copied, name, out = copy_of(container="app", command=["sh"], env={"X": "1"}, interactive=True)
    assert name == "app" and out.stdout == []
    (app,) = copied["spec"]["containers"]
    assert app["command"] == ["sh"] and "args" not in app  # args dropped with a new command
    assert app["env"] == [{"name": "X", "value": "1"}]  # --env replaces the env
    assert app["image"] == "app:1" and app["stdin"] and app["tty"]
    copied, _, _ = copy_of(container="app", command=["--debug"], arguments_only=True)
    assert copied["spec"]["containers"][0]["args"] == ["--debug"]
    assert copied["spec"]["containers"][0]["command"] == ["/app"]


def test_copy_keep_flags_same_node_and_explicit_sharing() -> None:
    copied, _, _ = copy_of(
        image="b",
        keep_labels=True,
        keep_annotations=True,
        keep_liveness=True,
        keep_readiness=True,
        keep_startup=True,
        keep_init_containers=False,
        same_node=True,
        share_processes=False,
    )
    assert copied["metadata"]["labels"] == {"app": "web"} and copied["metadata"]["annotations"] == {"note": "hi"}
    app = copied["spec"]["containers"][0]
    assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(app)
    assert "initContainers" not in copied["spec"]
    assert copied["spec"]["nodeName"] == "node-a" and copied["spec"]["shareProcessNamespace"] is False


def test_set_image_only_copy_skips_the_profile() -> None:
    copied, name, out = copy_of(set_image={"*": "busybox:1.36"})
    assert name == "" and out.stdout == []
    assert copied["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert copied["spec"]["initContainers"][0]["image"] == "busybox"  # only spec.containers
    assert copied["metadata"]["labels"] == {"app": "web"}  # returned before the profile
    assert "shareProcessNamespace" not in copied["spec"]
    assert "livenessProbe" in copied["spec"]["containers"][0]


def test_set_image_by_name_wins_over_star() -> None:
    target = pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])
    copied, _ = podgen.pod_copy(
        action(mode="copy", copy_to="c", set_image={"*": "star", "b": "mine"}), target, podgen.Printed()
    )
    assert [c["image"] for c in copied["spec"]["containers"]] == ["star", "mine"]


def test_legacy_copy_always_removes_labels_only() -> None:
    copied, _, _ = copy_of(image="b", profile="legacy", keep_labels=True)
    assert "labels" not in copied["metadata"] and copied["metadata"]["annotations"] == {"note": "hi"}
    assert "livenessProbe" in copied["spec"]["containers"][0]
    assert "shareProcessNamespace" not in copied["spec"]


@pytest.mark.parametrize("profile", ["baseline", "restricted", "netadmin", "sysadmin"])
def test_copy_profiles_strip_metadata_and_share(profile: str) -> None:
    copied, _, _ = copy_of(image="b", profile=profile)
    assert "labels" not in copied["metadata"] and copied["spec"]["shareProcessNamespace"] is True
    debugger = copied["spec"]["containers"][-1]
    assert debugger.get("securityContext") == EPHEMERAL_CONTEXTS[profile]


# -- node pods

NODE_CONTEXTS: dict[str, tuple[Any, bool, bool]] = {  # securityContext, host namespaces, /host
    "legacy": (None, True, True),
    "general": (None, True, True),
    "baseline": (None, False, False),
    "restricted": (EPHEMERAL_CONTEXTS["restricted"], False, False),
    "netadmin": (EPHEMERAL_CONTEXTS["netadmin"], True, False),
    "sysadmin": ({"privileged": True}, True, True),
}


@pytest.mark.parametrize("profile", sorted(NODE_CONTEXTS))
def test_node_pod_per_profile(profile: str) -> None:
    out = podgen.Printed()
    node_pod = podgen.node_pod(action(mode="node", node="n1", image="b", profile=profile), "n1", out)
    context, host, mount = NODE_CONTEXTS[profile]
    spec = node_pod["spec"]
    (container,) = spec["containers"]
    assert container.get("securityContext") == context
    assert all(spec.get(k) is (True if host else None) for k in ("hostPID", "hostNetwork", "hostIPC"))
    mounted = {"name": "host-root", "hostPath": {"path": "/"}} in (spec.get("volumes") or [])
    assert mounted == mount
    assert ({"mountPath": "/host", "name": "host-root"} in (container.get("volumeMounts") or [])) == mount


def test_node_pod_fixed_fields_and_message() -> None:
    out = podgen.Printed()
    node_pod = podgen.node_pod(action(mode="node", node="n1", image="b", command=["sh"]), "n1", out)
    name = node_pod["metadata"]["name"]
    assert re.fullmatch(r"node-debugger-n1-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert out.stdout == [f"Creating debugging pod {name} with container debugger on node n1."]
    assert node_pod["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-debug"}
    spec = node_pod["spec"]
    assert spec["nodeName"] == "n1" and spec["restartPolicy"] == "Never"
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["containers"][0]["command"] == ["sh"]
    assert spec["containers"][0]["terminationMessagePolicy"] == "File"


def test_profiles_edit_the_first_container_with_the_name() -> None:
    target = pod(ephemeralContainers=[{"name": "app", "image": "x"}])
    edited = copy.deepcopy(target)
    profiles.apply(edited, "app", "ephemeral", "sysadmin", profiles.KeepFlags())
    assert edited["spec"]["containers"][0]["securityContext"] == {"privileged": True}
    assert "securityContext" not in edited["spec"]["ephemeralContainers"][0]


# -- errors as kubectl prints them


class FakeApiException(Exception):
    """Shape of kubernetes.client ApiException: status, reason, body."""

    def __init__(self, status: int, body: str, reason: str = "") -> None:
        super().__init__(reason)
        self.status, self.body, self.reason = status, body, reason


def test_render_invalid_with_one_and_several_causes() -> None:
    one = (
        '{"kind":"Status","status":"Failure","reason":"Invalid","details":{"name":"app","kind":"Pod","causes":'
        '[{"field":"spec.ephemeralContainers[0].name","message":"Duplicate value: \\"app\\""}]},"code":422}'
    )
    assert api_errors.render(FakeApiException(422, one)) == (
        'The Pod "app" is invalid: spec.ephemeralContainers[0].name: Duplicate value: "app"'
    )
    two = one.replace("}]}", '},{"field":"f","message":"m"}]}')
    assert api_errors.render(FakeApiException(422, two)) == (
        'The Pod "app" is invalid: \n* spec.ephemeralContainers[0].name: Duplicate value: "app"\n* f: m'
    )


def test_render_not_found_and_disabled_feature() -> None:
    found = '{"kind":"Status","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x"}}'
    assert api_errors.render(FakeApiException(404, found)) == 'Error from server (NotFound): pods "x" not found'
    assert api_errors.ephemeral_disabled(FakeApiException(404, found)) is None
    gone = '{"kind":"Status","message":"the server could not find the requested resource","reason":"NotFound"}'
    assert api_errors.ephemeral_disabled(FakeApiException(404, gone)) == (
        "error: ephemeral containers are disabled for this cluster "
        '(error from server: "the server could not find the requested resource")'
    )
    assert api_errors.render(FakeApiException(0, "", "Connection refused")) == "error: Connection refused"
