"""`kdbgtest upgrade` for real on the offline cluster: 1.36 -> 1.37 in place, real kubectl, the three reports.

tests/data/upgrade/server-is-1-36.yaml holds only while the API server is 1.36: a regression on purpose, which
every format must show. scenarios/ephemeral/named-debugger.yaml passes in both phases. The witnesses must live
through every step (the sim keeps its pods while its components change version), and the cluster must be gone
afterwards, also when the upgrade is interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kdbgtest.base import process
from kdbgtest.sim import cluster
from kdbgtest.sim.config import STATE_ROOT_ENV

pytestmark = [pytest.mark.sim, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["tests/data/upgrade", "scenarios/ephemeral/named-debugger.yaml"]
COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"]


def _state_root(base: Path) -> dict[str, str]:
    """A sim state root of the run's own ($KDBGTEST_SIM_STATE_ROOT): other suites' sims do not show there."""
    (base / "sims").mkdir(mode=0o700)
    return {STATE_ROOT_ENV: str(base / "sims")}


def _sims(env: dict[str, str]) -> list[Path]:
    return list(Path(env[STATE_ROOT_ENV]).iterdir())


@pytest.fixture(scope="module")
def upgrade_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[process.Completed, Path]:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    out = tmp_path_factory.mktemp("upgrade") / "report"
    env = _state_root(out.parent)
    argv = [sys.executable, "-m", "kdbgtest.cli", "upgrade", *SCENARIOS, "--cluster", "sim", "--from", "1.36",
            "--to", "1.37", "--skew", "--out", str(out)]  # fmt: skip
    done = process.run(argv, timeout=900, check=False, cwd=ROOT, env=env)
    assert _sims(env) == [], "the upgraded sim was removed"
    return done, out


def test_the_deliberate_regression_is_in_every_format(upgrade_run: tuple[process.Completed, Path]) -> None:
    done, out = upgrade_run
    assert done.returncode == 1, done.output
    assert "sim 1.36 → 1.37" in done.stdout and "1 regression(s)" in done.stdout, done.stdout
    data = json.loads((out / "upgrade.json").read_text())
    assert data["schema"] == "kdbgtest-upgrade/1" and data["error"] == ""
    regressions = data["suite"]["regressions"]
    assert [(r["scenario"], r["before"], r["after"]) for r in regressions] == [("server-is-1-36", "before", "after")]
    grid = {row["scenario"]: {k: v["verdict"] for k, v in row["cells"].items()} for row in data["suite"]["scenarios"]}
    skewed = "after-kubectl-1.36"
    assert grid == {
        "server-is-1-36": {"before": "passed", "after": "failed", skewed: "failed"},
        "ephemeral-named": {"before": "passed", "after": "passed", skewed: "passed"},
    }
    markdown = (out / "upgrade.md").read_text()
    regressions_md = markdown.split("## Regressions (1)", 1)[1].split("## ", 1)[0]
    assert "**server-is-1-36**" in regressions_md and "server-version" in regressions_md
    html = (out / "upgrade.html").read_text()
    regressions_html = html.split("<h2>Regressions (1)</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<strong>server-is-1-36</strong>" in regressions_html


def test_components_are_replaced_in_order_and_reported(upgrade_run: tuple[process.Completed, Path]) -> None:
    _, out = upgrade_run
    data = json.loads((out / "upgrade.json").read_text())
    steps = [(s["component"], s["before"], s["after"], s["error"]) for s in data["steps"]]
    assert steps == [(c, "1.36", "1.37", "") for c in COMPONENTS]
    versions = data["versions"]
    assert list(versions) == ["deployed", *(f"after {c}" for c in COMPONENTS), "after the suite"]
    assert versions["deployed"] == dict.fromkeys(COMPONENTS, "1.36")
    assert versions["after kube-scheduler"] == {**dict.fromkeys(COMPONENTS[:3], "1.37"), "kubelet": "1.36"}
    assert versions["after kubelet"] == dict.fromkeys(COMPONENTS, "1.37")
    assert set(data["phases"]) == {"witnesses", "before", "after", "after-kubectl-1.36"}


def test_skew_runs_the_kubectl_that_exists_and_names_the_ones_that_do_not(
    upgrade_run: tuple[process.Completed, Path],
) -> None:
    _, out = upgrade_run
    data = json.loads((out / "upgrade.json").read_text())
    phases = {p["id"]: p for p in data["suite_phases"]}
    assert list(phases) == ["before", "before-kubectl-1.35", "after", "after-kubectl-1.36", "after-kubectl-1.38"]
    assert phases["after-kubectl-1.36"]["kubectl"] == "v1.36.4" and phases["after-kubectl-1.36"]["error"] == ""
    assert [c["kubectl_version"] for c in data["suite"]["columns"]] == ["v1.37.1", "v1.37.1", "v1.36.4"]
    for missing in ("before-kubectl-1.35", "after-kubectl-1.38"):
        assert phases[missing]["error"].startswith("no kubectl 1.3"), phases[missing]
        assert f"kubectl 1.{missing[-2:]}: not run (no kubectl" in (out / "upgrade.md").read_text()


def test_witnesses_live_through_every_step(upgrade_run: tuple[process.Completed, Path]) -> None:
    _, out = upgrade_run
    data = json.loads((out / "upgrade.json").read_text())
    checks = data["checks"]
    witnesses = {c["witness"] for c in checks}
    pods = {"crashloop", "distroless", "node-issue"}
    assert pods | {f"{p}-copy" for p in pods} <= witnesses
    assert any(w.startswith("node-debugger-") for w in witnesses)
    kinds = {c["check"] for c in checks}
    assert kinds == {"running", "preserved", "exec", "logs", "attach", "logs --previous"}
    assert [c for c in checks if not c["ok"]] == []
    assert len({c["checkpoint"] for c in checks}) == 6
    for check in checks:
        assert (out / check["transcript"]).is_file(), check
    attach = next(c for c in checks if c["check"] == "attach" and c["witness"] == "distroless")
    assert "witness tick" in attach["detail"]


def test_an_interrupted_upgrade_names_each_components_version_and_removes_the_cluster(tmp_path: Path) -> None:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    env = _state_root(tmp_path)
    argv = [sys.executable, "-m", "kdbgtest.cli", "upgrade", "tests/data/upgrade", "--cluster", "sim", "--from", "1.36",
            "--to", "1.37", "--out", str(tmp_path / "report")]  # fmt: skip
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **env})
        deadline = time.monotonic() + 600
        while "upgrading kube-scheduler" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=180) == 130, log.read_text()
    said = log.read_text()
    stopped = next(line for line in said.splitlines() if "stopped; the components run:" in line)
    assert "kube-apiserver 1.37, kube-controller-manager 1.37" in stopped, said
    assert "kubelet 1.36" in stopped, said
    assert _sims(env) == [], "the interrupted upgrade's sim was removed"


def test_drain_empties_every_node_before_the_kubelet_and_the_report_says_the_witnesses_went(tmp_path: Path) -> None:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    out = tmp_path / "report"
    argv = [sys.executable, "-m", "kdbgtest.cli", "upgrade", "tests/data/upgrade", "--cluster", "sim", "--from", "1.36",
            "--to", "1.37", "--drain", "--out", str(out)]  # fmt: skip
    done = process.run(argv, timeout=600, check=False, cwd=ROOT)
    assert done.returncode == 1, done.output  # the deliberate regression (the drained witnesses are no failure)
    data = json.loads((out / "upgrade.json").read_text())
    assert [s["component"] for s in data["steps"]] == [*COMPONENTS[:3], "drain", "kubelet", "uncordon"]
    before_kubelet = [c for c in data["checks"] if c["checkpoint"] == "after kube-scheduler"]
    assert before_kubelet and all(c["ok"] for c in before_kubelet)
    drained = [c for c in data["checks"] if c["checkpoint"] == "after the drain"]
    assert len(drained) == 7 and all(c["check"] == "drained" and c["ok"] for c in drained), drained
    assert not [c for c in data["checks"] if c["checkpoint"] in ("after kubelet", "after the suite")]
    assert [c for c in data["checks"] if not c["ok"]] == []
