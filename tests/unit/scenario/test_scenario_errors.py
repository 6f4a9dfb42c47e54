"""Every deliberately broken scenario file gives exactly its expected `file:line:col: message` lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kdbgtest.base import errors
from kdbgtest.scenario import loader

DATA = Path(__file__).resolve().parents[2] / "data" / "scenarios"
BAD = sorted((DATA / "bad").glob("*.yaml"))
# Loaded from the directory, a file that is not a scenario (here a YAML list) is skipped, not reported.
IN_DIRECTORY = [p for p in BAD if p.name != "not_mapping.yaml"]


def test_every_bad_file_has_an_expected_file() -> None:
    assert len(BAD) >= 20
    missing = [p.name for p in BAD if not p.with_suffix(".expected").is_file()]
    assert missing == []


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_reports_exactly_the_expected_issues(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)  # messages name the file as users typed it: `unknown_key.yaml:7:7: ...`
    loaded, issues = loader.check_file(Path(path.name))
    assert loaded is None
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert [str(issue) for issue in issues] == expected


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_load_file_raises_a_scenario_error_with_every_issue(path: Path) -> None:
    with pytest.raises(errors.ScenarioError) as caught:
        loader.load_file(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(path.with_suffix(".expected").read_text(encoding="utf-8").splitlines())
    assert all(line.startswith(f"{path}:") for line in lines)


def test_each_kind_of_mistake_has_its_sentence() -> None:
    """The headline messages of the language, as a reader of the docs would look for them."""
    text = "\n".join(p.with_suffix(".expected").read_text(encoding="utf-8") for p in BAD)
    for sentence in (
        "unknown key 'imag' in debug; did you mean 'image'?",
        "'timeout' must be a number, got 'fast'",
        "step 1 'exec-app': exec needs 'command'",
        "must have exactly one of apply, wait, debug, exec, kubectl, assert, events, can_i; found debug and exec",
        "found none; did you mean 'debug' instead of 'debgu'?",
        "unknown fixture 'crashlop'; did you mean 'crashloop'?",
        "fixture 'crashloop' has no parameter 'restart'; did you mean 'restarts'?",
        "invalid regex '(a': missing ), unterminated subpattern at position 0",
        "duplicate step name 'get' (also step 1 'get', line 3)",
        "unknown variable ${debuger}; did you mean ${debugger}?",
        "variable ${debugger} is used before session item 1 of step 2 'attach' captures it",
        "invalid JMESPath 'spec..name': unexpected '.' at position 5",
        "invalid YAML: expected ',' or ']', but got '}'",
        "duplicate key 'image' in debug (first at line 7); keep only one",
        "--target is incompatible with --copy-to. Use --share-processes instead.",
        "the file is empty; a scenario needs 'name' and 'steps'",
        "a scenario file must be a mapping with 'name' and 'steps', got a list",
    ):
        assert sentence in text


def test_issues_are_reported_in_line_order_for_a_file_with_many_mistakes() -> None:
    _, issues = loader.check_file(DATA / "bad" / "several_mistakes.yaml")
    assert len(issues) == 7
    assert [i.line for i in issues] == sorted(i.line for i in issues)


def test_validation_in_a_child_process_prints_issues_and_no_traceback() -> None:
    """A real interpreter loads every bad file and a missing path: sentences only, exit status 1."""
    from kdbgtest.base import process

    code = (
        "import sys; from pathlib import Path; from kdbgtest.scenario import loader\n"
        "result = loader.load_paths([Path(a) for a in sys.argv[1:]])\n"
        "print('\\n'.join(map(str, result.issues)))\n"
        "sys.exit(1 if result.issues else 0)\n"
    )
    argv = [sys.executable, "-c", code, str(DATA / "bad"), str(DATA / "nope.yaml")]
    done = process.run(argv, check=False, timeout=60, env={"PYTHONPATH": str(DATA.parents[2])})
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == sum(len(p.with_suffix(".expected").read_text().splitlines()) for p in IN_DIRECTORY) + 1
    assert f"{DATA / 'nope.yaml'}: no such file or directory" in lines


def test_kdbgtest_validate_prints_every_expected_line_and_exits_1() -> None:
    """The front end users run: `kdbgtest validate DIR` in a child process, every issue, no traceback."""
    from kdbgtest.base import process

    root = DATA.parents[2]
    code = "import sys; from kdbgtest import cli; sys.exit(cli.main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "validate", str(DATA / "bad")]
    done = process.run(argv, check=False, timeout=60, env={"PYTHONPATH": str(root)})
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 1
    bad = DATA / "bad"
    expected = [
        f"{bad}/{line}".replace("(looked for missing.yaml)", f"(looked for {bad / 'missing.yaml'})")
        for p in IN_DIRECTORY
        for line in p.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(done.stdout.splitlines()) == sorted(expected)
