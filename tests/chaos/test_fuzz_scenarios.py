"""Hostile and broken scenario files: `kdbgtest validate` answers each with `file:line:col: message` lines, exit 0
or 1, no traceback, within a deadline and a memory limit.

- seeded mutants of the real files under `scenarios/` (byte flips, truncation, duplication, alias bombs, deep
  nesting, type swaps, tags, unicode, NUL bytes, invalid UTF-8, oversized files), each run through
  `kdbgtest.cli.main(["validate", FILE])` in a forked child (kdbgtest already imported, so a mutant costs
  milliseconds) under RLIMIT_AS, killed at a deadline;
- a few of them through the real `kdbgtest` executable, with a memory rlimit and a timeout;
- the corpus of the worst inputs found (tests/data/scenarios/hostile/), each with its expected first line, also
  as collected by the pytest plugin.

KDBGTEST_FUZZ_COUNT (default 300) and KDBGTEST_FUZZ_SEED (default 13) choose the mutants; a failure names each
misbehaving mutant and keeps it under the test's tmp_path. A campaign: `python tests/chaos/fuzz_runner.py`.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import fuzz_runner
import pytest
import scenario_fuzz

from kdbgtest.scenario import limits

pytest_plugins = ["pytester"]

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "hostile"
CORPUS = sorted(HOSTILE.glob("*.yaml"))
COUNT = int(os.environ.get("KDBGTEST_FUZZ_COUNT", "300"))
SEED = int(os.environ.get("KDBGTEST_FUZZ_SEED", "13"))
# A bound per input that holds on a busy 2-core machine; an unbounded input (an alias bomb) runs for minutes.
DEADLINE = 15.0
CLI_MEMORY = 1024 * 1024 * 1024  # address space for a whole `kdbgtest` process (it needs ~100 MiB)
KDBGTEST = Path(sys.executable).with_name("kdbgtest")


def test_mutants_of_the_real_scenarios_give_positioned_errors_never_a_traceback_or_a_hang(tmp_path: Path) -> None:
    failures: list[str] = []
    kept = tmp_path / "misbehaved"
    outcomes = []
    for mutant in scenario_fuzz.mutants(SEED, COUNT):
        path = tmp_path / "scenario.yaml"
        path.write_bytes(mutant.data)
        outcome = fuzz_runner.run_forked(path, deadline=DEADLINE)
        outcomes.append(outcome)
        found = fuzz_runner.problems(outcome, path, deadline=DEADLINE)
        if found:
            kept.mkdir(exist_ok=True)
            (kept / f"{len(failures):03d}.yaml").write_bytes(mutant.data)
            failures.append(f"{mutant.name}: {'; '.join(found)}")
            if len(failures) == 10:  # enough to act on, and a hang costs the deadline each time
                break
    assert failures == [], f"kept in {kept}"
    assert len(outcomes) == COUNT
    assert any(o.code == 1 for o in outcomes) and any(o.code == 0 for o in outcomes), "mutants too tame or too wild"


def test_the_fuzzer_finds_what_an_unbounded_loader_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above can fail: with the limits lifted, an alias bomb runs into the deadline or the memory
    limit, and deep nesting gives a traceback."""
    monkeypatch.setattr(limits, "MAX_VALUES", 10**30)
    monkeypatch.setattr(limits, "MAX_DEPTH", 10**6)
    bomb, deep = tmp_path / "bomb.yaml", tmp_path / "deep.yaml"
    shutil.copy(HOSTILE / "alias_bomb.yaml", bomb)
    shutil.copy(HOSTILE / "deep_flow_1000.yaml", deep)
    bombed = fuzz_runner.run_forked(bomb, deadline=3, memory_mb=256)
    assert fuzz_runner.problems(bombed, bomb, deadline=3), bombed
    dug = fuzz_runner.run_forked(deep, deadline=DEADLINE)
    assert any("a traceback" in p for p in fuzz_runner.problems(dug, deep, deadline=DEADLINE)), dug


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_each_hostile_file_gives_its_expected_first_line(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HOSTILE)  # messages name the file as typed: `alias_bomb.yaml:10:7: ...`
    outcome = fuzz_runner.run_forked(Path(path.name), deadline=DEADLINE)
    assert fuzz_runner.problems(outcome, Path(path.name), deadline=DEADLINE) == []
    assert outcome.code == 1
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    assert outcome.stdout.splitlines()[0] == expected
    assert all(fuzz_runner.ERROR_LINE.match(line) for line in outcome.stdout.splitlines())


