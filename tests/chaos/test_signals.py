"""SIGINT, SIGTERM and SIGHUP at seeded random moments to real `kdbgtest run` processes on an offline cluster:
each run exits 128 + the signal with one line saying so (or had already finished), and nothing of it is left:
no kdbgtest namespace, no pod (fixtures, copies, node debuggers), no process it started (kubectl, a throwaway
sim's daemon), no throwaway sim state directory.

The moment is drawn uniformly from [0, WINDOW] seconds after kdbgtest handles signals (before that, Python and
kdbgtest's imports are still starting and nothing of the run exists). Runs use four scenarios (copy, ephemeral,
interactive node, node-debugger pod left by kubectl), so the signal lands in setup, in steps, in interactive
sessions, in cleanup and between scenarios; every fifth run starts its own throwaway sim (`--cluster sim`), so
some land while that cluster starts or stops.

    KDBGTEST_CHAOS_SIGNAL_RUNS=30 KDBGTEST_CHAOS_SEED=7 ./dev tests tests/chaos/test_signals.py

Knobs: KDBGTEST_CHAOS_SIGNAL_RUNS (default 6: a few minutes in CI), KDBGTEST_CHAOS_SEED (default 13; run i
uses seed "SEED-i", shown in the test id), KDBGTEST_CHAOS_SIGNAL_WINDOW (seconds, default 4:
the four scenarios take about that long on the shared sim; with 12, 20 of 30 signals came after the run ended),
KDBGTEST_CHAOS_LOG (a file that gets one line per run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import support_runs as support

from kdbgtest.sim.config import STATE_ROOT_ENV

pytestmark = pytest.mark.sim

RUNS = int(os.environ.get("KDBGTEST_CHAOS_SIGNAL_RUNS", "6"))
SEED = os.environ.get("KDBGTEST_CHAOS_SEED", "13")
WINDOW = float(os.environ.get("KDBGTEST_CHAOS_SIGNAL_WINDOW", "4"))
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SCENARIOS = "copy-same-node or ephemeral-auto-named or node-host-namespaces or node-leftover-pod"
EXIT_DEADLINE = 180.0  # a run's cleanup waits up to 120 s for a namespace; anything beyond is a hang
MARKER = "KDBGTEST_CHAOS_RUN"  # in the environment of the run and of every process it starts


@dataclass(frozen=True)
class Plan:
    seed: str
    signum: int
    delay: float
    throwaway: bool

    @classmethod
    def of(cls, index: int) -> Plan:
        rng = random.Random(f"{SEED}-{index}")
        return cls(f"{SEED}-{index}", rng.choice(SIGNALS), rng.uniform(0.0, WINDOW), index % 5 == 4)


@pytest.fixture
def state_root(tmp_path: Path) -> Path:
    """A sim state root of this run's own ($KDBGTEST_SIM_STATE_ROOT for the kdbgtest it starts): a throwaway
    sim it left behind shows here, and other suites' sims on this machine (under the default root) do not."""
    root = tmp_path / "sims"
    root.mkdir(mode=0o700)
    return root


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Sim]:
    with support.sim(tmp_path_factory.mktemp("signals-sim"), "chaos-signals") as cluster:
        yield cluster


def _signal_after(proc: subprocess.Popen[str], delay: float, signum: int) -> bool:
    """Once the run handles signals, wait `delay` seconds, then send `signum` if it still runs (whether it did)."""
    support.wait_until_handling(proc, set(SIGNALS))
    time.sleep(delay)  # the chaos itself: a random moment, not a wait for some state
    sent = proc.poll() is None
    if sent:
        os.kill(proc.pid, signum)
    return sent


