"""A pod's containers start in spec order, each after the previous one has started (the kubelet's SyncPod).

The copy-mode check "the debug container sees the app's processes" failed 2 of 4 times under load while the
sim started a pod's containers all at once. Here the node's runtime is the real one (runc), with the first
container's start held back a moment, as a busy machine does: the second container must not begin starting
before the first has started, and then sees the first one's process.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from node_harness import Harness, busybox, collect, container_status, until

pytestmark = pytest.mark.sim

SLOW_START = 1.0  # seconds the first container's start is held back (a busy machine)


def test_regular_containers_start_in_order_each_after_the_previous_started(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        ctx = h.node._ctx
        assert ctx is not None
        runtime, real_start = ctx.runtime, ctx.runtime.start
        calls: list[str] = []

        async def start(cfg: Any, bundle: Path) -> Any:
            name = "app" if cfg.args == ["sleep", "3601"] else "sidecar"
            calls.append(f"begin {name}")
            if name == "app":
                await asyncio.sleep(SLOW_START)
            try:
                return await real_start(cfg, bundle)
            finally:
                calls.append(f"end {name}")

        runtime.start = start  # type: ignore[method-assign]  # a spy: the real runc start, delayed for "app"
        h.state.create_pod("ordered", {
            "shareProcessNamespace": True,
            "containers": [busybox("app", "sleep", "3601"),
                           busybox("sidecar", "sh", "-c", "ps -o args; exec sleep 3602")],
        })  # fmt: skip
        for name in ("app", "sidecar"):
            await until(lambda n=name: container_status(h.state.pod("ordered"), n).get("state", {}).get("running"),
                        f"{name} running", 30)  # fmt: skip
        assert calls == ["begin app", "end app", "begin sidecar", "end sidecar"]
        log, deadline = "", time.monotonic() + 10  # the sidecar's `ps` has run once its log has a line
        while "sleep 3601" not in log and time.monotonic() < deadline:
            log = (await collect(h.node.logs("default", "ordered", "sidecar"))).decode()
            await asyncio.sleep(0.05)
        assert "sleep 3601" in log, f"the sidecar did not see the app's process; its log: {log!r}"

    run_node(scenario)
