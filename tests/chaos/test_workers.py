"""`kdbgtest run -n N` as a real process on an offline cluster: its console keeps the given order with each
scenario's lines together, and SIGINT or SIGTERM while three scenarios are stuck in a process wait, a
terminal expectation and a state wait stops the run within seconds (cooperative cancellation, runner/
workers.py), exits 128 + the signal and leaves no namespace, pod or process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import support_runs as support

from kdbgtest.base import waiting
from kdbgtest.runner import namespace
from kdbgtest.scenario import loader

pytestmark = pytest.mark.sim

MARKER = "KDBGTEST_CHAOS_WORKERS_RUN"  # in the environment of the run and of every process it starts
REAL = ["copy-same-node", "ephemeral-auto-named", "ephemeral-named", "node-host-namespaces", "node-leftover-pod"]
# From the signal to the exit: the three stuck scenarios stop and clean up, the barrier awaits their
# namespaces. The old way (an exception raised asynchronously in each thread) waited out the 300 s sleep.
STOP_DEADLINE = 60.0
FIXTURE = "fixtures:\n  - fixture: sleeper\n"
STUCK = {
    "stuck-process": FIXTURE
    + """steps:
  - name: long-exec
    timeout: 600
    kubectl: {args: [exec, app, --, sleep, "300"]}
""",
    "stuck-session": FIXTURE
    + """steps:
  - name: silent-debugger
    timeout: 600
    debug: {mode: ephemeral, pod: app, image: "busybox:1.36", interactive: true}
    session:
      - regex: 'never printed'
        timeout: 600
""",
    "stuck-wait": FIXTURE
    + """steps:
  - name: never-labelled
    assert:
      object: pod/app
      within: 600
      checks:
        - path: metadata.labels.never
          exists: true
""",
    "queued": """steps:
  - name: version
    kubectl: {args: [version, --client]}
