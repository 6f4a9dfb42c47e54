"""Nothing is left behind: many containers come and go cleanly; `remove_all` after a `kill -9` (`sim`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_support import Rt, image_cache, run_to_end, runtime, skip_reason

from kdbgtest.base import waiting
from kdbgtest.sim.node import cleanup, runc

pytestmark = pytest.mark.sim
CHILD = Path(__file__).resolve().parents[2] / "data" / "sim_node_crash_child.py"


def test_twenty_containers_leave_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        rt.images.resolve("busybox:1.36")
        started = time.monotonic()
        for i in range(20):
            code, out, _ = await run_to_end(rt, f"c{i}", ["echo", f"container {i}"])
            assert (code, out) == (0, f"container {i}\n")
        took = time.monotonic() - started
        print(f"\n20 busybox containers run + deleted in {took:.2f}s ({took / 20 * 1000:.0f} ms each)")
        assert await rt.runc.list_ids() == []
        assert cleanup.leaks(rt.state) == []

    runtime(tmp_path_factory, scenario)


def test_remove_all_after_kill_9_of_the_daemon_leaves_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(f"real containers cannot run here: {reason}")
    state = tmp_path_factory.mktemp("crash-state")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    argv = [sys.executable, str(CHILD), str(state), str(image_cache(tmp_path_factory))]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True) as child:
        try:
            assert child.stdout is not None and child.stderr is not None
            line = child.stdout.readline()
            assert line == "READY\n", line + child.stderr.read()
            tag = (state / "runc" / runc.CGROUP_MARKER).read_text().strip()
            before = cleanup.leaks(state)
            assert any("is still mounted" in leak for leak in before), before
            assert sum("is still running" in leak for leak in before) >= 4, before
            assert sum("runc container" in leak for leak in before) == 4, before  # node, pause, app, host-level
        finally:
            child.kill()  # the daemon dies without cleaning up
            child.wait(10)
    removed = cleanup.remove_all(state)
    assert any(r.startswith("killed process") for r in removed) and removed[-1] == f"removed {state}"
    assert cleanup.leaks(state) == [] and not state.exists()
    assert cleanup.remove_all(state) == []  # idempotent
    assert not [m for m in Path("/proc/self/mountinfo").read_text().splitlines() if str(state) in m]
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{tag.lstrip('/')}"))
    waiting.wait_for(
        lambda: (not (left := _processes_mentioning(str(state))), left),
        timeout=10,
        what="every process started for the crashed sim to exit",
    )


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found
