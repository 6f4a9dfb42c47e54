"""Output paths are checked before anything runs (issue 11, item 8): `--junit`/`--json`/`--artifacts` of `run`
and `--out` of `matrix` and `upgrade`. A path that cannot be written was found only after the whole run, as a
traceback, and the results were lost; now it is one line naming the option and the fix, exit 2, and no
cluster is touched (the fake kubectl records no call; no sim cluster is started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl
from test_cli_commands import DISCOVERY, kdbgtest, run_fake, write


def _untouched(fake: FakeKubectl) -> bool:
    return not (fake.state / "calls.jsonl").exists()


def test_junit_naming_a_directory_stops_before_the_run(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    taken = tmp_path / "reports"
    taken.mkdir()
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--junit", str(taken))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"kdbgtest: error: --junit {taken}: cannot write a file there (it is a directory); pass a file path, "
        "e.g. one inside that directory\n"
    )
    assert done.stdout == ""
    assert _untouched(fake_kubectl), fake_kubectl.commands()
    assert not (tmp_path / "art").exists()


def test_json_below_a_file_stops_before_the_run(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    blocker = tmp_path / "results"
    blocker.write_text("a file\n")
    target = blocker / "run" / "report.json"
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--json", str(target))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"kdbgtest: error: --json {target}: cannot write a file there ({blocker} is not a directory); "
        "pass a file in a writable directory\n"
    )
    assert _untouched(fake_kubectl)
    assert blocker.read_text() == "a file\n"


def test_junit_and_json_naming_one_file_is_refused(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    same = tmp_path / "out" / "report.xml"
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--junit", str(same), "--json",
                    str(same))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == f"kdbgtest: error: --junit and --json both name {same}; give each its own file\n"
    assert _untouched(fake_kubectl)
    assert not (tmp_path / "out").exists()


def test_missing_parent_directories_are_fine_and_created_by_the_run(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    junit = tmp_path / "new" / "deeper" / "junit.xml"
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert junit.read_text().startswith("<?xml")


def test_matrix_out_naming_a_file_stops_before_any_cluster_starts(tmp_path: Path) -> None:
    taken = tmp_path / "report"
    taken.write_text("x")
    done = kdbgtest("matrix", "scenarios", "--clusters", "sim:1.34", "--out", taken, "-k", "ephemeral-named")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"kdbgtest: error: --out {taken}: cannot write there (a file of that name is in the way); "
        "pass a writable directory\n"
    )
    assert done.stdout == ""  # `== sim 1.34 (1/1, ...)` would be printed as the cluster starts


def test_matrix_out_with_a_directory_where_a_report_goes(tmp_path: Path) -> None:
    (tmp_path / "report" / "matrix.html").mkdir(parents=True)
    done = kdbgtest("matrix", "--results", tmp_path / "none.json", "--out", tmp_path / "report")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"kdbgtest: error: --out {tmp_path / 'report'}: cannot write there ({tmp_path / 'report' / 'matrix.html'} "
        "is a directory, where a report file goes); pass a writable directory\n"
    )


def test_upgrade_out_below_a_file_stops_before_any_cluster_starts(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = kdbgtest("upgrade", "scenarios", "--cluster", "sim", "--from", "1.36", "--to", "1.37", "--out",
                    blocker / "upgrade")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"kdbgtest: error: --out {blocker / 'upgrade'}: cannot write there ({blocker} is not a directory); "
        "pass a writable directory\n"
    )
    assert done.stdout == ""  # `== phase before` would be printed once the cluster is up


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_directory_is_named(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = run_fake(tmp_path, fake_kubectl, write(tmp_path, "busybox:1.36"), "--json", str(locked / "r.json"))
    assert done.returncode == 2
    assert f"({locked} is not writable)" in done.stderr
    assert _untouched(fake_kubectl)
