"""A real run's JUnit report is what CI systems accept: four scenarios on the offline cluster (one passes, one
fails, one is skipped, one errors) through the engine, the JUnit reporter and the console reporter as a GitHub
Actions run configures it. The report validates against the xunit2 schema Jenkins uses
(tests/data/junit/junit-10.xsd), and the failure, its testcase and the `::error` annotation point at the
failing step's line."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema

from kdbgtest.cluster import base, kubeconfig
from kdbgtest.report import console, junit
from kdbgtest.runner import artifacts, engine
from kdbgtest.scenario import loader
from kdbgtest.sim import testing

pytestmark = [pytest.mark.sim, pytest.mark.e2e]

XSD = Path(__file__).resolve().parents[1] / "data" / "junit" / "junit-10.xsd"
RUN_ID = "beef0042"
SCENARIOS = {
    "passes.yaml": """\
name: passes
steps:
  - name: version
    kubectl: {args: [version]}
""",
    "fails.yaml": """\
name: fails
steps:
  - name: version
    kubectl: {args: [version]}
  - name: looks-for-what-is-not-there
    kubectl: {args: [get, namespaces]}
    expect:
      stdout: {contains: "no-such-namespace"}
""",
    "skipped.yaml": """\
name: skipped
requires: {nodes: 9}
steps:
  - name: version
    kubectl: {args: [version]}
""",
    "errors.yaml": """\
name: errors
fixtures:
  - fixture: sleeper
steps:
  - name: session
    exec: {pod: app, command: [sh], interactive: true}
    session:
      - send: echo sum=$((40+2))
      - expect: sum=42
""",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[base.ClusterInfo]:
    with testing.sim_cluster(tmp_path_factory, name=f"junit-{uuid.uuid4().hex[:6]}", nodes=1) as handle:
        yield kubeconfig.KubeconfigProvider(handle.kubeconfig).acquire()


def test_a_real_runs_junit_validates_and_points_at_the_failing_step(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    for name, text in SCENARIOS.items():
        (tmp_path / name).write_text(text)
    found = loader.load_paths([tmp_path])
    assert not found.issues, found.issues
    options = engine.RunOptions(run_id=RUN_ID, artifacts=tmp_path / "art")
    # The errored scenario: its artifacts directory is taken by a file, so writing its transcript fails.
    artifacts.directory(options.artifacts, "errors", RUN_ID).parent.mkdir()
    artifacts.directory(options.artifacts, "errors", RUN_ID).write_text("in the way\n")
    report = tmp_path / "junit.xml"
    out = io.StringIO()
    reporters = [junit.JUnitReporter(report, root=tmp_path), console.ConsoleReporter(out, github=True, root=tmp_path)]
    summary = engine.run_scenarios(found.scenarios, cluster, options, reporters)
    for reporter in reporters:
        reporter.close()
    verdicts = {r.scenario: r.verdict for r in summary.results}
    assert verdicts == {"passes": "passed", "fails": "failed", "skipped": "skipped", "errors": "error"}, summary

    xmlschema.XMLSchema(XSD).validate(report)  # raises with the offending element and the rule it breaks

    cases = {c.get("name"): c for c in ET.parse(report).getroot().iter("testcase")}
    failed = cases["fails"]
    assert (failed.get("file"), failed.get("line")) == ("fails.yaml", "5")  # the failing step, not line 1
    failure = failed.find("failure")
    assert failure is not None and (failure.get("message") or "").startswith("fails.yaml:5: "), failure.attrib
    assert "no-such-namespace" in (failure.text or "")
    error = cases["errors"].find("error")
    assert error is not None and (error.get("message") or "").startswith("errors.yaml:5: "), error.attrib
    assert cases["skipped"].find("skipped") is not None and cases["passes"].find("*") is not None  # system-out
    annotations = [line for line in out.getvalue().splitlines() if line.startswith("::error ")]
    assert [a.split("::")[1] for a in annotations] == [
        "error file=errors.yaml,line=5,title=kdbgtest%3A errors",
        "error file=fails.yaml,line=5,title=kdbgtest%3A fails",
    ], out.getvalue()
