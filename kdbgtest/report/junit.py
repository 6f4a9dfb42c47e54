"""JUnit XML for CI systems: one `<testcase>` per scenario.

The file validates against the xunit2 schema Jenkins' xUnit plugin uses (junit-10.xsd, checked by
tests/e2e/test_junit_schema.py), so a testcase has no `<properties>` and `<testsuites>` no `skipped`.
- `classname` is the scenario file as a dotted path (`scenarios/copy/replace.yaml` ->
  `scenarios.copy.replace`), `name` the scenario name; `file` and `line` point at the YAML: at the failing
  step when the scenario failed, else at the scenario.
- A failure carries the real error: `message` is `file:line: ` and its first line, the element's text has the
  location, the step and its kind, the command, the full message, the output tail and the artifacts directory.
- `<system-out>` has the namespace and artifacts directory, each step's verdict and the failing step's output
  tail (escape sequences stripped).
- Properties: run id, cluster kind and name, server and kubectl versions (and the signal that interrupted the run)
  on the suite.
- An interrupted run is an error: the scenario it stopped has one, and a run stopped between scenarios gets a
  testcase `run interrupted` carrying it.
The file is (re)written when the run finishes and on close, atomically.

junitparser's xunit2 flavour builds the document and counts the suite; this module adds the testcase's `file` and
`line`, strips what XML 1.0 cannot carry, and writes the file (indented, then renamed into place).
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import junitparser
from junitparser import xunit2

from kdbgtest.report import record

# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class TestCase(xunit2.TestCase):
    """An xunit2 testcase with the `file` and `line` the schema allows (CI annotations point there)."""

    file = junitparser.Attr()
    line = junitparser.IntAttr()


def reporter(path: Path) -> JUnitReporter:
    """The reporter behind `kdbgtest run --junit FILE`."""
    return JUnitReporter(path)


class JUnitReporter(record.FileReporter):
    """Collects events; writes `path` as JUnit XML when the run finishes (and on close)."""

    def __init__(self, path: Path, *, root: Path | None = None, tail_lines: int = record.TAIL_LINES) -> None:
        super().__init__(path)
        self.root = root or Path.cwd()
        self.tail_lines = tail_lines
        self._timestamp = datetime.now(UTC).replace(microsecond=0).isoformat()
        self._started = time.monotonic()

    def _write_to(self, partial: Path) -> None:
        tree = ET.ElementTree(ET.fromstring(self.document().tostring()))
        ET.indent(tree)
        tree.write(partial, encoding="utf-8", xml_declaration=True)

    def document(self) -> xunit2.JUnitXml:
        """The `<testsuites>` document for everything recorded so far."""
        summary = self.recorder.summary
        cases: list[junitparser.TestCase] = [
            self._testcase(s) for s in self.recorder.scenarios.values() if s.finished is not None
        ]
        if summary and summary.interrupted and not any(c.is_error for c in cases):
            cases.append(_interrupted_case(summary.interrupted))
        cases += [_not_run_case(name) for name in (summary.not_run if summary else ())]
        suite = xunit2.TestSuite("kdbgtest")
        suite.timestamp = self._timestamp
        suite.hostname = socket.gethostname()
        self._suite_properties(suite)
        suite.add_testcases(cases)
        suites = xunit2.JUnitXml("kdbgtest")  # the schema has no `skipped` here
        suites.add_testsuite(suite)
        suites.update_statistics()
        duration = summary.duration if summary else time.monotonic() - self._started
        suites.time = suite.time = round(duration, 3)  # the run's, not the sum of the scenarios'
        return suites

    def _suite_properties(self, suite: xunit2.TestSuite) -> None:
        run = self.recorder.run
        if run is None:
            return
        values = {
            "run_id": run.run_id,
            "cluster_kind": run.cluster_kind,
            "cluster_name": run.cluster_name,
            "cluster_server": run.cluster_server,
            "server_version": run.server_version,
            "kubectl_version": run.kubectl_version,
            "interrupted": self.recorder.summary.interrupted if self.recorder.summary else "",
        }
        for name, value in values.items():
            if value:
                suite.add_property(name, _xml(value))

    def _testcase(self, scenario: record.ScenarioRecord) -> TestCase:
        done = scenario.finished
        assert done is not None
        case = TestCase(done.scenario, self._classname(done.path), round(done.duration, 3))
        case.file = str(self._relative(done.path))
        if scenario.started is not None:
            case.line = scenario.started.line
        if done.verdict in ("failed", "error"):
            failure = record.describe_failure(scenario, self.tail_lines)
            if failure.line:
                case.line = failure.line  # the failing step's, for annotations at file:line
            where = str(self._relative(failure.path)) + (f":{failure.line}" if failure.line else "")
            kind = junitparser.Failure if done.verdict == "failed" else junitparser.Error
            result = kind(_xml(f"{where}: {failure.summary}"), f"kdbgtest.{done.verdict}")
            result.text = _xml(_failure_text(failure))
            case.result = [result]
        elif done.verdict == "skipped":
            case.result = [junitparser.Skipped(_xml(done.message))]
        out = self._system_out(scenario)
        if out:
            case.system_out = _xml(out)
        return case

    def _system_out(self, scenario: record.ScenarioRecord) -> str:
        lines = []
        done = scenario.finished
        if done is not None and done.verdict != "skipped" and scenario.started and scenario.started.namespace:
            lines.append(f"namespace: {scenario.started.namespace}")
        if done is not None and done.artifacts:
            lines.append(f"artifacts: {done.artifacts}")
        for index in sorted(scenario.steps):
            step = scenario.steps[index]
            if step.finished is None:
                continue
            kind = f" ({step.started.kind})" if step.started else ""
            lines.append(f"[{index}] {step.finished.step}{kind}: {step.finished.verdict} {step.finished.duration:.1f}s")
        if done is not None and done.verdict in ("failed", "error"):
            failure = record.describe_failure(scenario, self.tail_lines)
            if failure.tail:
                lines += [
                    "",
                    f"output of the failing step (last lines, {failure.transcript or 'not a session'}):",
                ]
                lines += failure.tail.splitlines()
        return "\n".join(lines) + "\n" if lines else ""

    def _classname(self, path: Path) -> str:
        relative = self._relative(path).with_suffix("")
        return ".".join(part for part in relative.parts if part not in ("", ".", "..", "/"))

    def _relative(self, path: Path) -> Path:
        try:
            return path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return path


def _interrupted_case(signal_name: str) -> TestCase:
    """A run stopped between scenarios (or before the first) is still an error a CI system must show."""
    case = TestCase("run interrupted", "kdbgtest", 0.0)
    message = f"the run stopped early ({signal_name}); the remaining scenarios were not run"
    error = junitparser.Error(message, "kdbgtest.interrupted")
    error.text = message + "\n"
    case.result = [error]
    return case


def _not_run_case(scenario: str) -> TestCase:
    """A scenario --fail-fast left out: skipped, saying why."""
    case = TestCase(scenario, "kdbgtest", 0.0)
    case.result = [junitparser.Skipped("not run: --fail-fast stopped the run at the first failure")]
    return case


def _failure_text(failure: record.Failure) -> str:
    parts = [f"at {failure.location}" + (f", {failure.step}" if failure.step else "")]
    if failure.command:
        parts.append(f"$ {failure.command}")
    parts.append(failure.message)
    if failure.tail:
        parts.append(f"output (last lines{', ' + str(failure.transcript) if failure.transcript else ''}):")
        parts.append("\n".join("  | " + line for line in failure.tail.splitlines()))
    if failure.artifacts:
        parts.append(f"artifacts: {failure.artifacts}")
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)
