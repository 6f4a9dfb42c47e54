"""Watches, graceful deletion, namespace termination and error texts, as real kubectl sees them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pexpect
from api_harness import ApiServer

from kdbgtest.base import tools
from kdbgtest.base.waiting import wait_for
from kdbgtest.sim.apiserver import store as store_mod


def _apply(api: ApiServer, tmp_path: Path, name: str, namespace: str = "default", containers: str = "") -> None:
    manifest = tmp_path / f"{namespace}-{name}.yaml"
    manifest.write_text(
        textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          terminationGracePeriodSeconds: 5
          containers:
        """)
        + (containers or '  - {name: app, image: busybox, command: ["sleep", "3600"]}\n')
    )
    api.kubectl("apply", "-f", str(manifest))


def _spawn(api: ApiServer, tmp_path: Path, *args: str) -> pexpect.spawn:
    argv = ["--kubeconfig", str(api.kubeconfig), "--cache-dir", str(tmp_path / "cache"), *args]
    return pexpect.spawn(str(tools.pinned_kubectl()), argv, timeout=20, encoding="utf-8")


def test_get_pods_watch_shows_changes(api: ApiServer, tmp_path: Path) -> None:
    _apply(api, tmp_path, "watched")
    child = _spawn(api, tmp_path, "get", "pods", "-w", "--field-selector", "metadata.name=watched")
    try:
        child.expect(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE")
        child.expect(r"watched\s+1/1\s+Running\s+0")
        api.kubectl("delete", "pod", "watched", "--wait=false")
        child.expect(r"watched\s+1/1\s+Terminating\s+0")  # deletionTimestamp set, the node stops it
    finally:
        child.close(force=True)
    api.kubectl("wait", "--for=delete", "pod/watched", "--timeout=20s")


def test_namespace_delete_waits_for_its_pods(api: ApiServer, tmp_path: Path) -> None:
    api.kubectl("create", "namespace", "doomed")
    _apply(api, tmp_path, "p1", "doomed")
    _apply(api, tmp_path, "p2", "doomed")
    api.kubectl("wait", "-n", "doomed", "--for=condition=Ready", "pod/p1", "pod/p2", "--timeout=20s")
    assert api.kubectl("delete", "namespace", "doomed", "--wait").stdout.strip() == 'namespace "doomed" deleted'
    gone = api.kubectl("get", "namespace", "doomed", check=False)
    assert gone.stderr.strip() == 'Error from server (NotFound): namespaces "doomed" not found'
    assert api.call(lambda: api.store.list_objects("pods", "doomed")) == []  # type: ignore[union-attr]
    refused = api.kubectl("delete", "namespace", "default", check=False)
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted'
    )


def test_create_in_missing_namespace_and_duplicates(api: ApiServer, tmp_path: Path) -> None:
    missing = api.kubectl("run", "x", "--image=busybox", "-n", "nowhere", check=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): namespaces "nowhere" not found'
    api.kubectl("run", "dup", "--image=busybox", "--command", "--", "sleep", "3600")
    again = api.kubectl("run", "dup", "--image=busybox", check=False)
    assert again.stderr.strip() == 'Error from server (AlreadyExists): pods "dup" already exists'
    invalid = api.kubectl("create", "namespace", "Bad_Name", check=False)
    assert invalid.stderr.startswith(
        'The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: '
        '"Bad_Name": a lowercase RFC 1123 label must consist of'
    )


def test_log_and_stream_errors_keep_the_servers_words(api: ApiServer, tmp_path: Path) -> None:
    containers = (
        '  - {name: a, image: busybox, command: ["sh", "-c", "echo A; sleep 3600"]}\n'
        '  - {name: b, image: busybox, command: ["sleep", "3600"]}\n'
    )
    _apply(api, tmp_path, "two", containers=containers)
    api.kubectl("wait", "--for=condition=Ready", "pod/two", "--timeout=20s")
    raw = api.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/two/log", check=False)
    assert raw.stderr.strip() == (
        "Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]"
    )
    assert api.kubectl("logs", "two", "-c", "a").stdout == "A\n"
    previous = api.kubectl("logs", "two", "-c", "a", "--previous", check=False)
    assert previous.stderr.strip() == (
        'Error from server (BadRequest): previous terminated container "a" in pod "two" not found'
    )
    spdy = api.kubectl(
        "exec",
        "two",
        "-c",
        "a",
        "--",
        "true",
        check=False,
        env={"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"},
    )
    assert spdy.returncode == 1
    assert "streams exec and attach over WebSockets only" in spdy.stderr


def test_duplicate_ephemeral_container_name_is_invalid(api: ApiServer, tmp_path: Path) -> None:
    _apply(api, tmp_path, "dupec")
    result = api.kubectl("debug", "dupec", "--image=busybox", "-c", "app", "--", "true", check=False)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == 'The Pod "dupec" is invalid: spec.ephemeralContainers[0].name: Duplicate value: "app"'
    )


def test_watch_from_compacted_resource_version_is_gone(api: ApiServer) -> None:
    def churn() -> str:
        assert api.store is not None
        pod = {"metadata": {"name": "churn", "namespace": "default", "uid": "u1"}}
        for i in range(store_mod.HISTORY + 10):
            api.store.record_event(pod, "Churn", f"event {i}")
        return api.store.resource_version

    churn()
    result = api.kubectl(
        "get", "--raw", "/api/v1/namespaces/default/events?watch=true&resourceVersion=2&timeoutSeconds=1"
    )
    assert '"type":"ERROR"' in result.stdout and '"code":410' in result.stdout
    assert "too old resource version: 2" in result.stdout


def test_interrupted_exec_detaches_from_the_process(api: ApiServer, tmp_path: Path) -> None:
    _apply(api, tmp_path, "intr")
    api.kubectl("wait", "--for=condition=Ready", "pod/intr", "--timeout=20s")
    child = _spawn(api, tmp_path, "exec", "intr", "--", "sh", "-c", "echo started; sleep 600")
    try:
        child.expect("started")
        child.sendintr()  # Ctrl-C: kubectl exits and drops the WebSocket
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)

    def sleeper_alive() -> bool:
        procs = [p for node in api.nodes.values() for p in node.execs if "sleep 600" in " ".join(p.command)]
        return any(p.process is not None and p.process.returncode is None for p in procs)

    wait_for(lambda: (not (alive := api.call(sleeper_alive)), alive), timeout=10, what="the exec to be stopped")


def test_abandoned_log_follow_is_released(api: ApiServer, tmp_path: Path) -> None:
    _apply(api, tmp_path, "quiet")
    api.kubectl("wait", "--for=condition=Ready", "pod/quiet", "--timeout=20s")

    def followers() -> int:
        return sum(len(p.listeners) for n in api.nodes.values() for k, p in n.procs.items() if k[1] == "quiet")

    child = _spawn(api, tmp_path, "logs", "-f", "quiet")
    try:
        wait_for(lambda: ((n := api.call(followers)) == 1, n), timeout=10, what="one follower of the log")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    wait_for(lambda: ((n := api.call(followers)) == 0, n), timeout=10, what="no follower left")
