"""The GitHub Actions workflows cannot run here, so their shape is checked: YAML parses, the keys GitHub needs
are there, every action is pinned to a commit (with its version in a comment), every `run:` line calls
commands that exist (repository scripts and their subcommands, `kdbgtest` subcommands, repository paths),
and the e2e matrix lists exactly the files in clusters/ with the kind release each one cites."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdbgtest import cli
from kdbgtest.cluster import kindconfig

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
USES = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<ref>[0-9a-f]{40}|v\d+(?:\.\d+)*)$")
# Programs a runner has (ubuntu-latest) that the workflows may call besides the repository's own.
EXTERNAL = {"curl", "sha256sum", "install", "rm", "docker", "cat", "echo", "exit", "python3", "chmod", "kind"}
REPO_PATH = re.compile(r"^(?:images|clusters|scenarios|kdbgtest|tests)/")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def steps(path: Path) -> list[dict[str, Any]]:
    return [step for job in load(path)["jobs"].values() for step in job["steps"]]


def dev_commands() -> set[str]:
    """The subcommands of ./dev, from its `case` statement."""
    text = (ROOT / "dev").read_text()
    return {m[1] for m in re.finditer(r"^\s+(\w+)\)\s", text, re.MULTILINE)}


def kdbgtest_commands() -> set[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name for action in actions for name in action.choices}


def commands(script: str) -> list[list[str]]:
    """Each simple command of a `run:` script as words (sudo with its options, env and VAR=value prefixes
    dropped)."""
    found = []
    script = re.sub(r"\$\{\{[^}]*\}\}", "GITHUB_EXPRESSION", script)  # e.g. ${{ matrix.cluster }}
    for line in script.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part, comments=True)
            while words and (words[0] in ("sudo", "env") or re.match(r"^(\w+=|--preserve-env)", words[0])):
                words.pop(0)
            if words:
                found.append(words)
    return found


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_workflow_has_what_github_needs(path: Path) -> None:
    data = load(path)
    assert data.get(True) or data.get("on"), "no `on:` triggers"  # YAML 1.1 reads the key `on` as true
    assert data["jobs"]
    for name, job in data["jobs"].items():
        assert job.get("runs-on") == "ubuntu-latest", name
        assert isinstance(job.get("steps"), list) and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_action_is_pinned_to_a_commit_with_its_version_noted(path: Path) -> None:
    for step in steps(path):
        if "uses" in step:
            match = USES.match(step["uses"])
            assert match and len(match["ref"]) == 40, step["uses"]
    for line in path.read_text().splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_run_line_calls_commands_that_exist(path: Path) -> None:
    dev, kdbgtest = dev_commands(), kdbgtest_commands()
    for step in steps(path):
        for words in commands(step.get("run", "")):
            program = words[0]
            if program.endswith("kdbgtest"):
                assert words[1] in kdbgtest | {"matrix"}, words  # matrix: test_matrix_command_exists
            elif program == "./dev":
                assert words[1] in dev, words
            elif program.startswith(("./", ".venv/")):
                assert program == ".venv/bin/pip" or (ROOT / program).is_file(), words
            else:
                assert program in EXTERNAL, words
            for word in words[1:]:
                if REPO_PATH.match(word) and not re.search(r"[*:]", word):  # not image tags, not globs
                    assert (ROOT / word).exists(), (word, words)


def kdbgtest_argv(words: list[str]) -> list[str] | None:
    """The `kdbgtest` arguments of a command (`./dev scenarios X` runs `kdbgtest run scenarios/ X`)."""
    if words[0].endswith("kdbgtest"):
        return words[1:]
    if words[:2] == ["./dev", "scenarios"]:
        return ["run", "scenarios/", *words[2:]]
    if words[:2] == ["./dev", "upgrade"]:
        return ["upgrade", *words[2:]]
    return None


def matrix_parser() -> argparse.ArgumentParser:
    """`kdbgtest matrix`'s own parser (kdbgtest.matrix.cli), registered in the main CLI or not."""
    from kdbgtest.matrix import cli as matrix_cli

    parser = argparse.ArgumentParser(prog="kdbgtest")
    matrix_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_kdbgtest_accepts_every_option_the_workflows_pass(path: Path) -> None:
    parser = cli.build_parser()
    for step in steps(path):
        for words in commands(step.get("run", "")):
            argv = kdbgtest_argv(words)
            if argv is None:
                continue
            try:
                matrix_parser().parse_args(argv) if argv[0] == "matrix" else parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"kdbgtest rejects the arguments of `{shlex.join(words)}` in {path.name}")


def test_matrix_command_exists() -> None:
    if "matrix" not in kdbgtest_commands():
        pytest.skip("`kdbgtest matrix` is not registered in kdbgtest.cli yet (issue 5, item 5)")
    assert "matrix" in kdbgtest_commands()


def test_ci_lints_then_tests_with_the_offline_cluster() -> None:
    jobs = load(WORKFLOWS / "ci.yml")["jobs"]
    assert [s["run"] for s in jobs["lint"]["steps"] if "run" in s] == ["sudo ./dev lint"]
    assert jobs["tests"]["needs"] == "lint"
    runs = [s["run"] for s in jobs["tests"]["steps"] if "run" in s]
    assert runs[0].startswith("sudo ./dev tests")
    uploads = [s for s in jobs["tests"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [s["if"] for s in uploads] == ["failure()"]


def test_e2e_matrix_is_exactly_the_cluster_files_with_their_kind_release() -> None:
    job = load(WORKFLOWS / "e2e.yml")["jobs"]["kind"]
    include = job["strategy"]["matrix"]["include"]
    files = sorted(f"clusters/{p.name}" for p in (ROOT / "clusters").glob("*.yaml"))
    assert sorted(entry["cluster"] for entry in include) == files
    checksums: dict[str, str] = {}
    for entry in include:
        assert entry["kind"] == kindconfig.kind_release(ROOT / entry["cluster"]), entry
        assert re.fullmatch(r"[0-9a-f]{64}", entry["kind_sha256"]), entry
        assert checksums.setdefault(entry["kind"], entry["kind_sha256"]) == entry["kind_sha256"], entry
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert "--cluster kind --kind-config ${{ matrix.cluster }}" in script
    assert 'sha256sum -c -' in script


def test_e2e_uploads_artifacts_on_failure_and_reports_the_matrix_in_the_summary() -> None:
    jobs = load(WORKFLOWS / "e2e.yml")["jobs"]
    uploads = [s for s in jobs["kind"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert any(s["if"] == "failure()" and s["with"]["path"] == "reports/" for s in uploads)
    report = jobs["matrix-report"]
    assert report["needs"] == "kind" and report["if"] == "always()"
    script = "\n".join(s.get("run", "") for s in report["steps"])
    assert "kdbgtest matrix --results results/*/results.json" in script
    assert '>> "$GITHUB_STEP_SUMMARY"' in script
