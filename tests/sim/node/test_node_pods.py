"""The node agent runs real runc containers: statuses, restarts, deletion (`@pytest.mark.sim`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import Harness, busybox, container_status, until

pytestmark = pytest.mark.sim


def test_pod_goes_pending_to_running_with_kubelet_statuses(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        start = time.monotonic()
        h.state.create_pod("web", {"containers": [busybox("app", "sleep", "3600")]})
        await until(
            lambda: container_status(h.state.pod("web"), "app").get("state", {}).get("running"), "running"
        )
        took = time.monotonic() - start
        print(f"\nbusybox pod Running {took * 1000:.0f} ms after create")
        phases = [s["status"]["phase"] for s in h.state.history if s["name"] == "web"]
        assert phases[0] == "Pending" and phases[-1] == "Running"
        first = h.state.history[0]["status"]["containerStatuses"][0]
        assert first["state"] == {"waiting": {"reason": "ContainerCreating"}} and first["ready"] is False
        pod = h.state.pod("web")
        assert pod is not None
        status = pod["status"]
        st = container_status(pod, "app")
        assert (
            st["containerID"].startswith("containerd://")
            and len(st["containerID"]) == len("containerd://") + 64
        )
        assert st["image"] == "docker.io/library/busybox:1.36"
        assert st["imageID"].startswith("docker.io/library/busybox@sha256:")
        assert (st["ready"], st["started"], st["restartCount"], st["lastState"]) == (True, True, 0, {})
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                              "ContainersReady": "True", "PodScheduled": "True"}  # fmt: skip
        assert status["podIP"].startswith("10.244.") and status["hostIP"] == "172.18.0.3"
        assert status["qosClass"] == "BestEffort" and status["startTime"].endswith("Z")
        assert h.state.reasons("web")[:4] == ["Pulling", "Pulled", "Created", "Started"]
        node = h.state.nodes["kdbg-worker"]
        ready = next(c for c in node["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
        assert node["nodeInfo"]["kubeletVersion"] == "v1.34.0"

    run_node(scenario)
