"""`kdbgtest summary JUNIT...`: JUnit reports as Markdown, for a CI job summary (`>> "$GITHUB_STEP_SUMMARY"`).

Reads kdbgtest's own reports and any other JUnit XML (pytest's too): per file, a line of counts, then a table
of the tests that failed or errored with their `file:line` (or class name) and the first line of the message.

    #### junit.xml: 3 tests, 1 passed, 1 failed, 0 errors, 1 skipped (20.5 s)

    | result | test | where | message |
    |---|---|---|---|
    | failed | copy-crashloop | scenarios/copy/crashloop.yaml:23 | timed out after 10s waiting for ... |
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base.errors import KdbgtestError

MAX_ROWS = 50  # a job summary is at most 1 MiB; the rest is in the report itself


@dataclass(frozen=True)
class Problem:
    verdict: str  # failed | error
    test: str
    where: str
    message: str


def markdown(paths: list[Path]) -> str:
    """The summary of every report in `paths`."""
    return "\n".join(_section(path, _parse(path)) for path in paths)


def _parse(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except OSError as exc:
        raise KdbgtestError(f"{path}: cannot read the JUnit report ({exc.strerror or exc})") from None
    except ET.ParseError as exc:
        raise KdbgtestError(f"{path}: not a JUnit XML report ({exc})") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise KdbgtestError(f"{path}: not a JUnit XML report (its root is <{root.tag}>, not <testsuites>)")
    return root


def _section(path: Path, root: ET.Element) -> str:
    cases = list(root.iter("testcase"))
    problems = [p for case in cases if (p := _problem(case)) is not None]
    failed = sum(1 for p in problems if p.verdict == "failed")
    errors = len(problems) - failed
    skipped = sum(1 for case in cases if case.find("skipped") is not None)
    passed = len(cases) - len(problems) - skipped
    seconds = sum(float(s.get("time") or 0) for s in _suites(root))
    lines = [
        f"#### {path.name}: {len(cases)} tests, {passed} passed, {failed} failed, {errors} errors, "
        f"{skipped} skipped ({seconds:.1f} s)",
        "",
    ]
    if problems:
        lines += ["| result | test | where | message |", "|---|---|---|---|"]
        lines += [_row(p) for p in problems[:MAX_ROWS]]
        if len(problems) > MAX_ROWS:
            lines.append(f"\n... and {len(problems) - MAX_ROWS} more in {path.name}")
        lines.append("")
    return "\n".join(lines)


def _suites(root: ET.Element) -> list[ET.Element]:
    """The outermost suites (their times already include nested ones)."""
    return [root] if root.tag == "testsuite" else root.findall("testsuite")


def _problem(case: ET.Element) -> Problem | None:
    for tag, verdict in (("failure", "failed"), ("error", "error")):
        found = case.find(tag)
        if found is not None:
            message = found.get("message") or (found.text or "").strip()
            name = case.get("name", "?")
            test = f"{case.get('classname')}.{name}" if case.get("file") is None and case.get("classname") else name
            where = case.get("file", "") + (f":{case.get('line')}" if case.get("file") and case.get("line") else "")
            first = (message.splitlines() or [""])[0]
            return Problem(verdict, test, where, first.removeprefix(f"{where}: ") if where else first)
    return None


def _row(problem: Problem) -> str:
    cells = (problem.verdict, problem.test, problem.where, problem.message)
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")[:300]
