"""The API driver against the real pinned kubectl, on the offline cluster: the same debug action through both
drivers on the same fixture pod, and the objects the API server ends up holding compared field by field
(generated names aside). Also: what both print (messages, errors, exit codes) for the same failures, and exec.

This is the strongest check that `podgen`/`profiles` build what kubectl 1.37.1 builds: the comparison is with
kubectl's own output through the same server, not with our reading of its source.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import TypeAdapter

from kdbgtest.base import process, tools
from kdbgtest.debug.api_driver import ApiDriver
from kdbgtest.debug.driver import CommandResult
from kdbgtest.debug.kubectl_driver import KubectlDriver
from kdbgtest.scenario import model
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web, tier: front}}
  annotations: {{note: hello}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {{name: init, image: "busybox:1.36", command: ["true"]}}
  containers:
  - name: app
    image: "busybox:1.36"
    command: [sh, -c]
    args: ["exec sleep 3600"]
    env: [{{name: A, value: "1"}}]
    livenessProbe: {{exec: {{command: ["true"]}}}}
    readinessProbe: {{exec: {{command: ["true"]}}}}
    startupProbe: {{exec: {{command: ["true"]}}}}
"""
PROFILES = ["legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"]
WARNING = re.compile(r"warning: couldn't attach to pod/app, falling back to streaming logs: .+")
ATTACHED = [  # what kubectl 1.37 (and the API driver) print on stderr when the attach got there in time
    "All commands and output from this session will be recorded in container logs, including credentials and "
    "sensitive information passed through the command prompt.",
    "If you don't see a command prompt, try pressing enter.",
]
VOLATILE_META = ("name", "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.SimHandle]:
    with testing.sim_cluster(tmp_path_factory, name=f"api-{uuid.uuid4().hex[:6]}", nodes=2) as handle:
        yield handle


@pytest.fixture(scope="module")
def drivers(sim: testing.SimHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("drivers")
    kubectl_driver = KubectlDriver(tools.pinned_kubectl(), sim.kubeconfig, None, out)
    api = ApiDriver(sim.kubeconfig, None, out, kubectl_driver=kubectl_driver)
    yield {"kubectl": kubectl_driver, "api": api}
    api.close()


@pytest.fixture
def namespace(sim: testing.SimHandle) -> Iterator[str]:
    name = f"cmp-{uuid.uuid4().hex[:8]}"
    kubectl(sim, "create", "namespace", name)
    try:
        yield name
    finally:
        kubectl(sim, "delete", "namespace", name, "--timeout=120s")


def kubectl(sim: testing.SimHandle, *args: str, stdin: str | None = None) -> str:
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={sim.kubeconfig}", *args]
    return process.run(argv, timeout=90, stdin=stdin).stdout


def make_pod(sim: testing.SimHandle, namespace: str, name: str) -> None:
    kubectl(sim, "apply", "-n", namespace, "-f", "-", stdin=POD.format(name=name))
    kubectl(sim, "wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}", "--timeout=60s")


def get(sim: testing.SimHandle, namespace: str, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(kubectl(sim, "get", ref, "-n", namespace, "-o", "json"))
    return found


def run(
    drivers: dict[str, Any], name: str, namespace: str, *, session: list[dict[str, Any]] | None = None, **fields: Any
) -> CommandResult:
    items = TypeAdapter(list[model.DialogueItem]).validate_python(session) if session else None
    action = model.DebugAction(**fields)
    result: CommandResult = drivers[name].debug(
        action, namespace=namespace, session=items, timeout=60, step_slug=f"{name}-{uuid.uuid4().hex[:4]}"
    )
    return result


def normalized(obj: dict[str, Any], names: dict[str, str], *, node: bool = False) -> dict[str, Any]:
    """`obj` without server-assigned fields and with generated names replaced by placeholders."""
    text = json.dumps(obj)
    for generated, placeholder in names.items():
        text = text.replace(f'"{generated}"', f'"{placeholder}"')
    text = re.sub(r'"kube-api-access-[a-z0-9]{5}"', '"kube-api-access-<id>"', text)  # the API server's name
    clean: dict[str, Any] = json.loads(text)
    for key in VOLATILE_META:
        clean["metadata"].pop(key, None)
    clean.pop("status", None)
    if not node:
        clean["spec"].pop("nodeName", None)  # the scheduler picks a node for each copy
    return clean


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Field-by-field differences, as readable lines."""
    if isinstance(left, dict) and isinstance(right, dict):
        lines: list[str] = []
        for key in sorted(set(left) | set(right)):
            lines += differences(left.get(key), right.get(key), f"{path}.{key}")
        return lines
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            line for i, (a, b) in enumerate(zip(left, right, strict=True)) for line in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: kubectl={left!r} api={right!r}"]


def env_sorted(container: dict[str, Any]) -> dict[str, Any]:
    if "env" in container:  # kubectl's --env is a Go map: its order is random
        container["env"] = sorted(container["env"], key=lambda e: e["name"])
    return container


# -- ephemeral containers


@pytest.mark.parametrize("profile", [*PROFILES, None])
def test_ephemeral_container_same_as_kubectl(
    sim: testing.SimHandle, drivers: dict[str, Any], namespace: str, profile: str | None
) -> None:
    make_pod(sim, namespace, "app")
    fields: dict[str, Any] = {"mode": "ephemeral", "pod": "app", "image": "busybox:1.36", "target": "app"}
    fields["env"] = {"B": "2", "A": "x=y"}
    fields.update(profile=profile, command=["sh", "-c", "exit 0"], image_pull_policy="IfNotPresent")
    results = {name: run(drivers, name, namespace, **fields) for name in ("kubectl", "api")}
    spec = get(sim, namespace, "pod/app")["spec"]
    made = {
        name: env_sorted(dict(ec)) for ec, name in zip(spec["ephemeralContainers"], ("kubectl", "api"), strict=True)
    }
    for name, result in results.items():
        assert result.exit_code == 0, result.output
        assert made[name].pop("name") == result.captures["debug_container"]
    assert differences(made["kubectl"], made["api"]) == []
    assert "securityContext" in made["api"] or profile in ("legacy", "baseline")
    kubectl_out = results["kubectl"].stdout.replace(results["kubectl"].captures["debug_container"], "<name>")
    assert results["api"].stdout.replace(results["api"].captures["debug_container"], "<name>") == kubectl_out
    assert results["api"].stderr == results["kubectl"].stderr


def test_ephemeral_custom_profile_same_as_kubectl(
    sim: testing.SimHandle, drivers: dict[str, Any], namespace: str
) -> None:
    make_pod(sim, namespace, "app")
    custom = {
        "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": 0},
        "env": [{"name": "A", "value": "custom"}, {"name": "C", "value": "3"}],
        "workingDir": "/tmp",
    }
    for name in ("kubectl", "api"):
        result = run(
            drivers,
            name,
            namespace,
            mode="ephemeral",
            pod="app",
            image="busybox:1.36",
            container=f"c-{name}",
            env={"A": "1", "B": "2"},
            custom=custom,
            command=["true"],
        )
        assert result.exit_code == 0, result.output
    made = {ec["name"]: env_sorted(ec) for ec in get(sim, namespace, "pod/app")["spec"]["ephemeralContainers"]}
    made["c-kubectl"]["name"] = made["c-api"]["name"] = "c"
    assert differences(made["c-kubectl"], made["c-api"]) == []
    assert made["c-api"]["securityContext"]["capabilities"] == {"add": ["NET_ADMIN"]}


# -- copies

COPIES: dict[str, dict[str, Any]] = {
    "new-container": {"image": "busybox:1.36", "command": ["sleep", "30"]},
    "modify-app": {"container": "app", "command": ["sh", "-c", "sleep 30"], "env": {"X": "1"}},
    "keep-all": {
        "image": "busybox:1.36",
        "container": "dbg",
        "keep_labels": True,
        "keep_annotations": True,
        "keep_liveness": True,
        "keep_readiness": True,
        "keep_startup": True,
        "keep_init_containers": False,
        "share_processes": False,
        "same_node": True,
    },
    "set-image-only": {"set_image": {"*": "busybox:1.36"}},
    "legacy": {"image": "busybox:1.36", "profile": "legacy", "arguments_only": True, "command": ["x"]},
    "restricted": {"image": "busybox:1.36", "profile": "restricted", "share_processes": True},
    "sysadmin-app": {"container": "app", "profile": "sysadmin", "image": "busybox:1.36"},
}


@pytest.mark.parametrize("case", sorted(COPIES))
def test_copy_same_as_kubectl(sim: testing.SimHandle, drivers: dict[str, Any], namespace: str, case: str) -> None:
    make_pod(sim, namespace, "app")
    copies, printed = {}, {}
    for name in ("kubectl", "api"):
        copy_to = f"copy-{name}"
        result = run(drivers, name, namespace, mode="copy", pod="app", copy_to=copy_to, **COPIES[case])
        assert result.exit_code == 0, result.output
        generated = result.captures.get("debug_container", "")
        names = {
            copy_to: "<copy>",
            **({generated: "<debugger>"} if generated.startswith("debugger-") else {}),
        }
        copy = normalized(get(sim, namespace, f"pod/{copy_to}"), names, node=bool(COPIES[case].get("same_node")))
        for container in copy["spec"]["containers"]:
            env_sorted(container)
        copies[name] = copy
        printed[name] = (result.stdout.replace(generated, "<debugger>"), result.stderr)
    assert differences(copies["kubectl"], copies["api"]) == []
    assert printed["api"] == printed["kubectl"]


def test_replace_deletes_the_original_like_kubectl(
    sim: testing.SimHandle, drivers: dict[str, Any], namespace: str
) -> None:
    for name in ("kubectl", "api"):
        make_pod(sim, namespace, f"orig-{name}")
        result = run(
            drivers,
            name,
            namespace,
            mode="copy",
            pod=f"orig-{name}",
            copy_to=f"new-{name}",
            image="busybox:1.36",
            replace=True,
            command=["sleep", "30"],
        )
        assert result.exit_code == 0, result.output
    listed = kubectl(sim, "get", "pods", "-n", namespace, "-o", "name").split()
    assert "pod/orig-kubectl" not in listed and "pod/orig-api" not in listed
    assert {"pod/new-kubectl", "pod/new-api"} <= set(listed)


# -- node pods


@pytest.mark.parametrize("profile", [*PROFILES, None])
def test_node_pod_same_as_kubectl(
    sim: testing.SimHandle, drivers: dict[str, Any], namespace: str, profile: str | None
) -> None:
    node = sim.config.node_names[-1]
    pods, printed = {}, {}
    for name in ("kubectl", "api"):
        result = run(
            drivers,
            name,
            namespace,
            mode="node",
            node=node,
            image="busybox:1.36",
            profile=profile,
            env={"E": "1"},
            command=["true"],
        )
        assert result.exit_code == 0, result.output
        pod_name = result.captures["debug_pod"]
        assert re.fullmatch(rf"node-debugger-{node}-[a-z0-9]{{5}}", pod_name)
        pods[name] = normalized(get(sim, namespace, f"pod/{pod_name}"), {pod_name: "<pod>"}, node=True)
        printed[name] = (result.stdout.replace(pod_name, "<pod>"), result.stderr)
    assert differences(pods["kubectl"], pods["api"]) == []
    assert printed["api"] == printed["kubectl"]


# -- failures: the same text and exit code

FAILURES: dict[str, dict[str, Any]] = {
    "duplicate-name": {"mode": "ephemeral", "pod": "app", "image": "busybox:1.36", "container": "app"},
    "target-not-found": {
        "mode": "ephemeral",
        "pod": "app",
        "image": "busybox:1.36",
        "target": "nope",
        "container": "x",
    },
    "pod-not-found": {"mode": "ephemeral", "pod": "nope", "image": "busybox:1.36"},
    "copy-exists": {
        "mode": "copy",
        "pod": "app",
        "copy_to": "app",
        "image": "busybox:1.36",
        "container": "d",
    },
    "node-not-found": {"mode": "node", "node": "nope", "image": "busybox:1.36"},
    "flag-check": {"mode": "ephemeral", "pod": "app", "image": "busybox:1.36", "same_node": True},
    "no-image": {"mode": "copy", "pod": "app", "copy_to": "c", "command": ["sh"]},
}


def test_failures_print_what_kubectl_prints(sim: testing.SimHandle, drivers: dict[str, Any], namespace: str) -> None:
    make_pod(sim, namespace, "app")
    for case, fields in FAILURES.items():
        results = {name: run(drivers, name, namespace, **fields) for name in ("kubectl", "api")}
        seen = {name: (r.exit_code, r.stdout, r.stderr) for name, r in results.items()}
        assert seen["api"] == seen["kubectl"], case
        assert seen["api"][0] == 1 and seen["api"][2], case


# -- exec and interactive sessions


def test_exec_same_as_kubectl(sim: testing.SimHandle, drivers: dict[str, Any], namespace: str) -> None:
    make_pod(sim, namespace, "app")
    for command in (["sh", "-c", "echo out; echo err >&2; exit 3"], ["nosuch"], ["echo", "ok"]):
        action = model.ExecAction(pod="app", command=command)
        seen = {}
        for name in ("kubectl", "api"):
            result = drivers[name].exec(action, namespace=namespace, session=None, timeout=30, step_slug="exec")
            stderr = re.sub(r'exec "[0-9a-f]{64}"', 'exec "<id>"', result.stderr)  # a new exec id each time
            seen[name] = (result.exit_code, result.stdout, stderr)
        assert seen["api"] == seen["kubectl"], command


def test_interactive_sessions_read_alike(sim: testing.SimHandle, drivers: dict[str, Any], namespace: str) -> None:
    make_pod(sim, namespace, "app")
    dialogue: list[dict[str, Any]] = [
        {"send": "echo sum=$((40+2))"},
        {"regex": r"^sum=(?P<sum>\d+)$"},
        {"send": "exit 0"},
        {"end": True, "exit_code": 0},
    ]
    lines = {}
    for name in ("kubectl", "api"):
        result = run(
            drivers,
            name,
            namespace,
            session=dialogue,
            mode="ephemeral",
            pod="app",
            image="busybox:1.36",
            container=f"sh-{name}",
            interactive=True,
        )
        assert result.exit_code == 0 and result.captures["sum"] == "42"
        assert result.transcript is not None and result.transcript.exists()
        text = result.output.replace(f"sh-{name}", "<c>")
        # What the shell printed before the attach (its banner) and prompt redraws (Enter, resizes) race with
        # the attach and with typed input, under both drivers: compare kubectl's lines before the attach, then
        # the lines with content from the first command on.
        every = [line for line in text.splitlines() if line.strip() not in ("", "/ #")]
        hint = every.index("If you don't see a command prompt, try pressing enter.")
        first = next(i for i, line in enumerate(every) if "echo sum=" in line)
        lines[name] = every[: hint + 1] + every[first:]
    assert lines["api"] == lines["kubectl"], lines


def test_disabled_ephemeral_containers_read_alike(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A cluster without the ephemeralcontainers subresource: kubectl's own message, from both drivers."""
    gates = {"EphemeralContainers": False}
    name = f"off-{uuid.uuid4().hex[:6]}"
    with testing.sim_cluster(tmp_path_factory, name=name, nodes=1, feature_gates=gates) as off:
        kubectl(off, "create", "namespace", "off")
        make_pod(off, "off", "app")
        out = tmp_path_factory.mktemp("off")
        kubectl_driver = KubectlDriver(tools.pinned_kubectl(), off.kubeconfig, None, out)
        api = ApiDriver(off.kubeconfig, None, out, kubectl_driver=kubectl_driver)
        try:
            both = {"kubectl": kubectl_driver, "api": api}
            fields: dict[str, Any] = {"mode": "ephemeral", "pod": "app", "image": "busybox:1.36", "container": "x"}
            seen = {n: run(both, n, "off", **fields) for n in both}
        finally:
            api.close()
    assert [(r.exit_code, r.stdout, r.stderr) for r in seen.values()] == [
        (
            1,
            "",
            'error: ephemeral containers are disabled for this cluster (error from server: "the server could '
            'not find the requested resource")\n',
        )
    ] * 2


def test_attach_fallbacks_and_interactive_exec_read_alike(
    sim: testing.SimHandle, drivers: dict[str, Any], namespace: str
) -> None:
    """A non-interactive --attach and an interactive exec: the same output and exit code from both drivers.
    A debugger that exits at once: kubectl attaches, or (it was gone) warns and prints its logs, or (it was
    seen terminated) prints its logs; which one is a race under both drivers, so each must give one of them."""
    make_pod(sim, namespace, "app")
    for name in ("kubectl", "api"):
        container = f"c-{uuid.uuid4().hex[:6]}"
        fields: dict[str, Any] = {"attach": True, "command": ["sh", "-c", "sleep 1; echo done"], "container": container}
        result = run(drivers, name, namespace, mode="ephemeral", pod="app", image="busybox:1.36", **fields)
        # attached (the notice, then "done"), or warned and streamed its logs, or streamed its logs: nothing else
        # (comparing the two drivers' exact outputs failed under load, each driver having lost the race once)
        seen = (result.exit_code, result.stdout.strip().splitlines()[-1:], result.stderr.strip().splitlines())
        assert seen[:2] == (0, ["done"]), (name, result.stdout, result.stderr)
        assert seen[2] in ([], ATTACHED) or (len(seen[2]) == 1 and WARNING.fullmatch(seen[2][0])), (name, seen[2])
    for name in ("kubectl", "api"):
        fields = {"interactive": True, "command": ["echo", "early"], "container": f"e-{uuid.uuid4().hex[:6]}"}
        session = [{"end": True}]
        result = run(
            drivers, name, namespace, session=session, mode="ephemeral", pod="app", image="busybox:1.36", **fields
        )
        lines = [line for line in result.output.splitlines() if line]
        assert result.exit_code == 0, (name, lines)
        warnings = [line for line in lines if line.startswith("warning: ")]
        assert all(WARNING.fullmatch(line) for line in warnings), (name, warnings)
        assert lines[-1] == "early" or lines[-1].startswith("Session ended, the ephemeral container"), (name, lines)
    # Wait for the prompt before typing, as a person would: a line typed before the shell has started is echoed
    # by the container's terminal and then again by the shell's line editor (kubectl lost that race under load).
    exec_session = TypeAdapter(list[model.DialogueItem]).validate_python(
        [
            {"expect": "/ # "},
            {"send": "echo in-exec"},
            {"expect": "in-exec"},
            {"send": "exit 3"},
            {"end": True, "exit_code": 3},
        ]
    )
    action = model.ExecAction(pod="app", container="app", command=["sh"], interactive=True)
    outputs = {}
    for name in ("kubectl", "api"):
        result = drivers[name].exec(action, namespace=namespace, session=exec_session, timeout=30, step_slug="x")
        outputs[name] = [line for line in result.output.splitlines() if line.strip() not in ("", "/ #")]
    assert outputs["api"] == outputs["kubectl"], outputs
    assert outputs["api"][-1] == "command terminated with exit code 3"
