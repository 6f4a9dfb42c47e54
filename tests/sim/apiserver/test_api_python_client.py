"""The API server driven by the kubernetes Python client: list, ephemeral containers, exec streams."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from api_harness import ApiServer
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from kdbgtest.sim.config import SimConfig


@pytest.fixture(scope="module")
def core(api: ApiServer) -> Iterator[Any]:
    api_client = config.new_client_from_config(config_file=str(api.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}]},
    }


def _wait_running(core: Any, name: str) -> None:
    events = watch.Watch().stream(
        core.list_namespaced_pod, "default", field_selector=f"metadata.name={name}", timeout_seconds=20
    )
    with contextlib.closing(events):  # closing the generator releases its HTTP connection
        for event in events:
            statuses = event["object"].status.container_statuses or []
            if statuses and statuses[0].state.running is not None:
                return
    raise AssertionError(f"pod {name} never reported a running container")


def test_list_with_label_selector(core: Any) -> None:
    core.create_namespaced_pod("default", _pod("py-a", {"tier": "front"}))
    core.create_namespaced_pod("default", _pod("py-b", {"tier": "back"}))
    pods = core.list_namespaced_pod("default", label_selector="tier=front")
    assert [p.metadata.name for p in pods.items] == ["py-a"]
    assert int(pods.metadata.resource_version) > 0
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_pod("default", _pod("py-a", {}))
    assert exists.value.status == 409


def test_patch_ephemeral_containers_and_duplicate_rejected(core: Any) -> None:
    core.create_namespaced_pod("default", _pod("py-ec", {}))
    ec = {"name": "dbg", "image": "busybox", "command": ["sleep", "3600"], "targetContainerName": "app"}
    patched = core.patch_namespaced_pod_ephemeralcontainers("py-ec", "default", {"spec": {"ephemeralContainers": [ec]}})
    assert [c.name for c in patched.spec.ephemeral_containers] == ["dbg"]
    assert patched.metadata.generation == 2
    read = core.read_namespaced_pod_ephemeralcontainers("py-ec", "default")
    assert read.spec.ephemeral_containers[0].target_container_name == "app"
    clash = {"name": "app", "image": "busybox"}
    with pytest.raises(ApiException) as invalid:
        core.patch_namespaced_pod_ephemeralcontainers("py-ec", "default", {"spec": {"ephemeralContainers": [clash]}})
    assert invalid.value.status == 422
    body = json.loads(invalid.value.body)
    assert body["reason"] == "Invalid"
    assert body["message"] == 'Pod "py-ec" is invalid: spec.ephemeralContainers[1].name: Duplicate value: "app"'


def _exec(core: Any, name: str, command: list[str], *, stdin: bool) -> Any:
    """An exec WebSocket client (not preloaded: the preloading helper never closes its socket)."""
    return stream(
        core.connect_get_namespaced_pod_exec,
        name,
        "default",
        command=command,
        stderr=True,
        stdin=stdin,
        stdout=True,
        tty=False,
        _preload_content=False,
    )


def _close(resp: Any) -> None:
    resp.close()
    resp.sock.shutdown()  # websocket-client skips closing the socket when the server closed first


def test_exec_stream_separates_stdout_and_stderr(core: Any) -> None:
    core.create_namespaced_pod("default", _pod("py-exec", {}))
    _wait_running(core, "py-exec")
    resp = _exec(core, "py-exec", ["sh", "-c", "echo from-exec; echo to-stderr >&2"], stdin=False)
    try:
        resp.run_forever(timeout=10)
        assert resp.read_stdout() == "from-exec\n"
        assert resp.read_stderr() == "to-stderr\n"
        assert resp.returncode == 0
    finally:
        _close(resp)


def test_exec_stream_stdin_close_and_exit_code(core: Any) -> None:
    resp = _exec(core, "py-exec", ["sh", "-c", "cat; exit 7"], stdin=True)
    try:
        resp.write_stdin("piped-through\n")
        resp.close_channel(0)  # v5 CLOSE frame [255, 0]: cat sees EOF
        resp.run_forever(timeout=10)
        assert resp.read_stdout() == "piped-through\n"
        assert resp.returncode == 7
    finally:
        _close(resp)


def test_status_subresource_changes_only_status(core: Any) -> None:
    core.create_namespaced_pod("default", _pod("py-status", {}))
    patched = core.patch_namespaced_pod_status(
        "py-status", "default", {"status": {"message": "set by test"}, "spec": {"activeDeadlineSeconds": 5}}
    )
    assert patched.status.message == "set by test"
    assert patched.spec.active_deadline_seconds is None  # spec changes are dropped on pods/status
    assert patched.metadata.generation == 1


def test_shutdown_ends_open_exec_sessions(test_tls: Any, tmp_path: Any) -> None:
    server = ApiServer(SimConfig(name="short"), test_tls, tmp_path).start()
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    try:
        core = client.CoreV1Api(api_client)
        core.create_namespaced_pod("default", _pod("long", {}))
        _wait_running(core, "long")
        resp = _exec(core, "long", ["sleep", "600"], stdin=False)
        reader = threading.Thread(target=resp.run_forever, kwargs={"timeout": 20})
        reader.start()  # a client that keeps reading, as kubectl does, answers the close handshake
        started = time.monotonic()
        server.stop_http()  # the API server goes away while `sleep 600` still runs on the node
        reader.join(timeout=20)
        assert time.monotonic() - started < 5  # not aiohttp's 60 s shutdown timeout
        assert not resp.is_open()
        _close(resp)
    finally:
        api_client.close()
        server.stop()


def test_watch_reports_selector_transitions(core: Any) -> None:
    core.create_namespaced_pod("default", _pod("py-sel", {"team": "blue"}))
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.patch_namespaced_pod("py-sel", "default", {"metadata": {"labels": {"team": "red"}}})
    core.patch_namespaced_pod("py-sel", "default", {"metadata": {"labels": {"team": "blue"}}})
    events = watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        label_selector="team=blue",
        resource_version=start,
        timeout_seconds=2,
    )
    with contextlib.closing(events):
        seen = [(e["type"], e["object"].metadata.labels["team"]) for e in events]
    # leaving the selector reads as DELETED, entering it again as ADDED; scheduling and status updates
    # of the matching pod are MODIFIED events around them
    assert [e for e in seen if e[0] != "MODIFIED"] == [("DELETED", "red"), ("ADDED", "blue")]
    assert all(team == "blue" for kind, team in seen if kind == "MODIFIED")
