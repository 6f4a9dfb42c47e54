"""A container that cannot start (an image that cannot be pulled, a configuration the kubelet refuses) fails
the wait at once with the kubelet's reason and message, instead of waiting out the deadline: fixture readiness
and wait steps (the runner), and `kubectl debug -it` through both drivers. A scenario that expects the state
(`for: waiting` with its reason) still passes. Real kubectl on the offline cluster, whose kubelet reports
ErrImagePull / ImagePullBackOff / InvalidImageName / CreateContainerConfigError as a real one does.

Every deadline below is long (45 s); without the fail-fast the verdicts would be `timed out after 45s ...`.
"""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import suite_support as support

from kdbgtest.base import process, tools
from kdbgtest.cluster import base, kubeconfig
from kdbgtest.debug.api_driver import ApiDriver
from kdbgtest.debug.driver import SessionFailed
from kdbgtest.debug.kubectl_driver import KubectlDriver
from kdbgtest.runner import engine, events
from kdbgtest.scenario import loader, model
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim

UNPULLABLE = "registry.kdbgtest.invalid/nothing:1"
POD = """
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: "busybox:1.36", command: [sleep, "3600"]}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.SimHandle]:
    with testing.sim_cluster(tmp_path_factory, name=f"stuck-{uuid.uuid4().hex[:6]}", nodes=1) as handle:
        yield handle


@pytest.fixture(scope="module")
def cluster(sim: testing.SimHandle) -> base.ClusterInfo:
    return kubeconfig.KubeconfigProvider(sim.kubeconfig).acquire()


def run(cluster: base.ClusterInfo, tmp_path: Path, text: str) -> events.ScenarioFinished:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    settings = engine.RunOptions(artifacts=tmp_path / "art")
    return engine.run_one(loader.load_file(path), cluster, settings, [support.Recorder()])


def fixture_pod(image: str, extra: str = "") -> str:
    return f"""
        name: stuck
        fixtures:
          - manifest:
              apiVersion: v1
              kind: Pod
              metadata: {{name: app}}
              spec:
                terminationGracePeriodSeconds: 1
                containers:
                  - {{name: app, image: "{image}", command: [sleep, "3600"]{extra}}}
            wait: {{pod: app, for: running, timeout: 45}}
        steps:
          - name: never-reached
            kubectl: {{args: [get, pods]}}
        """


@pytest.mark.parametrize(
    ("image", "extra", "expected"),
    [
        (UNPULLABLE, "", r"container app: (ErrImagePull|ImagePullBackOff): .*nothing"),
        ("kdbgtest/NotLowercase:1", "", "container app: InvalidImageName: Failed to apply default image tag"),
        (
            "busybox:1.36",
            ", env: [{name: X, valueFrom: {secretKeyRef: {name: absent, key: k}}}]",
            'container app: CreateContainerConfigError: secret "absent" not found',
        ),
    ],
    ids=["unpullable", "invalid-name", "missing-secret"],
)
def test_fixture_that_cannot_start_fails_at_once_with_the_kubelets_reason(
    cluster: base.ClusterInfo, tmp_path: Path, image: str, extra: str, expected: str
) -> None:
    result = run(cluster, tmp_path, fixture_pod(image, extra))
    assert result.verdict in ("failed", "error"), result.message
    assert "timed out" not in result.message, result.message
    assert "pod app: " in result.message and "it will not start without a change" in result.message
    assert_matches(expected, result.message)
    assert "to be running" in result.message, "says what was awaited"


def test_a_wait_that_expects_the_state_still_passes(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    result = run(
        cluster,
        tmp_path,
        f"""
        name: expects-pull-failure
        fixtures:
          - manifest:
              apiVersion: v1
              kind: Pod
              metadata: {{name: app}}
              spec:
                terminationGracePeriodSeconds: 1
                containers: [{{name: app, image: "{UNPULLABLE}"}}]
            wait: false
        steps:
          - name: back-off
            wait: {{pod: app, for: waiting, reason: ImagePullBackOff, timeout: 45}}
        """,
    )
    assert result.verdict == "passed", result.message


def test_a_wait_step_for_a_stuck_debug_container_fails_at_once(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    result = run(
        cluster,
        tmp_path,
        f"""
        name: stuck-debugger
        fixtures:
          - fixture: sleeper
        steps:
          - name: add-debugger
            debug: {{mode: ephemeral, pod: app, image: "{UNPULLABLE}", container: dbg, command: ["true"]}}
          - name: debugger-runs
            wait: {{pod: app, for: container-running, container: dbg, timeout: 45}}
        """,
    )
    assert (result.verdict, result.failed_step) == ("failed", "debugger-runs"), result.message
    assert_matches(r"pod app: container dbg: (ErrImagePull|ImagePullBackOff): ", result.message)


# -- kubectl debug -it, through both drivers -------------------------------------------------------------------


@pytest.fixture
def namespace(sim: testing.SimHandle) -> Iterator[str]:
    """A namespace holding a running pod `app`; deleted afterwards."""
    name = f"stuck-{uuid.uuid4().hex[:8]}"
    base_argv = [str(tools.pinned_kubectl()), f"--kubeconfig={sim.kubeconfig}"]
    process.run([*base_argv, "create", "namespace", name], timeout=60)
    try:
        process.run([*base_argv, "apply", "-n", name, "-f", "-"], timeout=60, stdin=POD)
        process.run([*base_argv, "wait", "-n", name, "--for=condition=Ready", "pod/app", "--timeout=60s"], timeout=90)
        yield name
    finally:
        process.run([*base_argv, "delete", "namespace", name, "--timeout=90s"], timeout=120)


def driver(name: str, sim: testing.SimHandle, out: Path) -> Any:
    kubectl_driver = KubectlDriver(tools.pinned_kubectl(), sim.kubeconfig, None, out)
    return kubectl_driver if name == "kubectl" else ApiDriver(sim.kubeconfig, None, out, kubectl_driver=kubectl_driver)


@pytest.mark.parametrize("driver_name", ["kubectl", "api"])
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"image": UNPULLABLE}, r"pod app: container dbg: (ErrImagePull|ImagePullBackOff): .*nothing"),
        (
            {"image": "busybox:1.36", "profile": "restricted"},
            "pod app: container dbg: CreateContainerConfigError: container has runAsNonRoot and image will run as root",
        ),
    ],
    ids=["unpullable", "refused-config"],
)
def test_interactive_debug_whose_container_cannot_start_fails_at_once(
    sim: testing.SimHandle, namespace: str, tmp_path: Path, driver_name: str, fields: dict[str, str], expected: str
) -> None:
    action = model.DebugAction(mode="ephemeral", pod="app", container="dbg", interactive=True, **fields)
    chosen = driver(driver_name, sim, tmp_path)
    try:
        with pytest.raises(SessionFailed) as failed:
            chosen.debug(action, namespace=namespace, session=None, timeout=45, step_slug="stuck")
    finally:
        if isinstance(chosen, ApiDriver):
            chosen.close()
    message = str(failed.value)
    assert "timed out" not in message, message
    assert_matches(expected, message)
    assert "kubectl would wait for it until its timeout" in message


def test_node_debug_pod_that_cannot_start_is_found_by_the_name_kubectl_printed(
    sim: testing.SimHandle, namespace: str, tmp_path: Path
) -> None:
    nodes = process.run(
        [str(tools.pinned_kubectl()), f"--kubeconfig={sim.kubeconfig}", "get", "nodes", "-o", "name"], timeout=60
    ).stdout.split()
    node = next(n.removeprefix("node/") for n in nodes)
    action = model.DebugAction(mode="node", node=node, image=UNPULLABLE, interactive=True)
    chosen = driver("kubectl", sim, tmp_path)
    with pytest.raises(SessionFailed) as failed:
        chosen.debug(action, namespace=namespace, session=None, timeout=45, step_slug="stuck-node")
    assert_matches(
        rf"pod node-debugger-{node}-\w+: container debugger: (ErrImagePull|ImagePullBackOff): ", str(failed.value)
    )
    assert "Creating debugging pod node-debugger-" in failed.value.result.output


def assert_matches(pattern: str, text: str) -> None:
    assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
