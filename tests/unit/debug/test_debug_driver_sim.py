"""KubectlDriver end to end: the pinned kubectl against the offline cluster, interactive and not.

These show what the unit tests cannot: that kubectl really attaches in our pseudo-terminal after the prompt
hint, that the captured names are the ones the API server holds, and that our argv (quoted `--env` values,
the `--custom` file) reaches the pod spec unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from kdbgtest.base import process, tools
from kdbgtest.debug.kubectl_driver import KubectlDriver
from kdbgtest.scenario import model
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim

POD = """
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  terminationGracePeriodSeconds: 1  # `sleep` as PID 1 ignores SIGTERM: do not wait 30s for it
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"]}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.SimHandle]:
    with testing.sim_cluster(tmp_path_factory, name=f"dbg-{uuid.uuid4().hex[:6]}", nodes=2) as handle:
        yield handle


@pytest.fixture
def namespace(sim: testing.SimHandle) -> Iterator[str]:
    """A namespace holding a running pod `app`; deleted afterwards."""
    name = f"drv-{uuid.uuid4().hex[:8]}"
    kubectl(sim, "create", "namespace", name)
    try:
        process.run([*_base(sim), "apply", "-n", name, "-f", "-"], timeout=30, stdin=POD)
        kubectl(sim, "wait", "-n", name, "--for=condition=Ready", "pod/app", "--timeout=60s")
        yield name
    finally:
        kubectl(sim, "delete", "namespace", name, "--timeout=60s")


def _base(sim: testing.SimHandle) -> list[str]:
    return [str(tools.pinned_kubectl()), f"--kubeconfig={sim.kubeconfig}"]


def kubectl(sim: testing.SimHandle, *args: str) -> str:
    return process.run(_base(sim) + list(args), timeout=90).stdout


def dialogue(*items: dict[str, object]) -> list[model.DialogueItem]:
    return TypeAdapter(list[model.DialogueItem]).validate_python(list(items))


def test_interactive_ephemeral_debug(sim: testing.SimHandle, namespace: str, tmp_path: Path) -> None:
    driver = KubectlDriver(tools.pinned_kubectl(), sim.kubeconfig, None, tmp_path)
    action = model.DebugAction(
        mode="ephemeral",
        pod="app",
        image="busybox:1.36",
        target="app",
        interactive=True,
        env={"TRICKY": "a=b,c", "PLAIN": "1"},
    )
    items = dialogue(
        {"send": "echo attached-$((40+2))"},  # typed right away: the driver waited for the prompt hint
        {"regex": r"^attached-(?P<answer>\d+)$"},
        {"send": "ps"},
        {"regex": r"^\s+1 root\s+sleep 3600$"},  # --target: the app's processes are visible
        {"send": "exit"},
        {"end": True, "exit_code": 0},
    )
    result = driver.debug(action, namespace=namespace, session=items, timeout=60, step_slug="01-attach")
    assert result.exit_code == 0
    generated = result.captures["debug_container"]
    assert result.captures == {"debug_pod": "app", "debug_container": generated, "answer": "42"}
    assert f"may be reattached using 'kubectl attach app -c {generated} -n {namespace} -i -t'" in result.output
    spec = json.loads(kubectl(sim, "get", "pod", "app", "-n", namespace, "-o", "json"))["spec"]
    (container,) = spec["ephemeralContainers"]
    assert container["name"] == generated and container["targetContainerName"] == "app"
    env = sorted(container["env"], key=lambda e: e["name"])  # kubectl keeps --env in a map: any order
    assert env == [{"name": "PLAIN", "value": "1"}, {"name": "TRICKY", "value": "a=b,c"}]
    assert result.transcript is not None and "\x1b[6n" in result.transcript.read_text()  # raw busybox stream


def test_node_debug_and_custom_profile(sim: testing.SimHandle, namespace: str, tmp_path: Path) -> None:
    driver = KubectlDriver(tools.pinned_kubectl(), sim.kubeconfig, None, tmp_path)
    node = json.loads(kubectl(sim, "get", "pod", "app", "-n", namespace, "-o", "json"))["spec"]["nodeName"]
    action = model.DebugAction(mode="node", node=node, image="busybox:1.36", command=["true"])
    result = driver.debug(action, namespace=namespace, session=None, timeout=60, step_slug="02-node")
    assert result.exit_code == 0 and result.transcript is None
    pod = result.captures["debug_pod"]
    assert pod.startswith(f"node-debugger-{node}-") and result.captures["debug_container"] == "debugger"
    assert kubectl(sim, "get", "pod", pod, "-n", namespace, "-o", "name") == f"pod/{pod}\n"

    custom = model.DebugAction(
        mode="ephemeral",
        pod="app",
        image="busybox:1.36",
        container="dbg",
        command=["sleep", "1d"],
        custom={"env": [{"name": "FROM_CUSTOM", "value": "yes"}]},
    )
    result = driver.debug(custom, namespace=namespace, session=None, timeout=60, step_slug="03-custom")
    assert result.exit_code == 0 and result.captures == {"debug_container": "dbg", "debug_pod": "app"}
    spec = json.loads(kubectl(sim, "get", "pod", "app", "-n", namespace, "-o", "json"))["spec"]
    assert spec["ephemeralContainers"][-1]["env"] == [{"name": "FROM_CUSTOM", "value": "yes"}]
