"""The import-linter contracts of pyproject.toml (`./dev lint` runs them): kept by the tree as it is, and broken
by each kind of crossing. Each crossing is one import added to a copy of the package in a temporary directory,
checked with the real `lint-imports`, so a contract that could never fail would fail here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"  # a dev dependency (pyproject.toml [dev])


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / "pyproject.toml")],
        cwd=where,  # lint-imports puts its working directory first on sys.path: the copy is the one analysed
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("pristine")
    shutil.copytree(ROOT / "kdbgtest", copy / "kdbgtest", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_tree_keeps_every_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "shown"),
    [
        # a lower layer reaching up: the cluster layer asking the runner
        ("cluster/base.py", "from kdbgtest.runner import events", "Layers", "kdbgtest.cluster.base -> kdbgtest.runner"),
        # `if sim:` above cluster/: the runner knowing the sim exists
        ("runner/engine.py", "from kdbgtest.sim import config", "Only cluster/", "kdbgtest.runner.engine"),
        # a front end parsing the local cluster's pins itself
        ("matrix/spec.py", "from kdbgtest.local import pins", "Only cluster/", "kdbgtest.matrix.spec"),
        # the sim and the local cluster know nothing of each other (beyond the one documented exception)
        ("sim/config.py", "from kdbgtest.local import pins", "Layers", "kdbgtest.sim.config -> kdbgtest.local"),
        # a provider reaching into the node agent instead of kdbgtest.sim.facade
        ("cluster/sim.py", "from kdbgtest.sim.node import toolbox", "node agent", "kdbgtest.cluster.sim"),
        # the API server calling into the node agent instead of going through kdbgtest.sim.contracts
        ("sim/apiserver/logs.py", "from kdbgtest.sim.node import serve", "meet only", "kdbgtest.sim.apiserver.logs"),
        # the scenario language starting processes
        ("scenario/model.py", "import subprocess", "scenario/ is pure", "kdbgtest.scenario.model -> subprocess"),
    ],
)
def test_a_crossing_breaks_its_contract(
    pristine: Path, tmp_path: Path, module: str, line: str, contract: str, shown: str
) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(pristine, copy)
    target = copy / "kdbgtest" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately crossing a layer\n")
    done = lint_imports(copy)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and shown in broken, done.stdout
