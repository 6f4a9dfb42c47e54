"""`--namespace NS`: scenarios run one after another in an existing namespace, and cleanup removes only what the
run created there (found by its labels, and the debug pods it tracked); someone else's pod there is never
touched, nor shown in the failure artifacts. Real `kdbgtest run`, real kubectl, the offline cluster."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.base import process, tools
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim
OTHER_POD = """
apiVersion: v1
kind: Pod
metadata: {name: someone-else, labels: {owner: team}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: "busybox:1.36", command: [sleep, "3600"]}
"""
FIRST = """
name: first
fixtures:
  - fixture: sleeper
steps:
  - name: copy
    debug: {mode: copy, pod: app, copy_to: app-copy, image: "busybox:1.36", container: dbg, command: [sleep, "600"]}
  - name: in-the-shared-namespace
    kubectl: {args: [get, pods, -o, name]}
    expect: {stdout: {regex: 'pod/someone-else'}}
  - name: namespace-variable
    kubectl: {args: [get, pod, app, -o, "jsonpath={.metadata.namespace}"]}
    expect: {stdout: {equals: "${namespace}"}}
"""
SECOND = """
name: second
fixtures:
  - fixture: sleeper          # the same pod name again: the first scenario's pod is gone by now
steps:
  - name: fails-on-purpose
    kubectl: {args: [get, pod, app, -o, "jsonpath={.metadata.name}"]}
    expect: {stdout: {equals: "not-app"}}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.SimHandle]:
    with testing.sim_cluster(tmp_path_factory, name=f"shared-{uuid.uuid4().hex[:6]}", nodes=1) as handle:
        yield handle


def kubectl(sim: testing.SimHandle, *args: str, stdin: str | None = None) -> str:
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={sim.kubeconfig}", *args]
    return process.run(argv, timeout=120, stdin=stdin).stdout


@pytest.fixture
def team_namespace(sim: testing.SimHandle) -> Iterator[str]:
    """A namespace the run did not create, with someone else's running pod in it."""
    name = f"team-{uuid.uuid4().hex[:6]}"
    kubectl(sim, "create", "namespace", name)
    try:
        kubectl(sim, "apply", "-n", name, "-f", "-", stdin=OTHER_POD)
        kubectl(sim, "wait", "-n", name, "--for=condition=Ready", "pod/someone-else", "--timeout=90s")
        yield name
    finally:
        kubectl(sim, "delete", "namespace", name, "--timeout=90s")


def run(sim: testing.SimHandle, tmp_path: Path, *args: str) -> process.Completed:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "1-first.yaml").write_text(textwrap.dedent(FIRST).lstrip())
    (suite / "2-second.yaml").write_text(textwrap.dedent(SECOND).lstrip())
    argv = [
        sys.executable, "-m", "kdbgtest.cli", "run", str(suite), "--cluster", "kubeconfig",
        "--kubeconfig", str(sim.kubeconfig), "--artifacts", str(tmp_path / "art"), *args,
    ]  # fmt: skip
    return process.run(argv, timeout=400, check=False, cwd=tmp_path)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_scenarios_run_in_the_namespace_and_only_their_objects_are_removed(
    sim: testing.SimHandle, team_namespace: str, tmp_path: Path, workers: list[str]
) -> None:
    """Also with `-n 2`: the scenarios share the namespace (and the fixture's pod name), so they still run one
    after another."""
    done = run(sim, tmp_path, "--namespace", team_namespace, *workers)
    assert done.returncode == 1, done.output
    assert "PASS   first" in done.stdout and "FAIL   second" in done.stdout, done.output
    assert "stdout is not equal to 'not-app'" in done.stdout
    pods = json.loads(kubectl(sim, "get", "pods", "-n", team_namespace, "-o", "json"))["items"]
    assert [p["metadata"]["name"] for p in pods] == ["someone-else"], "the run's pods (fixtures, the copy) went"
    assert pods[0]["status"]["phase"] == "Running"
    assert kubectl(sim, "get", "namespace", team_namespace, "-o", "name").strip() == f"namespace/{team_namespace}"
    (artifacts,) = (tmp_path / "art").glob("second-*")
    names = sorted(p.name for p in artifacts.iterdir())
    assert "app.describe.txt" in names, names
    assert not [n for n in names if "someone-else" in n], "someone else's pod is not in the run's artifacts"


def test_the_keep_hint_removes_exactly_the_runs_objects(
    sim: testing.SimHandle, team_namespace: str, tmp_path: Path
) -> None:
    done = run(sim, tmp_path, "--namespace", team_namespace, "--keep", "-k", "first")
    assert done.returncode == 0, done.output
    kubectl_path = str(tools.pinned_kubectl())
    commands = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(kubectl_path)]
    assert any("delete pod app-copy" in c for c in commands), done.stdout
    (labelled,) = [c for c in commands if " -l " in c]
    assert "kdbgtest.io/scenario=first" in labelled and "app.kubernetes.io/managed-by=kdbgtest" in labelled
    for command in commands:
        process.run(command.split(), timeout=120)  # the printed commands are plain argv, no shell quoting here
    remaining = kubectl(sim, "get", "pods", "-n", team_namespace, "-o", "name").split()
    assert remaining == ["pod/someone-else"]


def test_a_namespace_that_does_not_exist_is_one_clear_error(sim: testing.SimHandle, tmp_path: Path) -> None:
    done = run(sim, tmp_path, "--namespace", "no-such-team", "-k", "first")
    assert done.returncode == 1, done.output
    assert "namespace no-such-team (--namespace) does not exist; create it first or pick another" in done.stdout
