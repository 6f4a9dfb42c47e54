"""`kubectl debug` against the API server: the ephemeralcontainers subresource, watch-list, attach (TTY)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pexpect
import pytest
from api_harness import ApiServer

from kdbgtest.base import tools
from kdbgtest.sim.config import SimConfig


@pytest.fixture(scope="module")
def target(api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    manifest = tmp_path_factory.mktemp("debug") / "target.yaml"
    manifest.write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: target}
        spec:
          containers:
          - {name: app, image: busybox, command: ["sleep", "3600"]}
        """)
    )
    api.kubectl("apply", "-f", str(manifest))
    api.kubectl("wait", "--for=condition=Ready", "pod/target", "--timeout=20s")
    return "target"


def test_debug_adds_ephemeral_container_and_bumps_generation(api: ApiServer, target: str) -> None:
    out = api.kubectl("debug", target, "--image=busybox", "-c", "dbg", "--target=app", "--", "true").stdout
    assert out.startswith('Targeting container "app".')
    spec = api.kubectl_json("get", "pod", target)
    assert [ec["name"] for ec in spec["spec"]["ephemeralContainers"]] == ["dbg"]
    assert spec["spec"]["ephemeralContainers"][0]["targetContainerName"] == "app"
    assert spec["metadata"]["generation"] == 2


def test_debug_interactive_attaches_over_websocket(api: ApiServer, target: str, tmp_path: Path) -> None:
    argv = [
        "--kubeconfig",
        str(api.kubeconfig),
        "--cache-dir",
        str(tmp_path / "cache"),
        "debug",
        target,
        "-it",
        "--image=busybox",
        "--target=app",
    ]
    child = pexpect.spawn(str(tools.pinned_kubectl()), argv, timeout=20, encoding="utf-8", dimensions=(24, 80))
    try:
        child.expect(r"Defaulting debug container name to (debugger-\w{5})\.")
        name = child.match.group(1)
        child.expect("If you don't see a command prompt, try pressing enter.")
        child.sendline("echo attached-$((40+2))")
        child.expect("attached-42")
        child.sendline("exit")
        child.expect(
            f"Session ended, the ephemeral container will not be restarted but may be reattached using "
            f"'kubectl attach {target} -c {name} -n default -i -t' if it is still running"
        )
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    sizes = [node.procs.get(("default", target, name)) for node in api.nodes.values()]
    assert any(proc is not None and proc.size == (80, 24) for proc in sizes)  # kubectl's resize frames arrived


def test_feature_gate_off_reads_as_disabled(test_tls, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    off = ApiServer(
        SimConfig(name="old", kubernetes_version="1.22", feature_gates={"EphemeralContainers": False}),
        test_tls,
        tmp_path_factory.mktemp("gate-off"),
    ).start()
    try:
        assert "pods/ephemeralcontainers" not in off.kubectl("api-resources", "-o", "name").stdout
        pod = tmp_path_factory.mktemp("gate-off-pod") / "p.yaml"
        pod.write_text(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "  - {name: app, image: busybox, command: [sleep, '3600']}\n"
        )
        off.kubectl("apply", "-f", str(pod))
        result = off.kubectl("debug", "p", "--image=busybox", "--", "true", check=False)
    finally:
        off.stop()
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "error: ephemeral containers are disabled for this cluster (error from "
        'server: "the server could not find the requested resource")'
    )
