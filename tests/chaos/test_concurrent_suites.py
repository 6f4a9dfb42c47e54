"""Runs that share a cluster do not see each other: three `kdbgtest run` at once on one sim all pass and leave
nothing behind.

The node scenarios are the ones at risk: a node is shared by every run, and what one run plants on it (the
node-issue fixture's directory and runaway process, a sleeper app) another sees from its node-debugger pod
unless each looks only for what carries its own run id. By default the three runs are `scenarios/node/` (what
plants and inspects node state); KDBGTEST_CONCURRENT_SUITE=full runs the whole of `scenarios/` three times (about
two minutes on a busy 2-core machine). Each run has KDBGTEST_CONCURRENT_WORKERS workers (`-n`, default 2, so
scenarios of one run also overlap each other's). Everything goes through the real command line: `kdbgtest sim up`, three
`kdbgtest run --cluster kubeconfig`, `kdbgtest sim down`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.sim import cluster as sim_cluster

pytestmark = [pytest.mark.sim, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
KDBGTEST = Path(sys.executable).with_name("kdbgtest")
KUBECTL = Path(sys.executable).with_name("kubectl")
FULL = os.environ.get("KDBGTEST_CONCURRENT_SUITE") == "full"
SUITE = REPO / "scenarios" if FULL else REPO / "scenarios" / "node"
RUNS = 3
WORKERS = os.environ.get("KDBGTEST_CONCURRENT_WORKERS", "2")
RUN_DEADLINE = 600 if FULL else 240  # seconds for all three runs together, on a busy machine
PLANTED = "var/log/kdbgtest-runaway-*"  # what the node-issue fixture plants in a node's root


def _kdbgtest(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KDBGTEST), *args], capture_output=True, text=True, timeout=timeout, check=False)


@contextlib.contextmanager
def _sim(state: Path) -> Iterator[tuple[str, Path]]:
    """`kdbgtest sim up` on a fresh name and state directory; its kubeconfig; `sim down` afterwards."""
    reason = sim_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    name = f"conc-{uuid.uuid4().hex[:6]}"
    where = ["--name", name, "--state-dir", str(state)]
    up = _kdbgtest("sim", "up", *where, "--time-scale", "0.1")
    try:
        assert up.returncode == 0, up.stderr
        yield name, Path(up.stdout.strip())
    finally:
        down = _kdbgtest("sim", "down", *where)
        assert down.returncode == 0, down.stderr
        assert "leftovers" not in down.stderr, down.stderr  # what shutdown had to remove: a run left it


def _run_concurrently(kubeconfig: Path, out: Path) -> list[tuple[int, str, dict[str, object]]]:
    """`RUNS` runs of the suite at once: (exit code, console output, JSON report) of each."""
    procs = []
    for index in range(RUNS):
        argv = [
            str(KDBGTEST),
            "run",
            str(SUITE),
            "--cluster",
            "kubeconfig",
            "--kubeconfig",
            str(kubeconfig),
            "--json",
            str(out / f"run{index}.json"),
            "--artifacts",
            str(out / f"artifacts{index}"),
            "-n",
            WORKERS,
        ]
        log = (out / f"run{index}.log").open("w")
        procs.append((subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True), log))
    results = []
    try:
        for index, (proc, log) in enumerate(procs):
            code = proc.wait(timeout=RUN_DEADLINE)
            log.close()
            report = json.loads((out / f"run{index}.json").read_text(encoding="utf-8"))
            results.append((code, (out / f"run{index}.log").read_text(encoding="utf-8"), report))
    finally:
        for proc, log in procs:  # a run past the deadline is stopped as Ctrl-C would (it cleans up)
            if proc.poll() is None:
                proc.send_signal(2)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=60)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            log.close()
    return results


def _kubectl_json(kubeconfig: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _left_in_cluster(kubeconfig: Path) -> list[str]:
    namespaces = _kubectl_json(kubeconfig, "get", "namespaces")["items"]
    pods = _kubectl_json(kubeconfig, "get", "pods", "--all-namespaces")["items"]
    assert isinstance(namespaces, list) and isinstance(pods, list)
    left = [f"namespace {n['metadata']['name']}" for n in namespaces if n["metadata"]["name"].startswith("kdbg-")]
    left += [f"pod {p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods]
    return left


def _left_on_nodes(state: Path) -> list[str]:
    """Planted directories in any node's root, and runaway-logger processes in this sim's containers."""
    found = [str(path) for path in state.glob(f"nodes/*/root/{PLANTED}")]
    nodes = f"{state.resolve()}/nodes/"
    for pid in filter(str.isdigit, (p.name for p in Path("/proc").iterdir())):
        with contextlib.suppress(OSError):  # a process that ends while we look
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "runaway-logger" in cmdline and nodes in Path(f"/proc/{pid}/mountinfo").read_text():
                found.append(f"process {pid}: {cmdline.strip()}")
    return found


def test_three_concurrent_runs_on_one_sim_all_pass_and_leave_nothing(tmp_path: Path) -> None:
    state = tmp_path / "sim"
    with _sim(state) as (_name, kubeconfig):
        results = _run_concurrently(kubeconfig, tmp_path)
        for code, console, report in results:
            summary = report["summary"]
            assert isinstance(summary, dict)
            assert code == 0, console[-3000:]
            assert summary["failed"] == 0 and summary["errors"] == 0, console[-3000:]
            assert summary["passed"] >= (20 if FULL else 3), summary
        run_ids = {str(report["run"]["run_id"]) for _, _, report in results}  # type: ignore[index]
        assert len(run_ids) == RUNS
        assert _left_in_cluster(kubeconfig) == []
        assert _left_on_nodes(state) == []
