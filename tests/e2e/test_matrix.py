"""`kdbgtest matrix` for real: two offline clusters, real kubectl, the three reports.

Kubernetes 1.29 (ephemeral containers on by default) and 1.34 with the EphemeralContainers feature gate off,
given newest first to show the version order. The scenarios:
- tests/data/matrix/ephemeral-undeclared.yaml does not declare that it needs ephemeral containers: it passes
  on 1.29 and fails on 1.34 without them, a regression;
- tests/data/matrix/exec-into-crashloop.yaml passes on both, but kubectl's message for a container that is
  not running changed in 1.30: a behaviour difference in the output;
- scenarios/copy/fallback-without-ephemeral.yaml runs only without ephemeral containers: skipped vs run.
"""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kdbgtest.base import process
from kdbgtest.matrix import document
from kdbgtest.sim import cluster
from kdbgtest.sim.config import STATE_ROOT_ENV

pytestmark = [pytest.mark.sim, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
OLD = "kind: SimCluster\nkubernetesVersion: '1.29'\ntimeScale: 0.1\n"
NEW = (
    "kind: SimCluster\nname: sim 1.34 without ephemeral containers\nkubernetesVersion: '1.34'\n"
    "featureGates: {EphemeralContainers: false}\ntimeScale: 0.1\n"
)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if href:
            self.hrefs.append(href)
        if tag in ("script", "link", "img"):
            self.external.append(tag)


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[process.Completed, Path]:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    base = tmp_path_factory.mktemp("matrix")
    (base / "old.yaml").write_text(OLD)
    (base / "new.yaml").write_text(NEW)
    out = base / "report"
    sims = base / "sims"  # a state root of its own: other suites' matrix sims on this machine do not show here
    sims.mkdir(mode=0o700)
    argv = [
        sys.executable, "-m", "kdbgtest.matrix.cli", "--out", str(out),
        "--clusters", str(base / "new.yaml"), str(base / "old.yaml"),
        "--", "tests/data/matrix", "scenarios/copy/fallback-without-ephemeral.yaml",
    ]  # fmt: skip
    done = process.run(argv, timeout=240, check=False, cwd=ROOT, env={STATE_ROOT_ENV: str(sims)})
    assert list(sims.iterdir()) == [], "every sim cluster of the matrix was removed"
    return done, out


def test_exit_code_and_summary(matrix_run: tuple[process.Completed, Path]) -> None:
    done, _ = matrix_run
    assert done.returncode == 1, done.output
    summary = (
        "3 scenario(s) on 2 cluster(s): 1 regression(s), 0 fix(es), 2 behaviour difference(s); "
        "1 scenario(s) failing on at least one cluster."
    )
    assert summary in done.stdout


def test_grid_and_regression(matrix_run: tuple[process.Completed, Path]) -> None:
    _, out = matrix_run
    report = json.loads((out / "matrix.json").read_text())
    old, new = report["columns"]
    assert (old["label"], old["server_version"], new["label"], new["server_version"]) == (
        "sim 1.29", "1.29", "sim 1.34 without ephemeral containers", "1.34"
    )  # fmt: skip
    grid = {row["scenario"]: [row["cells"][c["id"]]["verdict"] for c in (old, new)] for row in report["scenarios"]}
    assert grid == {
        "matrix-ephemeral-undeclared": ["passed", "failed"],
        "matrix-exec-crashloop": ["passed", "passed"],
        "copy-fallback-no-ephemeral": ["skipped", "passed"],
    }
    (regression,) = report["regressions"]
    assert (regression["scenario"], regression["before"], regression["after"]) == (
        "matrix-ephemeral-undeclared", old["id"], new["id"]
    )  # fmt: skip
    assert regression["step"] == "step 1 'add-debugger' (debug)"
    assert regression["reason"] == "exit code 1, expected 0"
    assert (out / regression["link"] / "app.describe.txt").is_file(), "linked to the failure's artifacts"


def test_behaviour_differences(matrix_run: tuple[process.Completed, Path]) -> None:
    _, out = matrix_run
    report = json.loads((out / "matrix.json").read_text())
    found = {(d["scenario"], d["aspect"]): d for d in report["differences"]}
    assert sorted(found) == [
        ("copy-fallback-no-ephemeral", "skipped-vs-run"),
        ("matrix-exec-crashloop", "output"),
    ], "nothing else differs once generated names, namespaces and times are normalised"
    message = found["matrix-exec-crashloop", "output"]
    assert message["step"] == "exec-refused"
    assert message["summary"] == (
        'output: error: unable to upgrade connection: container not found ("app") -> '
        'error: Internal error occurred: unable to upgrade connection: container not found ("app")'
    )
    diff = (out / message["diff"]).read_text()
    assert '\n-error: unable to upgrade connection: container not found ("app")\n' in diff
    assert '\n+error: Internal error occurred: unable to upgrade connection: container not found ("app")\n' in diff
    assert all((out / link).is_file() for link in message["links"].values())


def test_debug_steps_recorded_their_api_objects(matrix_run: tuple[process.Completed, Path]) -> None:
    _, out = matrix_run
    old = json.loads((out / "sim-1.29" / "results.json").read_text())
    (scenario,) = [s for s in old["scenarios"] if s["scenario"] == "matrix-ephemeral-undeclared"]
    observed = scenario["steps"][0]["observed"]
    assert observed["container_field"] == "ephemeralContainers" and observed["pod"] == "app"
    assert observed["container"]["name"] == "debugger"
    assert observed["container"]["command"] == ["true"]


def test_three_formats(matrix_run: tuple[process.Completed, Path]) -> None:
    _, out = matrix_run
    markdown = (out / "matrix.md").read_text()
    assert "| Scenario | sim 1.29 | sim 1.34 without ephemeral containers |" in markdown
    assert "| `matrix-exec-crashloop` | [✅](sim-1.29/results.json) | [✅](" in markdown
    assert "## Regressions (1)" in markdown and "## Behaviour differences (2)" in markdown
    page = Links()
    page.feed((out / "matrix.html").read_text())
    page.close()
    assert page.external == [] and page.hrefs
    assert all((out / href).exists() for href in page.hrefs), page.hrefs
    text = (out / "matrix.json").read_text()
    assert document.dumps(document.load(out / "matrix.json")) == text, "the JSON document round-trips"