""",
}


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Sim]:
    with support.sim(tmp_path_factory.mktemp("workers-sim"), "chaos-workers") as cluster:
        yield cluster


def _args(sim: support.Sim, tmp: Path, *paths: str) -> list[str]:
    return ["run", *paths, "-n", "3", "--cluster", "kubeconfig", "--kubeconfig", str(sim.info.kubeconfig),
            "--artifacts", str(tmp / "artifacts"), "--json", str(tmp / "report.json")]  # fmt: skip


def test_the_console_keeps_the_given_order_and_groups_each_scenario(shared_sim: support.Sim, tmp_path: Path) -> None:
    keyword = " or ".join(REAL)
    proc = support.launch([*_args(shared_sim, tmp_path, str(support.REPO / "scenarios")), "-k", keyword, "-v"],
                          tmp_path)  # fmt: skip
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"{out}\n{err}"
    loaded = {s.name: s for s in loader.load_paths([support.REPO / "scenarios"]).scenarios if s.name in REAL}
    given = list(loaded)
    assert len(given) == len(REAL)
    blocks: list[tuple[str, int]] = []  # (scenario, step lines between its RUN and PASS lines)
    current: str | None = None
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["RUN"]:
            assert current is None, f"{words[1]} started inside {current}'s lines:\n{out}"
            current, steps = words[1], 0
        elif line.startswith(" ") and words[:1] and words[0].startswith("["):
            assert current is not None, f"a step line outside any scenario's lines:\n{out}"
            steps += 1
        elif words[:1] == ["PASS"]:
            assert words[1] == current, f"{words[1]} finished inside {current}'s lines:\n{out}"
            blocks.append((current, steps))
            current = None
    assert blocks == [(name, len(loaded[name].all_steps())) for name in given], out
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["scenario"] for r in report["scenarios"]] == given
    assert support.cluster_leftovers(shared_sim.info.kubeconfig) == []


def _launch_stuck_suite(shared_sim: support.Sim, tmp_path: Path, marker: str) -> subprocess.Popen[str]:
    """The STUCK scenarios as a suite of files, run with three workers; `marker` in the run's environment."""
    suite = tmp_path / "suite"
    suite.mkdir()
    for index, (name, body) in enumerate(STUCK.items()):
        (suite / f"{index}-{name}.yaml").write_text(f"name: {name}\ntimeout: 900\n{body}")
    return support.launch(_args(shared_sim, tmp_path, str(suite)), tmp_path, env={MARKER: marker})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_a_signal_stops_three_stuck_scenarios_within_seconds(
    signum: int, shared_sim: support.Sim, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    proc = _launch_stuck_suite(shared_sim, tmp_path, marker)

    def signal_when_stuck() -> None:
        support.wait_until_handling(proc, {signal.SIGINT, signal.SIGTERM})
        _until_three_stuck(shared_sim, proc)
        os.kill(proc.pid, signum)

    run = support.ended(proc, signal_when_stuck, timeout=300)
    out, err, took = run.out, run.err, run.took
    name = signal.Signals(signum).name
    context = f"{name}: exit {proc.returncode} after {took:.1f}s\n{out}\n{err}"
    print(f"{name}: the run stopped and cleaned up {took:.1f}s after the signal")
    assert proc.returncode == 128 + signum, context
    assert err.strip().splitlines()[-1] == f"kdbgtest: interrupted by {name}; cleaned up", context
    assert took < STOP_DEADLINE, context
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["interrupted"] == name, context
    verdicts = {r["scenario"]: (r["verdict"], r["message"]) for r in report["scenarios"]}
    reason = "Ctrl-C" if signum == signal.SIGINT else name
    stuck = {n: ("error", f"interrupted by {reason}") for n in STUCK if n != "queued"}
    assert verdicts == stuck, context
    assert support.cluster_leftovers(shared_sim.info.kubeconfig) == [], context
    assert support.processes_with_environment(MARKER, marker) == [], context


def test_a_third_signal_cuts_the_workers_cleanup_short(shared_sim: support.Sim, tmp_path: Path) -> None:
    """SIGINT three times in quick succession (the second is announced, the third aborts the cleanup, also in
    the worker threads): the run still exits 130 within seconds, says that its cleanup is incomplete, and
    `kdbgtest clean` removes what it left."""
    marker = uuid.uuid4().hex
    proc = _launch_stuck_suite(shared_sim, tmp_path, marker)

    def three_sigints_when_stuck() -> None:
        support.wait_until_handling(proc, {signal.SIGINT})
        _until_three_stuck(shared_sim, proc)
        for pause in (0.1, 0.1, 0.0):  # all three while the workers clean up (artifacts: several kubectl each)
            os.kill(proc.pid, signal.SIGINT)
            waiting.pause(pause)

    run = support.ended(proc, three_sigints_when_stuck, timeout=300)
    out, err, took = run.out, run.err, run.took
    context = f"exit {proc.returncode} {took:.1f}s after the third SIGINT\n{out}\n{err}"
    print(f"three SIGINTs: exit {proc.returncode} {took:.1f}s after the third")
    assert proc.returncode == 130, context
    assert took < 20.0, context
    lines = err.strip().splitlines()
    assert lines[-1] == "kdbgtest: interrupted by SIGINT; cleanup incomplete; remove what is left with `kdbgtest clean`"
    assert sum("SIGINT received; cleaning up" in line for line in lines) == 1, context  # the second one
    assert support.processes_with_environment(MARKER, marker) == [], context
    clean = support.launch(["clean", "--kubeconfig", str(shared_sim.info.kubeconfig), "--older-than", "0"], tmp_path)
    clean_out, clean_err = clean.communicate(timeout=300)
    assert clean.returncode == 0, clean_out + clean_err

    def nothing_left() -> tuple[bool, list[str]]:
        left = support.cluster_leftovers(shared_sim.info.kubeconfig)
        return not left, left

    waiting.wait_for(nothing_left, timeout=120, what="what the run left to be removed", interval=0.5, describe=str)


def _until_three_stuck(sim: support.Sim, proc: subprocess.Popen[str]) -> None:
    """Until the three stuck scenarios each have their app running (their long step starts right after),
    and a moment more for them to get into it."""

    def probe() -> tuple[bool, str]:
        assert proc.poll() is None, "kdbgtest ended before the signal"
        selector = f"{namespace.MANAGED_BY}=kdbgtest"
        spaces = support.kubectl_json(sim.info.kubeconfig, "get", "namespaces", "-l", selector)
        names = [item["metadata"]["name"] for item in spaces["items"]]
        running = 0
        for ns in names:
            pods = support.kubectl_json(sim.info.kubeconfig, "get", "pods", "-n", ns)["items"]
            running += any(p["status"].get("phase") == "Running" for p in pods)
        return running >= 3, f"namespaces {names}, {running} with a running app"

    waiting.wait_for(probe, timeout=120, what="three scenarios to be under way", interval=0.2, describe=str)
    waiting.pause(3.0)  # into their long steps (a session starts within a second or two on the sim)
