"""`kdbgtest matrix` as a command: parsing, comparing earlier results, errors before any cluster starts."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
from matrix_runs import Scenario, Step, write_run

from kdbgtest.matrix import cli
from kdbgtest.runner import events


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kdbgtest")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def test_add_parser_registers_matrix_with_the_shared_run_options() -> None:
    args = _parser().parse_args(
        ["matrix", "--clusters", "sim:1.33", "sim:1.34", "-k", "ephemeral", "--tag", "smoke", "--", "scen/"]
    )
    assert args.clusters == ["sim:1.33", "sim:1.34"] and args.paths == [Path("scen/")]
    assert (args.keyword, args.tag, args.out, args.func) == (
        "ephemeral",
        ["smoke"],
        cli.DEFAULT_OUT,
        cli.run_matrix,
    )
    assert args.timeout_scale == 1.0 and args.kubectl is None


def test_workers_reach_the_run_options_of_every_column() -> None:
    from kdbgtest import options

    args = _parser().parse_args(["matrix", "--clusters", "sim", "-n", "3"])
    assert options.run_options(vars(args)).workers == 3
    assert options.run_options(vars(_parser().parse_args(["matrix", "--clusters", "sim"]))).workers == 1


def test_clusters_or_results_but_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _parser().parse_args(["matrix", "--clusters", "sim", "--results", "a.json"])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_results_of_earlier_runs_are_compared_in_version_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    newer = write_run(runs, "job-b", [Scenario("s", "failed", [Step("x", "failed")])], server_version="1.35")
    older = write_run(runs, "job-a", [Scenario("s", steps=[Step("x")])], server_version="1.34")
    out = tmp_path / "report"
    code = cli.main(["--results", str(runs / str(newer.results)), str(runs / str(older.results)), "--out", str(out)])
    assert code == 1, "a regression"
    printed = capsys.readouterr().out
    assert "1 scenario(s) on 2 cluster(s): 1 regression(s)" in printed
    document = json.loads((out / "matrix.json").read_text())
    assert [c["label"] for c in document["columns"]] == ["sim 1.34", "sim 1.35"]
    assert [c["results"] for c in document["columns"]] == [
        "../runs/job-a/results.json",
        "../runs/job-b/results.json",
    ]
    assert (out / "matrix.md").is_file() and (out / "matrix.html").is_file()


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("failed", "failed", 1),  # failing everywhere is no regression, but the suite is broken
        ("error", "error", 1),
        ("passed", "failed", 1),  # a regression
        ("failed", "passed", 1),  # fixed on the newer version, still failing on the older one
        ("passed", "skipped", 0),
        ("passed", "passed", 0),
    ],
)
def test_exit_code_is_1_when_a_scenario_fails_on_any_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: events.Verdict, new: events.Verdict, code: int
) -> None:
    runs, out = tmp_path / "runs", tmp_path / "report"
    steps = {"passed": [Step("x")], "skipped": []}
    results = [
        write_run(runs, name, [Scenario("s", verdict, steps.get(verdict, [Step("x", verdict)]))], server_version=v)
        for name, verdict, v in (("a", old, "1.34"), ("b", new, "1.35"))
    ]
    argv = ["--out", str(out), "--results", *(str(runs / str(r.results)) for r in results)]
    assert cli.main(argv) == code
    printed = capsys.readouterr().out
    document = json.loads((out / "matrix.json").read_text())
    assert document["exit_code"] == code and document["summary"]["failing"] == code
    assert ("1 scenario(s) failing on at least one cluster" in printed) == bool(code)


def test_help_says_what_the_exit_code_means(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["matrix", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit code: 0 every scenario passed (or was skipped) on every cluster;" in text
    assert "1 a scenario failed or errored on at least one cluster" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--clusters", "sim:1.x"],
            "kdbgtest: error: sim:1.x: expected a Kubernetes minor version like 1.34",
        ),
        (
            ["--clusters", "sim", "-k", "no-such-scenario", "--", "SCEN"],
            "kdbgtest: error: no scenario is selected",
        ),
        (["--clusters", "sim", "--", "BROKEN"], "kdbgtest: error: 1 issue(s) in scenario files"),
        (["--results", "NOTRUN"], "is not a kdbgtest-run/1 document of a started run"),
    ],
)
def test_errors_are_one_line_and_come_before_any_cluster_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    scenario = tmp_path / "ok.yaml"
    scenario.write_text("name: ok\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nstepz: []\n")
    not_run = tmp_path / "notrun.json"
    not_run.write_text(json.dumps({"format": "kdbgtest-run/1", "run": None}))
    values = {"SCEN": str(scenario), "BROKEN": str(broken), "NOTRUN": str(not_run)}
    code = cli.main(["--out", str(tmp_path / "out")] + [values.get(a, a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.strip().splitlines()[-1].startswith("kdbgtest: error: ")
    assert not (tmp_path / "out").exists(), "nothing ran, nothing was written"


def test_results_that_moved_since_the_run_still_link_their_transcripts(tmp_path: Path) -> None:
    """As in CI: each job uploads its reports, and the report job downloads them somewhere else."""
    jobs = tmp_path / "jobs"
    session = "line 1\nline 2\n"
    passing = Scenario("s", steps=[Step("x", output=session, tail="", transcript="01-x.transcript.txt")])
    failing = Step("x", "failed", output=session + "boom\n", tail="", transcript="01-x.transcript.txt")
    write_run(jobs, "a", [passing], server_version="1.34")
    write_run(jobs, "b", [Scenario("s", "failed", [failing])], server_version="1.35")
    moved = tmp_path / "downloaded"
    shutil.move(jobs, moved)
    out = tmp_path / "report"
    code = cli.main(["--out", str(out), "--results", str(moved / "b/results.json"), str(moved / "a/results.json")])
    assert code == 1
    (regression,) = json.loads((out / "matrix.json").read_text())["regressions"]
    assert regression["link"] == "../downloaded/b/artifacts/s-0badc0de/01-x.transcript.txt"
    assert (out / regression["link"]).read_text() == session + "boom\n"


def test_a_kind_column_that_cannot_start_is_reported_and_the_matrix_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kind-1.37.yaml"
    image = "kindest/node:v1.37.0@sha256:" + "ab" * 32
    config.write_text(f"kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n"
                      f"    image: {image}\n")  # fmt: skip
    scenario = tmp_path / "ok.yaml"
    scenario.write_text("name: ok\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n")
    out = tmp_path / "out"
    argv = [
        "--out",
        str(out),
        "--kind",
        str(tmp_path / "no-kind"),
        "--clusters",
        str(config),
        "--",
        str(scenario),
    ]
    assert cli.main(argv) == 2, "a cluster that could not be used"
    captured = capsys.readouterr()
    assert f"kdbgtest matrix: kind 1.37.0: kind not found at {tmp_path / 'no-kind'}" in captured.err
    report = json.loads((out / "matrix.json").read_text())
    (column,) = report["columns"]
    assert (column["provider"], column["results"]) == ("kind", None) and "kind not found" in column["error"]
    (row,) = report["scenarios"]
    assert (row["scenario"], row["path"]) == ("ok", str(scenario))
    assert row["cells"][column["id"]]["verdict"] == "missing"
