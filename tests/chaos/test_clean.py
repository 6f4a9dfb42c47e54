"""What dead runs leave, and `kdbgtest clean`: runs made with `--keep` leave exactly what a killed run leaves (the
namespace with its fixture, a copy, a node-debugger pod kubectl never deletes). `kdbgtest run` warns about them
in one line once they are older than its threshold; `clean` leaves young ones alone (a run still going), removes
one run's by `--run-id`, lists with `--dry-run`, and removes everything else with `--older-than 0`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import support_runs as support

pytestmark = pytest.mark.sim

SCENARIOS = support.REPO / "scenarios"


def _kdbgtest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = support.launch(list(args), cwd)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kept_run(cwd: Path, kubeconfig: Path, scenario: str) -> str:
    """Run one scenario with --keep; its run id."""
    done = _kdbgtest(cwd, "run", str(SCENARIOS / scenario), "--cluster", "kubeconfig", "--kubeconfig",
                     str(kubeconfig), "--keep", "--artifacts", str(cwd / "artifacts"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"^kdbgtest run ([0-9a-f]+):", done.stdout, re.MULTILINE)
    assert found is not None, done.stdout
    return found.group(1)


def test_clean_removes_what_dead_runs_left_and_run_warns_about_it(tmp_path: Path) -> None:
    with support.sim(tmp_path / "sim", "chaos-clean") as cluster:
        kubeconfig = cluster.info.kubeconfig
        node_run = _kept_run(tmp_path, kubeconfig, "node/leftover-debugger-pod.yaml")
        copy_run = _kept_run(tmp_path, kubeconfig, "copy/same-node.yaml")
        left = support.cluster_leftovers(kubeconfig)
        assert any("node-debugger" in item for item in left), left
        assert sum(item.startswith("namespace ") for item in left) == 2, left
        clean = ["clean", "--kubeconfig", str(kubeconfig)]

        quiet = _run(tmp_path, kubeconfig)
        assert "warning" not in quiet.stderr, quiet.stderr  # the default threshold is 1h: these are young
        warned = _run(tmp_path, kubeconfig, "--warn-leftovers-older-than", "0s")
        warnings = [line for line in warned.stderr.splitlines() if line.startswith("kdbgtest: warning:")]
        assert len(warnings) == 1, warned.stderr
        assert "2 namespace(s) left by earlier kdbgtest runs" in warnings[0], warnings
        assert f"kdbgtest clean --kubeconfig {kubeconfig}" in warnings[0], warnings

        young = _kdbgtest(tmp_path, *clean)
        assert young.returncode == 0, young.stdout + young.stderr
        assert "0 leftover namespace(s) older than 1h" in young.stdout, young.stdout
        listed = _kdbgtest(tmp_path, *clean, "--older-than", "0", "--dry-run")
        assert listed.stdout.count("would remove namespace") == 2, listed.stdout
        assert support.cluster_leftovers(kubeconfig) == left

        one = _kdbgtest(tmp_path, *clean, "--older-than", "0", "--run-id", node_run)
        assert one.returncode == 0, one.stdout + one.stderr
        assert re.search(rf"^removed namespace kdbg-node-leftover-pod-{node_run} \(run {node_run}, ", one.stdout,
                         re.MULTILINE), one.stdout  # fmt: skip
        remaining = support.cluster_leftovers(kubeconfig)
        assert remaining and all(copy_run in item or "copy" in item for item in remaining), remaining
        assert not any("node-debugger" in item for item in remaining), remaining

        rest = _kdbgtest(tmp_path, *clean, "--older-than", "0")
        assert rest.returncode == 0, rest.stdout + rest.stderr
        assert f"removed namespace kdbg-copy-same-node-{copy_run}" in rest.stdout, rest.stdout
        assert support.cluster_leftovers(kubeconfig) == []


def test_clean_refuses_a_bad_age(tmp_path: Path) -> None:
    done = _kdbgtest(tmp_path, "clean", "--kubeconfig", str(tmp_path / "k"), "--older-than", "soon")
    assert done.returncode == 2
    assert "'soon' is not an age; write e.g. 90s, 30m, 1h or 2d" in done.stderr


def _run(cwd: Path, kubeconfig: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = _kdbgtest(cwd, "run", str(SCENARIOS / "ephemeral/auto-named-debugger.yaml"), "--cluster", "kubeconfig",
                     "--kubeconfig", str(kubeconfig), "--artifacts", str(cwd / "artifacts"), *extra)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done
