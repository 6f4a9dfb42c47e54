"""The sim's API server (its daemon process) is killed in the middle of a real `kdbgtest run`: the run must stop
within 10 s of the kill with exit 2 (an infrastructure error, not a test failure) and one line saying when and
where the server stopped answering, instead of polling a dead server for minutes; and nothing it started may
outlive it. The killed cluster is then removed (`sim down` after a crash) and must be removable.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import support_runs as support

from kdbgtest.base import waiting

pytestmark = pytest.mark.sim

LIMIT = 10.0  # seconds from the kill to the run's exit
# An interactive node session (a long step), then more scenarios that must not be attempted.
SCENARIOS = ["node/host-namespaces.yaml", "copy/same-node.yaml", "ephemeral/auto-named-debugger.yaml"]
LINE = re.compile(
    r"^kdbgtest: error: the cluster's API server https://127\.0\.0\.1:\d+ stopped answering at "
    r"\d\d:\d\d:\d\d UTC \(connection refused; last answer at \d\d:\d\d:\d\d UTC\), during scenario "
    r"(?P<scenario>[a-z-]+) \([^)]*\.yaml:\d+\)(, step '[^']+')?; the run stopped there"
)


@pytest.fixture
def doomed_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Sim]:
    with support.sim(tmp_path_factory.mktemp("doomed-sim"), "chaos-dead-api") as cluster:
        yield cluster


def _kill_the_server_at(doomed_sim: support.Sim, moment: str) -> None:
    """SIGKILL the sim's daemon once the run has reached `moment`."""
    _wait_for_moment(doomed_sim.info.kubeconfig, moment)
    daemon = doomed_sim.daemon_pid()
    assert daemon is not None, "the sim's daemon is not running"
    os.kill(daemon, signal.SIGKILL)


@pytest.mark.parametrize("moment", ["session", "setup"])
def test_a_killed_api_server_stops_the_run_with_exit_2_within_10s(
    doomed_sim: support.Sim, tmp_path: Path, moment: str
) -> None:
    kubeconfig = doomed_sim.info.kubeconfig
    args = ["run", *(str(support.REPO / "scenarios" / s) for s in SCENARIOS), "--cluster", "kubeconfig",
            "--kubeconfig", str(kubeconfig), "--artifacts", str(tmp_path / "artifacts"), "-v"]  # fmt: skip
    proc = support.launch(args, tmp_path)
    run = support.ended(proc, lambda: _kill_the_server_at(doomed_sim, moment), timeout=120)
    out, err, took = run.out, run.err, run.took
    context = f"moment {moment}: exit {proc.returncode} {took:.1f}s after the kill\n{out}\n{err}"
    assert proc.returncode == 2, context
    assert took <= LIMIT, context
    last = err.strip().splitlines()[-1]
    found = LINE.match(last)
    assert found is not None, context
    assert found["scenario"] == "node-host-namespaces", context  # the first one: nothing after it was tried
    assert "failed to download openapi" not in out + err, context
    assert out.count("RUN ") == 1, context  # no later scenario was started against the dead server
    assert support.processes_mentioning(str(kubeconfig)) == [], context


def test_with_workers_every_running_scenario_stops(doomed_sim: support.Sim, tmp_path: Path) -> None:
    """`-n 3`: the three scenarios run at once; the kill stops all of them the same way (the main thread hears
    of it and cancels the workers), within the same limit, and no kubectl they started outlives the run."""
    kubeconfig = doomed_sim.info.kubeconfig
    args = ["run", *(str(support.REPO / "scenarios" / s) for s in SCENARIOS), "-n", "3", "--cluster",
            "kubeconfig", "--kubeconfig", str(kubeconfig), "--artifacts", str(tmp_path / "artifacts")]  # fmt: skip
    proc = support.launch(args, tmp_path)
    run = support.ended(proc, lambda: _kill_the_server_at(doomed_sim, "session"), timeout=120)
    out, err, took = run.out, run.err, run.took
    context = f"-n 3: exit {proc.returncode} {took:.1f}s after the kill\n{out}\n{err}"
    assert proc.returncode == 2, context
    assert took <= LIMIT, context
    assert LINE.match(err.strip().splitlines()[-1]) is not None, context
    assert "failed to download openapi" not in out + err, context
    assert support.processes_mentioning(str(kubeconfig)) == [], context


def _wait_for_moment(kubeconfig: Path, moment: str) -> None:
    """`session`: the interactive node session is running (its node-debugger pod exists); `setup`: the run's
    namespace exists (fixtures are being applied)."""

    def probe() -> tuple[bool, str]:
        if moment == "setup":
            found = support.kubectl_json(kubeconfig, "get", "namespaces", "-l", "app.kubernetes.io/managed-by")
        else:
            found = support.kubectl_json(kubeconfig, "get", "pods", "-A", "-l", support.DEBUG_POD_SELECTOR)
        names = [item["metadata"]["name"] for item in found["items"]]
        return bool(names), f"found {names}"

    waiting.wait_for(probe, timeout=60, what=f"the run to reach its {moment}", interval=0.1, describe=str)
