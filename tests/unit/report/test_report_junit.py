"""JUnit XML: parses, counts right, and carries the real error with its step details."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from kdbgtest.report import junit
from kdbgtest.runner import events

XSD = Path(__file__).resolve().parents[2] / "data" / "junit" / "junit-10.xsd"


def write(run_events: list[events.Event], path: Path) -> ET.Element:
    reporter = junit.reporter(path)
    for event in run_events:
        reporter.handle(event)
    assert path.is_file()  # written when the run finished, before close
    reporter.close()
    return ET.parse(path).getroot()


def test_suite_counts_and_properties(run_events: list[events.Event], tmp_path: Path) -> None:
    root = write(run_events, tmp_path / "out" / "junit.xml")
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "3",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "20.500",
    }
    assert root.get("tests") == "3" and root.get("failures") == "1"
    assert root.get("skipped") is None  # not in the xunit2 schema on <testsuites>
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert props == {
        "run_id": "3f9a2c1d",
        "cluster_kind": "sim",
        "cluster_name": "kdbgtest",
        "server_version": "1.33",
        "kubectl_version": "1.37.1",
    }


def test_testcases_name_their_files(run_events: list[events.Event], tmp_path: Path) -> None:
    cases = write(run_events, tmp_path / "junit.xml").findall("testsuite/testcase")
    assert [(c.get("classname"), c.get("name"), c.get("file"), c.get("line")) for c in cases] == [
        ("scenarios.ephemeral.target", "ephemeral-target", "scenarios/ephemeral/target.yaml", "2"),
        ("scenarios.copy.crashloop", "copy-crashloop", "scenarios/copy/crashloop.yaml", "23"),  # failing step
        ("scenarios.node.sysadmin", "node-sysadmin", "scenarios/node/sysadmin.yaml", None),
    ]
    skipped = cases[2].find("skipped")
    assert skipped is not None and skipped.get("message") == "the cluster lacks capability sysadmin-profile"
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    assert cases[2].find("system-out") is None  # skipped before any step ran: nothing to show


def test_failure_carries_the_real_error_and_step_details(
    run_events: list[events.Event], tmp_path: Path
) -> None:
    case = write(run_events, tmp_path / "junit.xml").findall("testsuite/testcase")[1]
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == (
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
    assert case.find("properties") is None  # not in the xunit2 schema on a testcase: in system-out instead
    out = case.findtext("system-out") or ""
    assert out.startswith(f"namespace: kdbg-copy-crashloop-3f9a2c1d\nartifacts: {artifacts}\n")
    assert "[2] attach-debug (debug): failed 10.2s" in out
    assert "[3] show-logs (kubectl): passed 0.3s" in out
    assert "Defaulting debug container name to debugger-x7k2p." in out


def test_control_characters_never_break_the_xml(tmp_path: Path) -> None:
    step = events.StepFinished(
        "s", "x", 1, "failed", 1.0, message="bad \x00\x1b[31m byte\x07", output_tail="\x01"
    )
    finished = events.ScenarioFinished("s", Path("s.yaml"), "error", 1.0, failed_step="x", steps=[step])
    summary = events.RunFinished(passed=0, failed=0, errors=1, skipped=0, duration=1.0)
    case = write([step, finished, summary], tmp_path / "j.xml").find("testsuite/testcase")
    assert case is not None
    error = case.find("error")
    assert error is not None and error.get("message") == "s.yaml: bad  byte"


def test_a_run_interrupted_between_scenarios_is_an_error(run_events: list[events.Event], tmp_path: Path) -> None:
    """No scenario was stopped half-way (all finished), yet the run was: CI must not see a clean suite."""
    finished = run_events[-1]
    assert isinstance(finished, events.RunFinished)
    interrupted = dataclasses.replace(finished, interrupted="SIGTERM")
    root = write([*run_events[:-1], interrupted], tmp_path / "junit.xml")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    (case,) = [c for c in suite.iterfind("testcase") if c.find("error") is not None]
    assert case.get("name") == "run interrupted"
    error = case.find("error")
    assert error is not None and error.get("message") == (
        "the run stopped early (SIGTERM); the remaining scenarios were not run"
    )
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
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
