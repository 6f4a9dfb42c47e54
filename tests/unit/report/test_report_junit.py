"""JUnit XML: parses (with junitparser, as CI tools read it), counts right, and carries the real error with its step
details."""

from __future__ import annotations

import dataclasses
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, Failure, Skipped, xunit2

from kdbgtest.report import junit
from kdbgtest.runner import events

XSD = Path(__file__).resolve().parents[2] / "data" / "junit" / "junit-10.xsd"


def write(run_events: list[events.Event], path: Path) -> xunit2.TestSuite:
    """The one suite of the report written for `run_events`, read back from the file."""
    reporter = junit.reporter(path)
    for event in run_events:
        reporter.handle(event)
    assert path.is_file()  # written when the run finished, before close
    reporter.close()
    (suite,) = xunit2.JUnitXml.fromfile(str(path))
    return suite


def cases(suite: xunit2.TestSuite) -> list[junit.TestCase]:
    """The suite's testcases, with their `file` and `line`."""
    return [junit.TestCase.fromelem(case) for case in suite]


def test_suite_counts_and_properties(run_events: list[events.Event], tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    suite = write(run_events, path)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped, suite.time) == (3, 1, 0, 1, 20.5)
    assert (suite.name, suite.hostname) == ("kdbgtest", socket.gethostname())
    root = ET.parse(path).getroot()
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("time") == "20.5"
    assert root.get("skipped") is None  # not in the xunit2 schema on <testsuites>
    props = {p.name: p.value for p in suite.properties()}
    assert props == {
        "run_id": "3f9a2c1d",
        "cluster_kind": "sim",
        "cluster_name": "kdbgtest",
        "server_version": "1.33",
        "kubectl_version": "1.37.1",
    }


def test_testcases_name_their_files(run_events: list[events.Event], tmp_path: Path) -> None:
    found = cases(write(run_events, tmp_path / "junit.xml"))
    assert [(c.classname, c.name, c.file, c.line, c.time) for c in found] == [
        ("scenarios.ephemeral.target", "ephemeral-target", "scenarios/ephemeral/target.yaml", 2, 3.0),
        ("scenarios.copy.crashloop", "copy-crashloop", "scenarios/copy/crashloop.yaml", 23, 16.0),  # failing step
        ("scenarios.node.sysadmin", "node-sysadmin", "scenarios/node/sysadmin.yaml", None, 0.0),
    ]
    assert found[2].result == [Skipped("the cluster lacks capability sysadmin-profile")]
    assert found[0].is_passed and found[1].is_failure and found[2].is_skipped
    assert found[2].system_out is None  # skipped before any step ran: nothing to show


def test_failure_carries_the_real_error_and_step_details(run_events: list[events.Event], tmp_path: Path) -> None:
    case = cases(write(run_events, tmp_path / "junit.xml"))[1]
    (failure,) = case.result
    assert isinstance(failure, Failure) and failure.text is not None and failure.type == "kdbgtest.failed"
    assert failure.message == (
        "scenarios/copy/crashloop.yaml:23: timed out after 10s waiting for the text 'ready'; the last 3 lines seen:"
    )
    artifacts = tmp_path / "artifacts" / "copy-crashloop-3f9a2c1d"
    for expected in (
        "at scenarios/copy/crashloop.yaml:23, step 2 'attach-debug' (debug)",
        "$ kubectl --kubeconfig=/tmp/kc debug app",
        "  | / # cat /tmp/state",  # the message's own lines
        "  | starting",  # the transcript tail, escape sequences stripped
        f"artifacts: {artifacts}",
    ):
        assert expected in failure.text, expected
    assert "\x1b" not in failure.text
    assert list(case.properties()) == []  # not in the xunit2 schema on a testcase: in system-out instead
    out = case.system_out or ""
    assert out.startswith(f"namespace: kdbg-copy-crashloop-3f9a2c1d\nartifacts: {artifacts}\n")
    assert "[2] attach-debug (debug): failed 10.2s" in out
    assert "[3] show-logs (kubectl): passed 0.3s" in out
    assert "Defaulting debug container name to debugger-x7k2p." in out


def test_control_characters_never_break_the_xml(tmp_path: Path) -> None:
    step = events.StepFinished("s", "x", 1, "failed", 1.0, message="bad \x00\x1b[31m byte\x07", output_tail="\x01")
    finished = events.ScenarioFinished("s", Path("s.yaml"), "error", 1.0, failed_step="x", steps=[step])
    summary = events.RunFinished(passed=0, failed=0, errors=1, skipped=0, duration=1.0)
    (case,) = write([step, finished, summary], tmp_path / "j.xml")
    (error,) = case.result
    assert isinstance(error, Error) and error.message == "s.yaml: bad  byte"


def test_a_run_interrupted_between_scenarios_is_an_error(run_events: list[events.Event], tmp_path: Path) -> None:
    """No scenario was stopped half-way (all finished), yet the run was: CI must not see a clean suite."""
    finished = run_events[-1]
    assert isinstance(finished, events.RunFinished)
    interrupted = dataclasses.replace(finished, interrupted="SIGTERM")
    suite = write([*run_events[:-1], interrupted], tmp_path / "junit.xml")
    assert (suite.tests, suite.errors) == (4, 1)
    (case,) = [c for c in suite if c.is_error]
    assert (case.name, case.classname) == ("run interrupted", "kdbgtest")
    assert case.result == [
        Error("the run stopped early (SIGTERM); the remaining scenarios were not run", "kdbgtest.interrupted")
    ]
    props = {p.name: p.value for p in suite.properties()}
    assert props["interrupted"] == "SIGTERM"


def test_the_report_validates_against_the_xunit2_schema(run_events: list[events.Event], tmp_path: Path) -> None:
    """The schema Jenkins' xUnit plugin applies (tests/e2e/test_junit_schema.py checks a real run too)."""
    path = tmp_path / "junit.xml"
    write(run_events, path)
    xmlschema.XMLSchema(XSD).validate(path)
    bad = tmp_path / "bad.xml"  # and the schema is strict enough to catch what this report used to write
    bad.write_text('<testsuites skipped="1"><testsuite tests="0"/></testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="'skipped' attribute not allowed"):
        xmlschema.XMLSchema(XSD).validate(bad)
