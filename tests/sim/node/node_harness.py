"""An in-memory ClusterState (a fake of the API server, the node agent's collaborator) and a node harness.

A module of its own (not conftest.py): test modules import from it by a name no other test folder uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import PodChange

Obj = dict[str, Any]
T = TypeVar("T")
NODE = "kdbg-worker"


@dataclass
class Event:
    pod: str
    reason: str
    message: str
    type: str
    field_path: str = ""


@dataclass
class FakeState:
    """Pods, events and node statuses in dicts; notifications through the event loop, like the store."""

    pods: dict[tuple[str, str], Obj] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    nodes: dict[str, Obj] = field(default_factory=dict)
    configmaps: dict[tuple[str, str], Obj] = field(default_factory=dict)
    history: list[Obj] = field(default_factory=list)  # every pod status written, in order
    finished: list[str] = field(default_factory=list)
    _subs: dict[str, list[Callable[[PodChange], None]]] = field(default_factory=lambda: defaultdict(list))

    # -- ClusterState ---------------------------------------------------------------------------------------
    def pods_on_node(self, node: str) -> list[Obj]:
        return [copy.deepcopy(p) for p in self.pods.values() if p["spec"].get("nodeName") == node]

    def subscribe_pods(self, node: str, callback: Callable[[PodChange], None]) -> None:
        self._subs[node].append(callback)

    def update_pod_status(self, namespace: str, name: str, status: Obj) -> Obj | None:
        pod = self.pods.get((namespace, name))
        if pod is None:
            return None
        pod["status"] = copy.deepcopy(status)
        self.history.append({"name": name, "status": copy.deepcopy(status)})
        self._notify("MODIFIED", pod)
        return copy.deepcopy(pod)

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        pod = self.pods.pop((namespace, name), None)
        if pod is not None:
            self.finished.append(name)
            self._notify("DELETED", pod)

    def record_event(self, involved: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        name = involved["metadata"]["name"] if "metadata" in involved else involved["name"]
        self.events.append(Event(name, reason, message, type_, involved.get("fieldPath", "")))

    def set_node_status(self, name: str, status: Obj) -> None:
        self.nodes[name] = copy.deepcopy(status)

    def find(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.configmaps.get((namespace, name)) if resource == "configmaps" else None

    # -- what the API server would do for clients --------------------------------------------------------
    def create_pod(self, name: str, spec: Obj, namespace: str = "default", node: str = NODE) -> Obj:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, **spec,
                     "nodeName": node},
            "status": {"phase": "Pending"},
        }  # fmt: skip
        self.pods[(namespace, name)] = pod
        self._notify("ADDED", pod)
        return pod

    def add_ephemeral(self, name: str, container: Obj, namespace: str = "default") -> None:
        pod = self.pods[(namespace, name)]
        pod["spec"].setdefault("ephemeralContainers", []).append(container)
        self._notify("MODIFIED", pod)

    def delete_pod(self, name: str, grace: int, namespace: str = "default") -> None:
        pod = self.pods[(namespace, name)]
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:01Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = grace
        self._notify("MODIFIED", pod)

    def pod(self, name: str, namespace: str = "default") -> Obj | None:
        return self.pods.get((namespace, name))

    def reasons(self, name: str) -> list[str]:
        return [e.reason for e in self.events if e.pod == name]

    def _notify(self, type_: str, pod: Obj) -> None:
        node = pod["spec"].get("nodeName")
        loop = asyncio.get_running_loop()
        for callback in self._subs.get(node, []):
            loop.call_soon(callback, PodChange(type_, copy.deepcopy(pod)))


def container_status(pod: Obj | None, name: str) -> Obj:
    """The status of container `name` (any kind) in `pod`, {} if none yet."""
    status = (pod or {}).get("status", {})
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for st in status.get(key) or []:
            if st["name"] == name:
                return dict(st)
    return {}


async def until(probe: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` and the last value on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


@dataclass
class Harness:
    state: FakeState
    node: Any  # agent.Node
    config: SimConfig


def sim_reason() -> str | None:
    """Why real containers cannot run here (not root, a tool missing), or None."""
    if os.geteuid() != 0:
        return "not running as root"
    missing = [tool for tool in ("runc", "busybox", "nsenter", "unshare", "setsid", "gcc") if not shutil.which(tool)]
    return f"missing {', '.join(missing)}" if missing else None


@pytest.fixture
def run_node(tmp_path: Path) -> Callable[..., None]:
    """`run_node(scenario, **config)`: start a node on a FakeState, run `scenario(harness)`, stop it."""
    reason = sim_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")

    def run(scenario: Callable[[Harness], Awaitable[None]], **config: Any) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(_run(scenario, tmp_path, config))
        finally:
            stuck = loop.run_until_complete(_cancel_leftovers())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        if stuck:
            pytest.fail(f"tasks left running after the node stopped did not end within {LEFTOVER_WAIT:g}s of "
                        "being cancelled:\n" + "\n".join(stuck))  # fmt: skip

    return run


# asyncio.run() waits without a deadline for the tasks it cancels at the end; once (1 full run in ~14) a probe
# task left over after the node stopped never ended and the test hung past its timeout. Bounded here, and named.
LEFTOVER_WAIT = 10.0


async def _cancel_leftovers() -> list[str]:
    """Cancel the tasks still running; describe (with their await chains) those not done within LEFTOVER_WAIT."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=LEFTOVER_WAIT)
    for task in pending:
        task._log_destroy_pending = False  # type: ignore[attr-defined]  # reported here, not again at exit
    return [f"{task!r} awaiting {' -> '.join(_await_chain(task))}" for task in pending]


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    chain: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(chain) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        where = f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})" if frame else repr(awaited)
        chain.append(where)
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    return chain


async def _run(scenario: Callable[[Harness], Awaitable[None]], tmp_path: Path, config: Any) -> None:
    from kdbgtest.sim.node import agent, images, runc

    cfg = SimConfig(name="kdbg", state_dir=tmp_path / "state", **config)
    runtime = runc.Runc(cfg.state_path / "runc")
    state = FakeState()
    node = await agent.create_node(NODE, state, cfg, images=images.ImageStore(), runc=runtime)
    try:
        await node.start()
        await scenario(Harness(state, node, cfg))
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(node.stop(), 30)
        await runtime.close()


def busybox(name: str, *command: str, **extra: Any) -> Obj:
    container: Obj = {"name": name, "image": "busybox:1.36", **extra}
    if command:
        container["command"] = list(command)
    return container


def spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    return asyncio.get_running_loop().create_task(coro)
