"""The JSON run document: stable, complete, and replayable into the original events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdbgtest.report import json_report
from kdbgtest.runner import events


def write(run_events: list[events.Event], path: Path) -> dict[str, object]:
    reporter = json_report.reporter(path)
    for event in run_events:
        reporter.handle(event)
    reporter.close()
    document: dict[str, object] = json.loads(path.read_text())
    return document


def test_events_round_trip(run_events: list[events.Event], tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write(run_events, path)
    assert json_report.load_events(path) == run_events


def test_document_is_stable_and_summarised(run_events: list[events.Event], tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    document = write(run_events, path)
    assert path.read_text() == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert document["format"] == "kdbgtest-run/1"
    assert document["run"] == {
        "run_id": "3f9a2c1d",
        "cluster_kind": "sim",
        "cluster_name": "kdbgtest",
        "server_version": "1.33",
        "kubectl_version": "1.37.1",
        "scenario_count": 3,
        "nodes": [],
        "cluster_server": "",
    }
    assert document["summary"] == {
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "skipped": 1,
        "duration": 20.5,
        "interrupted": "",
        "not_run": [],
        "cleanup_problems": [],
    }
    scenarios = document["scenarios"]
    assert isinstance(scenarios, list)
    assert [(s["scenario"], s["verdict"], s["path"]) for s in scenarios] == [
        ("ephemeral-target", "passed", "scenarios/ephemeral/target.yaml"),
        ("copy-crashloop", "failed", "scenarios/copy/crashloop.yaml"),
        ("node-sysadmin", "skipped", "scenarios/node/sysadmin.yaml"),
    ]
    failing = scenarios[1]["steps"][1]
    assert failing["kind"] == "debug" and failing["line"] == 23 and failing["verdict"] == "failed"
    assert failing["transcript"].endswith("02-attach-debug.transcript.txt")
    assert scenarios[1]["cleanup"]["problems"] == ["pod node-debugger-w1-abcde: still terminating after 120s"]
    assert len(document["events"]) == len(run_events)  # type: ignore[arg-type]


def test_a_foreign_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else", "events": []}')
    with pytest.raises(ValueError, match="is not a kdbgtest-run/1 document"):
        json_report.load_events(path)


def test_a_fail_fast_run_names_what_it_left_out_and_round_trips(tmp_path: Path) -> None:
    finished = events.RunFinished(passed=0, failed=1, errors=0, skipped=0, duration=1.0, not_run=("b", "c"))
    path = tmp_path / "run.json"
    document = write([finished], path)
    assert document["summary"]["not_run"] == ["b", "c"]  # type: ignore[index]
    assert json_report.load_events(path) == [finished]
    old = json.loads(path.read_text())  # a document written before the field existed still loads
    del old["events"][0]["data"]["not_run"]
    path.write_text(json.dumps(old))
    assert json_report.load_events(path) == [events.RunFinished(0, 1, 0, 0, 1.0)]
