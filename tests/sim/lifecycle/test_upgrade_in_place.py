"""Component versions changed in place on a running sim (`/kdbgtest/v1/components`): real daemon, real kubectl,
real runc containers, real HTTPS. Control plane first, then the kubelet; the pods keep running."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.errors import ClusterError
from kdbgtest.sim import testing, tls
from kdbgtest.sim.testing import SimHandle

pytestmark = pytest.mark.sim
WAIT = 60.0  # seconds for a pod or a node status to get where a test wants it


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHandle]:
    with testing.sim_cluster(
        tmp_path_factory, name="upgrade-in-place", nodes=1, kubernetes_version="1.36", time_scale=0.1
    ) as handle:
        yield handle


def kubectl(kubeconfig: Path, *args: str) -> str:
    argv = [str(tools.pinned_kubectl()), "--kubeconfig", str(kubeconfig), *args]
    return process.run(argv, timeout=60).stdout


def get_json(kubeconfig: Path, *args: str) -> Any:
    return json.loads(kubectl(kubeconfig, "get", *args, "-o", "json"))


def server_minor(kubeconfig: Path) -> str:
    minor: str = json.loads(kubectl(kubeconfig, "version", "-o", "json"))["serverVersion"]["minor"]
    return minor


def kubelet_version(kubeconfig: Path, node: str) -> str:
    found: str = get_json(kubeconfig, "node", node)["status"]["nodeInfo"]["kubeletVersion"]
    return found


def running_container(kubeconfig: Path, pod: str) -> dict[str, Any]:
    """The pod's one container status, once the pod is Running."""

    def probe() -> tuple[bool, Any]:
        found = get_json(kubeconfig, "pod", pod)["status"]
        return found.get("phase") == "Running", found

    seen = waiting.wait_for(probe, timeout=WAIT, what=f"pod {pod} to run", interval=0.2)
    container: dict[str, Any] = seen["containerStatuses"][0]
    return container


def created_events(kubeconfig: Path, pod: str) -> list[str]:
    events = get_json(kubeconfig, "events")["items"]
    return [e["message"] for e in events if e["involvedObject"]["name"] == pod and e["reason"] == "Created"]


def admin_request(sim: SimHandle, method: str, path: str, body: Any = None, *, token: bool = True) -> tuple[int, Any]:
    """A raw HTTPS request to the sim's API server: (HTTP code, JSON body)."""
    creds = tls.read(sim.cluster.paths.tls)
    ready = sim.cluster.paths.read_ready()
    assert ready is not None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {creds.token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ready.server + path, data=data, headers=headers, method=method)
    context = ssl.create_default_context(cadata=creds.ca_pem.decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_control_plane_then_kubelet_upgrade_in_place_keeps_the_pod_running(sim: SimHandle) -> None:
    kubeconfig, node = sim.kubeconfig, sim.config.node_names[0]
    assert sim.cluster.components() == dict.fromkeys(
        ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"), "1.36"
    )
    assert server_minor(kubeconfig) == "36"
    assert kubelet_version(kubeconfig, node) == "v1.36.0"
    kubectl(kubeconfig, "run", "sleeper", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
    before = running_container(kubeconfig, "sleeper")

    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        answer = sim.cluster.set_component_version(component, "1.37")
        assert answer[component] == "1.37"
    assert answer["kubelet"] == "1.36"
    assert server_minor(kubeconfig) == "37"
    assert json.loads(kubectl(kubeconfig, "version", "-o", "json"))["serverVersion"]["gitVersion"] == "v1.37.0"
    assert kubelet_version(kubeconfig, node) == "v1.36.0"

    assert sim.cluster.set_component_version("kubelet", "1.37") == dict.fromkeys(answer, "1.37")
    waiting.wait_for(
        lambda: ((seen := kubelet_version(kubeconfig, node)) == "v1.37.0", seen),
        timeout=WAIT,
        what=f"node {node} to report kubelet v1.37.0",
    )
    after = running_container(kubeconfig, "sleeper")
    assert (after["containerID"], after["restartCount"], after["state"]) == (
        before["containerID"],
        0,
        before["state"],
    )
    assert kubectl(kubeconfig, "exec", "sleeper", "--", "echo", "still here") == "still here\n"


def test_the_kubelet_behaves_as_the_version_it_runs_now(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`Created container NAME` became `Created container: NAME` in 1.32: pods started after the upgrade say so."""
    with testing.sim_cluster(
        tmp_path_factory, name="upgrade-kubelet", nodes=1, kubernetes_version="1.31", time_scale=0.1
    ) as sim:
        kubectl(sim.kubeconfig, "run", "old", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
        running_container(sim.kubeconfig, "old")
        sim.cluster.set_component_version("kubelet", "1.32")
        kubectl(sim.kubeconfig, "run", "new", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
        running_container(sim.kubeconfig, "new")
        assert created_events(sim.kubeconfig, "old") == ["Created container old"]
        assert created_events(sim.kubeconfig, "new") == ["Created container: new"]
        assert server_minor(sim.kubeconfig) == "31"


def test_unknown_component_is_a_404_status_naming_the_four(sim: SimHandle) -> None:
    code, body = admin_request(sim, "PUT", "/kdbgtest/v1/components/etcd", {"version": "1.37"})
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert all(name in body["message"] for name in sim.cluster.components())
    with pytest.raises(ClusterError, match="unknown component 'etcd'"):
        sim.cluster.set_component_version("etcd", "1.37")


@pytest.mark.parametrize("body", [{"version": "1.x"}, {"version": "v1.37"}, {"version": 37}, {}, None])
def test_a_bad_version_is_a_400_status_and_changes_nothing(sim: SimHandle, body: Any) -> None:
    before = sim.cluster.components()
    code, answer = admin_request(sim, "PUT", "/kdbgtest/v1/components/kubelet", body)
    assert (code, answer["kind"], answer["reason"]) == (400, "Status", "BadRequest")
    assert "\n" not in answer["message"]
    assert sim.cluster.components() == before


def test_the_client_reports_the_servers_message_for_a_bad_version(sim: SimHandle) -> None:
    with pytest.raises(ClusterError) as refused:
        sim.cluster.set_component_version("kubelet", "1.x")
    assert "invalid version '1.x' for kubelet: expected a version like 1.36" in str(refused.value)


@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("PUT", "/kubelet")])
def test_the_admin_endpoints_need_the_token(sim: SimHandle, method: str, path: str) -> None:
    before = sim.cluster.components()
    body = {"version": "1.99"} if method == "PUT" else None
    code, answer = admin_request(sim, method, "/kdbgtest/v1/components" + path, body, token=False)
    assert (code, answer["reason"]) == (401, "Unauthorized")
    assert sim.cluster.components() == before
