"""`kdbgtest summary`: JUnit reports (kdbgtest's and pytest's) as Markdown for a CI job summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kdbgtest.report import junit
from kdbgtest.runner import events

REPO = Path(__file__).resolve().parents[3]


def summary(*args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "kdbgtest.cli", "summary", *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)


def test_a_kdbgtest_report_as_markdown(run_events: list[events.Event], tmp_path: Path) -> None:
    report = junit.reporter(tmp_path / "junit.xml")
    for event in run_events:
        report.handle(event)
    done = summary(tmp_path / "junit.xml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "#### junit.xml: 3 tests, 1 passed, 1 failed, 0 errors, 1 skipped (20.5 s)",
        "",
        "| result | test | where | message |",
        "|---|---|---|---|",
        "| failed | copy-crashloop | scenarios/copy/crashloop.yaml:23 "
        "| timed out after 10s waiting for the text 'ready'; the last 3 lines seen: |",
    ]


def test_a_pytest_report_and_table_cells_that_need_escaping(tmp_path: Path) -> None:
    path = tmp_path / "pytest.xml"
    path.write_text(
        '<testsuites><testsuite name="pytest" tests="2" errors="1" time="1.5">'
        '<testcase classname="tests.unit.test_a" name="test_x" time="1"/>'
        '<testcase classname="tests.unit.test_a" name="test_y[a|b]" time="0.5">'
        '<error message="fixture failed&#10;second line">trace</error></testcase>'
        "</testsuite></testsuites>"
    )
    lines = summary(path).stdout.splitlines()
    assert lines[0] == "#### pytest.xml: 2 tests, 1 passed, 0 failed, 1 errors, 0 skipped (1.5 s)"
    assert lines[-1] == "| error | tests.unit.test_a.test_y[a\\|b] |  | fixture failed |"


def test_a_missing_or_foreign_file_is_one_line(tmp_path: Path) -> None:
    missing = summary(tmp_path / "nope.xml")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == (
        f"kdbgtest: error: {tmp_path / 'nope.xml'}: cannot read the JUnit report (No such file or directory)\n"
    )
    foreign = tmp_path / "x.xml"
    foreign.write_text("<html/>")
    assert summary(foreign).stderr == (
        f"kdbgtest: error: {foreign}: not a JUnit XML report (its root is <html>, not <testsuites>)\n"
    )
