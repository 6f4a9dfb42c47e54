"""Timings of the offline cluster against its targets. As root: `python benchmarks/bench_sim.py [--runs N]`.

1. `sim up` until the API answers (target < 2 s), over several runs;
2. a busybox pod from create to phase Running (target < 0.5 s);
3. `kubectl debug -it --target` from spawn to the first shell prompt (target < 1.5 s), through pexpect;
4. 50 pods created, Running, deleted: time, and a leak check (processes, mounts, directories) before/after,
   then `down` and `cleanup.leaks()` empty.

Prints one line per measurement; exits 1 if a target is missed or something leaked.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdbgtest.base import tools, waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.sim import cluster, state, tls
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.node import cleanup

RESULTS: list[tuple[str, float, float]] = []  # (what, seconds, target)
LEAK_DEADLINE = 60.0  # seconds for deleted pods' processes, mounts and directories to go


class Api:
    """Minimal JSON client for the sim's API (the CA and token from its state dir)."""

    def __init__(self, state_dir: Path) -> None:
        paths = state.StateDir(state_dir)
        ready = paths.read_ready()
        assert ready is not None
        creds = tls.read(paths.tls)
        self.server = ready.server
        self.headers = {"Authorization": f"Bearer {creds.token}", "Content-Type": "application/json"}
        self.ctx = ssl.create_default_context(cadata=creds.ca_pem.decode())

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.ctx) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise


def pod(name: str, command: list[str]) -> dict[str, Any]:
    container = {"name": "app", "image": "busybox", "command": command}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container]},
    }


def phase(api: Api, name: str) -> str | None:
    found = api.call("GET", f"/api/v1/namespaces/default/pods/{name}")
    return found.get("status", {}).get("phase") if found else None


def record(what: str, seconds: float, target: float) -> None:
    RESULTS.append((what, seconds, target))
    verdict = "ok" if seconds < target else "MISSED"
    print(f"{what:<48} {seconds:7.3f} s   (target < {target:g} s) {verdict}", flush=True)


def timed(action: Callable[[], Any]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def bench_up(root: Path, runs: int) -> None:
    times = []
    for i in range(runs):
        sim = cluster.SimCluster(SimConfig(name=f"bench-up{i}", state_dir=root / f"up{i}"))
        try:
            times.append(timed(sim.up))
        finally:
            sim.down()
    record(f"sim up until ready (median of {runs})", statistics.median(times), 2.0)
    print(f"  runs: {', '.join(f'{t:.3f}' for t in times)}")


def running(api: Api, name: str) -> Callable[[], tuple[bool, str | None]]:
    def probe() -> tuple[bool, str | None]:
        seen = phase(api, name)
        return seen == "Running", seen

    return probe


def bench_pod_running(api: Api) -> None:
    times = []
    for i in range(3):
        name = f"bench-run{i}"
        started = time.monotonic()
        api.call("POST", "/api/v1/namespaces/default/pods", pod(name, ["sleep", "3600"]))
        waiting.wait_for(
            running(api, name),
            timeout=30,
            what=f"{name} Running",
            interval=0.005,
        )
        times.append(time.monotonic() - started)
    record("busybox pod create -> Running (median of 3)", statistics.median(times), 0.5)
    print(f"  runs: {', '.join(f'{t:.3f}' for t in times)}")


def bench_debug_prompt(kubeconfig: Path, home: Path) -> None:
    kubectl = str(tools.pinned_kubectl())
    env = {**os.environ, "HOME": str(home)}
    argv = ["--kubeconfig", str(kubeconfig), "debug", "bench-run0", "-it", "--image=busybox", "--target=app"]
    started = time.monotonic()
    child = pexpect.spawn(kubectl, argv, env=env, timeout=15, encoding="utf-8", dimensions=(24, 80))
    try:
        if child.expect([r"/ # ", "try pressing enter"]) == 1:
            child.send("\r")
            child.expect(r"/ # ")
        seconds = time.monotonic() - started
        child.send("exit\r")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    record("kubectl debug -it to first prompt", seconds, 1.5)


def footprint(root: Path, daemon_pid: int) -> tuple[int, int, int]:
    """(descendant processes of the daemon, mounts under the state dir, directories under it)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and state.start_time(int(entry.name)):
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree: set[int] = set()
    frontier = {daemon_pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
        tree |= frontier
    mounts = sum(str(root) + "/" in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
    dirs = sum(len(subdirs) for _, subdirs, _ in os.walk(root))  # os.walk skips what vanishes meanwhile
    return len(tree), mounts, dirs


def bench_fifty(api: Api, root: Path, daemon_pid: int) -> bool:
    """50 pods Running, then deleted (grace 0); True if the node's footprint returns to what it was."""
    before = footprint(root, daemon_pid)
    names = [f"bench-many{i}" for i in range(50)]
    started = time.monotonic()
    for name in names:
        api.call("POST", "/api/v1/namespaces/default/pods", pod(name, ["sleep", "3600"]))
    waiting.wait_for(
        lambda: (all(phase(api, n) == "Running" for n in names), None),
        timeout=120,
        what="50 pods Running",
        interval=0.1,
    )
    record("50 pods create -> all Running", time.monotonic() - started, 30.0)
    started = time.monotonic()
    for name in names:
        api.call("DELETE", f"/api/v1/namespaces/default/pods/{name}", {"gracePeriodSeconds": 0})
    waiting.wait_for(
        lambda: (all(phase(api, n) is None for n in names), None),
        timeout=120,
        what="50 pods gone from the API",
        interval=0.1,
    )
    record("50 pods delete (grace 0) -> gone from the API", time.monotonic() - started, 30.0)
    try:
        waiting.wait_for(
            lambda: ((seen := footprint(root, daemon_pid)) == before, seen),
            timeout=LEAK_DEADLINE,
            what="processes, mounts and directories back to the count before the 50 pods",
            interval=0.2,
        )
    except StepTimeout as exc:
        print(f"  LEAK: {exc} (before: {before})")
        return False
    record("50 pods delete -> processes/mounts/dirs all gone", time.monotonic() - started, LEAK_DEADLINE)
    print(f"  footprint (processes, mounts, dirs) before and after: {before}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="sim up runs (default 5)")
    args = parser.parse_args()
    reason = cluster.unavailable_reason()
    if reason:
        print(f"cannot benchmark the sim here: {reason}", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="kdbg-bench-") as tmp:
        root = Path(tmp)
        bench_up(root, args.runs)
        config = SimConfig(name="bench", state_dir=root / "main")
        sim = cluster.SimCluster(config)
        kubeconfig = sim.up()
        try:
            api = Api(config.state_path)
            bench_pod_running(api)
            home = root / "home"
            home.mkdir()
            bench_debug_prompt(kubeconfig, home)
            ready = state.StateDir(config.state_path).read_ready()
            assert ready is not None
            clean = bench_fifty(api, config.state_path, ready.pid)
        finally:
            started = time.monotonic()
            leftovers = sim.down()
            print(f"down took {time.monotonic() - started:.3f} s")
        leaks = cleanup.leaks(config.state_path)
        print(f"left by the stopped daemon: {len(leftovers)} {leftovers[:5]}")
        print(f"leaks() after down: {leaks or 'none'}")
    missed = [what for what, seconds, target in RESULTS if seconds >= target]
    return 1 if missed or leaks or leftovers or not clean else 0


if __name__ == "__main__":
    sys.exit(main())
