"""An artifacts directory that cannot be written never costs the cleanup nor shows a traceback: `--artifacts`
naming a file is one line before any cluster is used, and a write that fails during the run (here: the
scenario's own directory is taken by a file, as a full disk or a lost mount would fail it) is told in the verdict
while the namespace and pods are still removed. Real kubectl on the offline cluster."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import suite_support as support

from kdbgtest.base import process, tools
from kdbgtest.cluster import base, kubeconfig
from kdbgtest.runner import artifacts, engine, events
from kdbgtest.scenario import loader
from kdbgtest.sim import testing

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """
name: unwritable
fixtures:
  - fixture: sleeper
steps:
  - name: session
    exec: {pod: app, command: [sh], interactive: true}
    session:
      - send: echo sum=$((40+2))
      - expect: sum=43
"""


def test_artifacts_naming_a_file_is_one_line_before_any_cluster(tmp_path: Path) -> None:
    taken = tmp_path / "artifacts.txt"
    taken.write_text("not a directory\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nsteps:\n  - name: v\n    kubectl: {args: [version]}\n")
    argv = [
        sys.executable, "-m", "kdbgtest.cli", "run", str(scenario), "--artifacts", str(taken),
        "--cluster", "kubeconfig", "--kubeconfig", str(tmp_path / "no-such-kubeconfig"),
    ]  # fmt: skip
    done = process.run(argv, timeout=120, check=False, cwd=ROOT)
    assert done.returncode == 2, done.output
    assert done.stderr == f"kdbgtest: error: --artifacts {taken}: cannot write there (a file of that name is in " \
        "the way); pass a writable directory\n"  # fmt: skip
    assert taken.read_text() == "not a directory\n"
    below = process.run([*argv[:6], str(taken / "sub"), *argv[7:]], timeout=120, check=False, cwd=ROOT)
    assert below.returncode == 2, below.output
    assert f"cannot write there ({taken} is not a directory)" in below.stderr


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[base.ClusterInfo]:
    with testing.sim_cluster(tmp_path_factory, name=f"art-{uuid.uuid4().hex[:6]}", nodes=1) as handle:
        yield kubeconfig.KubeconfigProvider(handle.kubeconfig).acquire()


@pytest.mark.sim
def test_a_failed_write_during_the_run_is_told_and_cleanup_still_happens(
    cluster: base.ClusterInfo, tmp_path: Path
) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(SCENARIO).lstrip())
    options = engine.RunOptions(run_id="cafe0001", artifacts=tmp_path / "art")
    artifacts.directory(options.artifacts, "unwritable", options.run_id).parent.mkdir()
    artifacts.directory(options.artifacts, "unwritable", options.run_id).write_text("in the way\n")
    recorder = support.Recorder()
    result = engine.run_one(loader.load_file(path), cluster, options, [recorder])
    assert (result.verdict, result.failed_step) == ("error", "session"), result.message
    assert "step 1 'session': FileExistsError: [Errno 17] File exists" in result.message
    assert "(the failure artifacts could not be written: [Errno 17] File exists" in result.message
    (cleaned,) = recorder.of(events.CleanupFinished)
    assert cleaned.problems == [] and cleaned.removed == ["namespace kdbg-unwritable-cafe0001"]
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={cluster.kubeconfig}", "get", "namespaces", "-o", "name"]
    assert "namespace/kdbg-unwritable-cafe0001" not in process.run(argv, timeout=60).stdout.split()
