"""Kubernetes behaviour the harness relies on, checked on the offline sim AND on the real local cluster.

One test module, a `backend` fixture parametrised by cluster: where the sim and a real kube-apiserver, kubelet
and containerd disagree, the real one is right and the sim's case fails. Everything goes through the pinned
kubectl or the kubernetes Python client, as the harness itself does. The local backend needs its binaries
(`kdbgtest local build`); without them its cases are skipped with that reason (CI builds them and sets
KDBGTEST_REQUIRE_LOCAL=1, which turns the skip into a failure).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.process import Completed

POD_TIMEOUT = 120


@dataclass
class Backend:
    """A running cluster and a namespace of this module's own on it."""

    name: str
    kubeconfig: Path
    namespace: str

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 90) -> Completed:
        argv = [str(tools.require("kubectl")), "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args]
        return process.run(argv, timeout=timeout, check=check, stdin=stdin)

    def create(self, manifest: dict[str, Any], check: bool = True) -> Completed:
        return self.kubectl("create", "-f", "-", stdin=json.dumps(manifest), check=check)

    def pod(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.kubectl("get", "pod", name, "-o", "json").stdout)
        return result


def _sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from kdbgtest.sim import testing

    # at the local real cluster's minor (clusters/local/v1.37.2), so version-dependent answers compare too
    with testing.sim_cluster(tmp_path_factory, nodes=1, time_scale=0.1, kubernetes_version="1.37") as handle:
        yield handle.kubeconfig


def _local() -> Iterator[Path]:
    from kdbgtest.local import build, cluster, pins

    if os.geteuid() != 0 or not build.is_built(pins.load()):
        reason = "the local cluster is not built (run `kdbgtest local build`)"
        if os.environ.get("KDBGTEST_REQUIRE_LOCAL") == "1":
            pytest.fail(f"KDBGTEST_REQUIRE_LOCAL=1 but {reason}")
        pytest.skip(reason)
    local = cluster.LocalCluster()
    if local.state() == "running":
        yield local.where.kubeconfig  # someone's `kdbgtest local up`: use it, leave it running
        return
    kubeconfig = local.up()
    try:
        yield kubeconfig
    finally:
        local.down()


@pytest.fixture(scope="module", params=["sim", "local"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    clusters = _sim(tmp_path_factory) if request.param == "sim" else _local()
    kubeconfig = next(clusters)
    namespace = f"contract-{secrets.token_hex(3)}"
    found = Backend(request.param, kubeconfig, namespace)
    process.run(
        [str(tools.require("kubectl")), "--kubeconfig", str(kubeconfig), "create", "namespace", namespace], timeout=60
    )
    _wait_for_service_account(found)
    try:
        yield found
    finally:
        found.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        next(clusters, None)


def _wait_for_service_account(found: Backend) -> None:
    """A real cluster refuses pods until the namespace's default service account exists (the sim has none)."""
    resources = json.loads(found.kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    if not any(r["name"] == "serviceaccounts" for r in resources):
        return
    waiting.wait_for(
        lambda: (found.kubectl("get", "serviceaccount", "default", check=False).returncode == 0, None),
        timeout=60,
        what="the namespace's default service account",
        interval=0.5,
    )


def sleeper(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
            **spec,
        },
    }


@pytest.fixture(scope="module")
def running_pod(backend: Backend) -> str:
    backend.create(sleeper("app"))
    backend.kubectl("wait", "--for=condition=Ready", "pod/app", f"--timeout={POD_TIMEOUT}s", timeout=POD_TIMEOUT + 30)
    return "app"


# ---- validation ------------------------------------------------------------------------------------------


def test_invalid_pod_name_is_refused_with_the_api_servers_words(backend: Backend) -> None:
    done = backend.create(sleeper("Bad_Name"), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'The Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain '
        "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )


def test_pod_without_containers_is_refused(backend: Backend) -> None:
    manifest = sleeper("empty")
    manifest["spec"]["containers"] = []
    done = backend.create(manifest, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == 'The Pod "empty" is invalid: spec.containers: Required value'


# ---- the ephemeralcontainers subresource -----------------------------------------------------------------


def test_debug_adds_an_ephemeral_container_targeting_the_app(backend: Backend, running_pod: str) -> None:
    before = backend.pod(running_pod)["metadata"].get("generation")
    done = backend.kubectl(
        "debug", running_pod, "--image=busybox:1.36", "-c", "dbg1", "--target=app", "--", "sleep", "3600"
    )
    assert done.stdout.strip() == (
        'Targeting container "app". If you don\'t see processes from this container it may be because the '
        "container runtime doesn't support this feature."
    )
    pod = backend.pod(running_pod)
    (added,) = [c for c in pod["spec"]["ephemeralContainers"] if c["name"] == "dbg1"]
    assert added["targetContainerName"] == "app"
    assert added["image"] == "busybox:1.36"
    assert pod["metadata"]["generation"] == before + 1

    def running() -> tuple[bool, Any]:
        statuses = backend.pod(running_pod)["status"].get("ephemeralContainerStatuses") or []
        state = next((s["state"] for s in statuses if s["name"] == "dbg1"), {})
        return "running" in state, state

    waiting.wait_for(running, timeout=POD_TIMEOUT, what="the ephemeral container to run", interval=0.5)
    said = backend.kubectl(
        "exec", running_pod, "-c", "dbg1", "--", "sh", "-c", "ps -o args | grep -c '^sleep 3600'"
    ).stdout
    assert said.strip() == "2"  # --target: the debugger sees the app's sleep as well as its own


def test_reusing_an_ephemeral_container_name_is_refused(backend: Backend, running_pod: str) -> None:
    backend.kubectl("debug", running_pod, "--image=busybox:1.36", "-c", "dbg2", "--", "sleep", "3600")
    again = backend.kubectl("debug", running_pod, "--image=busybox:1.37", "-c", "dbg2", "--", "sleep", "1", check=False)
    assert again.returncode == 1
    # The first line is the API server's; the diff below it differs in format (the sim's is cmp-style, the real
    # API server's a unified diff of the internal struct as JSON), so it is not compared.
    assert again.stderr.splitlines()[0] == (
        'The Pod "app" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg2" may '
        "not be changed"
    )
    assert "SYS_PTRACE" in again.stderr  # both name the field that would change


def test_ephemeral_containers_cannot_be_removed(backend: Backend, running_pod: str) -> None:
    backend.kubectl("debug", running_pod, "--image=busybox:1.36", "-c", "dbg3", "--", "sleep", "3600")
    pod = backend.pod(running_pod)
    pod["spec"]["ephemeralContainers"] = []
    del pod["metadata"]["resourceVersion"]  # unconditional: the kubelet may have updated the status meanwhile
    done = backend.kubectl(
        "replace", "--subresource=ephemeralcontainers", "-f", "-", stdin=json.dumps(pod), check=False
    )
    assert done.returncode == 1
    assert "may not be removed" in done.stderr, done.stderr


# ---- exec and logs ---------------------------------------------------------------------------------------


def test_exec_passes_the_exit_code_through(backend: Backend, running_pod: str) -> None:
    done = backend.kubectl(
        "exec", running_pod, "-c", "app", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False
    )
    assert (done.returncode, done.stdout, done.stderr.splitlines()[0]) == (3, "out\n", "err")
    assert done.stderr.splitlines()[1:] == ["command terminated with exit code 3"]


def test_exec_of_a_missing_binary_fails_like_containerd(backend: Backend, running_pod: str) -> None:
    done = backend.kubectl("exec", running_pod, "-c", "app", "--", "no-such-tool", check=False)
    assert done.returncode != 0
    assert re.search(r'exec: "no-such-tool": executable file not found in \$PATH', done.stderr), done.stderr


def test_previous_logs_of_a_container_that_never_restarted(backend: Backend, running_pod: str) -> None:
    done = backend.kubectl("logs", running_pod, "-c", "app", "--previous", check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f'Error from server (BadRequest): previous terminated container "app" in pod "{running_pod}" not found'
    )


# ---- watches ---------------------------------------------------------------------------------------------


def test_watch_list_sends_the_initial_events_then_a_bookmark(backend: Backend, running_pod: str) -> None:
    path = (
        f"/api/v1/namespaces/{backend.namespace}/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&timeoutSeconds=3"
    )
    events = [json.loads(line) for line in backend.kubectl("get", "--raw", path).stdout.splitlines() if line]
    types = [event["type"] for event in events]
    assert "ADDED" in types and "BOOKMARK" in types
    bookmark = events[types.index("BOOKMARK")]
    assert types.index("BOOKMARK") > max(i for i, t in enumerate(types) if t == "ADDED")
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_attach_carries_stdin_to_the_container_and_its_answer_back(backend: Backend) -> None:
    manifest = sleeper("reader")
    manifest["spec"]["restartPolicy"] = "Never"
    manifest["spec"]["containers"][0].update(
        command=["sh", "-c", "read line; echo got=$line"], stdin=True, stdinOnce=True
    )
    backend.create(manifest)
    backend.kubectl(
        "wait", "--for=condition=Ready", "pod/reader", f"--timeout={POD_TIMEOUT}s", timeout=POD_TIMEOUT + 30
    )
    done = backend.kubectl("attach", "-i", "reader", "-c", "app", stdin="hello\n", check=False)
    # it once came back empty after 0.14 s under load and never again in 25 loaded repeats: say all there is
    assert "got=hello" in done.stdout, (
        f"exit {done.returncode} after {done.duration:.2f}s; stdout {done.stdout!r}; stderr {done.stderr!r}; "
        f"pod status {json.dumps(backend.pod('reader').get('status'))}"
    )
    backend.kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/reader", "--timeout=60s", timeout=90)


def test_a_tty_container_starts_at_0x0_and_logs_without_carriage_returns(backend: Backend) -> None:
    """Before any attach a container's tty has no size (busybox's `stty -a` then names no rows or columns), and
    the log keeps none of the tty's "\\r\\n" line ends (both found when htop missed its first frame on the sim)."""
    manifest = sleeper("tty")
    manifest["spec"]["containers"][0].update(
        command=["sh", "-c", "stty -a 2>/dev/null | head -n 1; echo done; sleep 3600"], tty=True, stdin=True
    )
    backend.create(manifest)

    def logged() -> tuple[bool, str]:
        done = backend.kubectl("logs", "tty", check=False)
        return "done" in done.stdout, done.stdout or done.stderr

    text = waiting.wait_for(logged, timeout=POD_TIMEOUT, what="the tty container's log", interval=0.5)
    assert text == "speed 38400 baud; line = 0;\ndone\n"


def test_an_imported_image_runs_with_pull_policy_never(backend: Backend) -> None:
    """The toolbox image is on the node before any pull (imported into containerd; the sim's built archive)."""
    from kdbgtest.imagebuild import build, recipes

    if not build.archive_path(recipes.RECIPES["toolbox"]).is_file():
        pytest.skip("the toolbox archive is not built here; run `kdbgtest images build toolbox` (./dev does)")
    manifest = sleeper("imported")
    manifest["spec"]["containers"][0].update(image="kdbgtest/debug-toolbox:1", imagePullPolicy="Never")
    backend.create(manifest)
    backend.kubectl(
        "wait", "--for=condition=Ready", "pod/imported", f"--timeout={POD_TIMEOUT}s", timeout=POD_TIMEOUT + 30
    )
    events = json.loads(
        backend.kubectl("get", "events", "--field-selector", "involvedObject.name=imported", "-o", "json").stdout
    )
    pulled = [e["message"] for e in events["items"] if e["reason"] == "Pulled"]
    assert pulled and pulled[0].startswith('Container image "kdbgtest/debug-toolbox:1" already present on machine')