def test_a_file_past_the_size_limit_is_one_error_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:  # 64 MiB, sparse: reading it whole would show in time and memory
        stream.write(b"name: huge\nsteps: []\n# ")
        stream.truncate(64 * 1024 * 1024)
    outcome = fuzz_runner.run_forked(path, deadline=DEADLINE, memory_mb=32)
    assert fuzz_runner.problems(outcome, path, deadline=DEADLINE) == []
    assert outcome.stdout.splitlines()[0] == (
        f"{path}:1:1: the file is larger than 64 KiB, far more than a scenario needs; is it the right file? "
        "(keep large manifests in their own file and use `apply: {file: ...}`)"
    )


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))


def _validate(*paths: Path, command: str = "validate") -> subprocess.CompletedProcess[str]:
    """The real `kdbgtest validate` (or `list`) executable, with a memory rlimit and a timeout."""
    argv = [str(KDBGTEST), command, *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, preexec_fn=_limited, check=False)


def test_the_real_cli_reports_the_whole_hostile_corpus_in_one_run() -> None:
    """A directory walk (which also looks for Kubernetes manifests in each file) over every hostile file."""
    done = _validate(HOSTILE)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    for path in CORPUS:
        expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
        assert f"{HOSTILE}/{expected}" in lines
    assert all(fuzz_runner.ERROR_LINE.match(line) for line in lines), lines
    assert done.stderr == f"{len(lines)} issue(s) found\n"


def test_list_refuses_the_hostile_corpus_as_bad_input_exit_2() -> None:
    """`list` (like `run`) treats invalid files as bad input: every issue on stderr, exit 2."""
    done = _validate(HOSTILE, command="list")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert all(fuzz_runner.ERROR_LINE.match(line) for line in lines), lines
    assert len(lines) >= len(CORPUS)


def test_a_handful_of_mutants_through_the_real_cli(tmp_path: Path) -> None:
    wanted = ("alias_bomb", "merge_bomb", "deep_nesting", "nul_byte", "invalid_utf8", "recursive_alias", "type_swap")
    chosen: dict[str, scenario_fuzz.Mutant] = {}
    for mutant in scenario_fuzz.mutants(SEED + 1, 2000):
        first = mutant.name.split("-", 1)[1].split("+")[0].split("(")[0]
        if first in wanted and first not in chosen:
            chosen[first] = mutant
    assert sorted(chosen) == sorted(wanted)
    failures = []
    for name, mutant in chosen.items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(mutant.data)
        done = _validate(path)
        first = done.stdout.splitlines()[0] if done.stdout else ""
        if done.returncode not in (0, 1) or "Traceback" in done.stderr:
            failures.append(f"{mutant.name}: exit {done.returncode}: {done.stderr[-300:]}")
        elif done.returncode == 1 and not (fuzz_runner.ERROR_LINE.match(first) and first.startswith(f"{path}:")):
            failures.append(f"{mutant.name}: first line {first!r}")
    assert failures == []


def test_the_pytest_plugin_collects_the_hostile_corpus_as_positioned_errors(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    """Collection looks into each file (is it a Kubernetes manifest?) before loading it: no traceback there."""
    shutil.copytree(HOSTILE, pytester.path / "scenarios", ignore=shutil.ignore_patterns("*.expected", "*.md"))
    result = pytester.runpytest_subprocess(*plugin_args, "--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    output = result.stdout.str()
    assert "Traceback" not in output and "RecursionError" not in output
    for path in CORPUS:
        expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
        assert f"scenarios/{expected}" in result.stdout.lines