@pytest.mark.parametrize("plan", [Plan.of(i) for i in range(RUNS)], ids=lambda p: f"seed{p.seed}")
def test_a_signal_at_a_random_moment_leaves_nothing(
    plan: Plan, shared_sim: support.Sim, tmp_path: Path, state_root: Path
) -> None:
    marker = uuid.uuid4().hex
    cluster_args = ["--cluster", "sim"] if plan.throwaway else [
        "--cluster", "kubeconfig", "--kubeconfig", str(shared_sim.info.kubeconfig)]  # fmt: skip
    report = tmp_path / "report.json"
    args = ["run", str(support.REPO / "scenarios"), "-k", SCENARIOS, *cluster_args, "--artifacts",
            str(tmp_path / "artifacts"), "--json", str(report), "--junit", str(tmp_path / "junit.xml")]  # fmt: skip
    proc = support.launch(args, tmp_path, env={MARKER: marker, STATE_ROOT_ENV: str(state_root)})
    run = support.ended(proc, lambda: _signal_after(proc, plan.delay, plan.signum), timeout=EXIT_DEADLINE)
    out, err, sent = run.out, run.err, run.acted
    name = signal.Signals(plan.signum).name
    _log(f"seed {plan.seed} {name} at +{plan.delay:.2f}s throwaway={plan.throwaway} sent={sent} "
         f"finished_first={_completed(report)} exit={proc.returncode}")  # fmt: skip
    context = f"seed {plan.seed}: {name} after {plan.delay:.2f}s (throwaway sim: {plan.throwaway})\n{out}\n{err}"
    finished_first = _completed(report)
    if finished_first:
        assert proc.returncode in (0, 128 + plan.signum, -plan.signum), context
    else:
        assert sent, context
        assert proc.returncode == 128 + plan.signum, context
        assert err.strip().splitlines()[-1] == f"kdbgtest: interrupted by {name}; cleaned up", context
        if report.exists():  # written once the reporters exist (the signal may come while scenarios load)
            assert json.loads(report.read_text())["summary"]["interrupted"] == name, context
    assert support.cluster_leftovers(shared_sim.info.kubeconfig) == [], context
    assert support.processes_with_environment(MARKER, marker) == [], context
    assert support.sim_state_dirs(state_root) == set(), context


def _log(line: str) -> None:
    """One line per run appended to $KDBGTEST_CHAOS_LOG, if set (for counting what the runs saw)."""
    path = os.environ.get("KDBGTEST_CHAOS_LOG")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _completed(report: Path) -> bool:
    """Whether the run got to its end before the signal (its report says so, without an interruption)."""
    try:
        summary = json.loads(report.read_text())["summary"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(summary) and not summary.get("interrupted")


def test_the_plans_cover_every_signal() -> None:
    """With the default count and seed, each of the three signals is sent at least once."""
    if RUNS < 6:
        pytest.skip(f"KDBGTEST_CHAOS_SIGNAL_RUNS={RUNS} is below the default 6")
    assert {Plan.of(i).signum for i in range(RUNS)} == set(SIGNALS)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_matrix_stops_the_same_way(signum: int, tmp_path: Path, state_root: Path) -> None:
    """`kdbgtest matrix` on two throwaway sims, signalled at a seeded moment: 128 + signal (or finished), and
    no sim, namespace-holding process or state directory left."""
    delay = random.Random(f"{SEED}-matrix-{signum}").uniform(0.0, WINDOW)
    marker = uuid.uuid4().hex
    args = ["matrix", str(support.REPO / "scenarios"), "-k", "copy-same-node or node-leftover-pod",
            "--clusters", "sim:1.33", "sim:1.34", "--out", str(tmp_path / "matrix")]  # fmt: skip
    proc = support.launch(args, tmp_path, env={MARKER: marker, STATE_ROOT_ENV: str(state_root)})
    run = support.ended(proc, lambda: _signal_after(proc, delay, signum), timeout=EXIT_DEADLINE)
    out, err, sent = run.out, run.err, run.acted
    name = signal.Signals(signum).name
    _log(f"matrix seed {SEED} {name} at +{delay:.2f}s sent={sent} exit={proc.returncode}")
    context = f"{name} after {delay:.2f}s\n{out}\n{err}"
    if sent and proc.returncode != 0:
        assert proc.returncode == 128 + signum, context
        assert err.strip().splitlines()[-1] == f"kdbgtest: interrupted by {name}; cleaned up", context
    assert support.processes_with_environment(MARKER, marker) == [], context
    assert support.sim_state_dirs(state_root) == set(), context
