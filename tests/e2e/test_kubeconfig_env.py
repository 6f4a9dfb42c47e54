"""KUBECONFIG in the environment: `--cluster auto` keeps ignoring it (a test run must not land on whatever
cluster a shell points at) but says so on the run's first line; `--cluster kubeconfig` runs on it. Real
`kdbgtest run` processes, real kubectl, offline clusters; the KUBECONFIG cluster is a sim started here."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.base import process
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim
ROOT = Path(__file__).resolve().parents[2]
NAME = f"env-{uuid.uuid4().hex[:6]}"  # the KUBECONFIG cluster: its node names start with this
SCENARIO = """
    name: where-am-i
    steps:
      - name: nodes
        kubectl: {args: [get, nodes, -o, name]}
        expect: {stdout: {CHECK: "node/NAME-"}}
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.SimHandle]:
    with testing.sim_cluster(tmp_path_factory, name=NAME, nodes=1) as handle:
        yield handle


def kdbgtest_run(tmp_path: Path, kubeconfig: Path, check: str, *args: str) -> process.Completed:
    """`kdbgtest run` with KUBECONFIG set; the scenario passes if its nodes are (`contains`) or are not
    (`not_contains`) those of the KUBECONFIG cluster."""
    scenario = tmp_path / "where.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO).lstrip().replace("CHECK", check).replace("NAME", NAME))
    argv = [sys.executable, "-m", "kdbgtest.cli", "run", str(scenario), "--artifacts", str(tmp_path / "art"), *args]
    return process.run(argv, timeout=300, check=False, cwd=tmp_path, env={"KUBECONFIG": str(kubeconfig)})


def test_cluster_kubeconfig_runs_on_the_kubeconfig_variable(sim: testing.SimHandle, tmp_path: Path) -> None:
    done = kdbgtest_run(tmp_path, sim.kubeconfig, "contains", "--cluster", "kubeconfig")
    assert done.returncode == 0, done.output
    assert done.stderr.splitlines()[0] == f"kdbgtest: using the kubeconfig from KUBECONFIG: {sim.kubeconfig}"
    assert "on kubeconfig cluster" in done.stdout


def test_auto_ignores_the_kubeconfig_variable_and_says_so_first(sim: testing.SimHandle, tmp_path: Path) -> None:
    done = kdbgtest_run(tmp_path, sim.kubeconfig, "not_contains")
    assert done.returncode == 0, done.output
    assert done.stderr.splitlines()[0] == (
        f"kdbgtest: KUBECONFIG is set ({sim.kubeconfig}) but not used: --cluster auto never runs on the cluster "
        "your shell points at; pass --cluster kubeconfig to run there"
    )
    assert "on sim cluster" in done.stdout, done.stdout
