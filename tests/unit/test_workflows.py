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
    """The workflows run `kdbgtest matrix`: it must be a command of kdbgtest.cli."""
    assert "matrix" in kdbgtest_commands()


def test_ci_lints_then_tests_with_the_offline_cluster() -> None:
    jobs = load(WORKFLOWS / "ci.yml")["jobs"]
    lint = [s["run"] for s in jobs["lint"]["steps"] if "run" in s]
    assert lint == ["sudo --preserve-env=PIP_CACHE_DIR ./dev lint", "sudo chmod -R a+rX .cache"]
    assert jobs["tests"]["needs"] == "lint"
    runs = [s["run"] for s in jobs["tests"]["steps"] if "run" in s]
    assert runs[0].startswith("sudo --preserve-env=PIP_CACHE_DIR ./dev tests")
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
    assert "sha256sum -c -" in script


def test_e2e_uploads_artifacts_on_failure_and_reports_the_matrix_in_the_summary() -> None:
    jobs = load(WORKFLOWS / "e2e.yml")["jobs"]
    uploads = [s for s in jobs["kind"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert any(s["if"] == "failure()" and s["with"]["path"] == "reports/" for s in uploads)
    report = jobs["matrix-report"]
    assert report["needs"] == "kind" and report["if"] == "always()"
    script = "\n".join(s.get("run", "") for s in report["steps"])
    assert "kdbgtest matrix --results results/*/results.json" in script
    assert '>> "$GITHUB_STEP_SUMMARY"' in script


# -- for CI users (issue 11): caching, cancelled superseded runs, summaries, annotations, named artifacts ------

PIP_CACHE = "${{ github.workspace }}/.cache/pip"


def jobs_of(path: Path) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = load(path)["jobs"]
    return jobs


def sudo_preserves(words_line: str) -> set[str]:
    """The variables `sudo --preserve-env=A,B` keeps in a command line."""
    found = re.search(r"sudo --preserve-env=([\w,]+)", words_line)
    return set(found[1].split(",")) if found else set()


def installs_python_packages(job: dict[str, Any]) -> bool:
    script = "\n".join(s.get("run", "") for s in job["steps"])
    return "./dev " in script or "pip install" in script


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_job_that_installs_packages_caches_pip(path: Path) -> None:
    for name, job in jobs_of(path).items():
        if not installs_python_packages(job):
            continue
        assert job.get("env", {}).get("PIP_CACHE_DIR") == PIP_CACHE, name  # one place for root's pip and ours
        caches = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
        assert any(s["with"]["path"] in (".cache/pip", ".cache/") for s in caches), name
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                if line.lstrip().startswith("sudo") and "./dev" in line:
                    assert "PIP_CACHE_DIR" in sudo_preserves(line), (name, line)  # sudo resets the environment


def test_the_pip_cache_is_keyed_by_the_dependencies() -> None:
    for path in (WORKFLOWS / "ci.yml", WORKFLOWS / "e2e.yml"):
        for name, job in jobs_of(path).items():
            (cache,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
            assert cache["with"]["path"] == ".cache/pip", name
            assert "hashFiles('pyproject.toml')" in cache["with"]["key"], name
            assert cache["with"]["key"].startswith(cache["with"]["restore-keys"]), name
            if any("sudo" in s.get("run", "") for s in job["steps"]):
                # root's pip writes the cache; actions/cache saves it as the runner user at the end of the job
                chmod = [s for s in job["steps"] if "chmod" in s.get("run", "") and ".cache" in s["run"]]
                assert [s["if"] for s in chmod] == ["always()"], name


@pytest.mark.parametrize("path", [WORKFLOWS / "ci.yml", WORKFLOWS / "e2e.yml"], ids=["ci.yml", "e2e.yml"])
def test_a_newer_push_cancels_the_run_it_supersedes(path: Path) -> None:
    concurrency = load(path)["concurrency"]
    assert concurrency["group"] == "${{ github.workflow }}-${{ github.ref }}"  # per workflow and branch or PR
    assert concurrency["cancel-in-progress"] is True


@pytest.mark.parametrize(
    ("path", "job", "report"),
    [("ci.yml", "tests", "test-results/junit.xml"), ("e2e.yml", "kind", "reports/junit.xml")],
)
def test_the_junit_report_is_summarised_in_the_job_summary(path: str, job: str, report: str) -> None:
    job_steps = jobs_of(WORKFLOWS / path)[job]["steps"]
    runs = "\n".join(s.get("run", "") for s in job_steps)
    assert f"--junitxml={report}" in runs or f"--junit {report}" in runs  # the report the tests write
    (summary,) = [s for s in job_steps if "kdbgtest summary" in s.get("run", "")]
    assert summary["run"] == f'.venv/bin/kdbgtest summary {report} >> "$GITHUB_STEP_SUMMARY"'
    assert summary["if"] == f"always() && hashFiles('{report}') != ''"  # after a failure too, if there is one


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_kdbgtest_run_under_sudo_sees_github_actions_and_annotates(path: Path) -> None:
    """`kdbgtest run` prints `::error file=...,line=...` only when GITHUB_ACTIONS=true; sudo would drop it."""
    for step in steps(path):
        for line in step.get("run", "").replace("\n", " ").split("&&"):
            if "sudo" in line and "./dev scenarios" in line:
                assert "GITHUB_ACTIONS" in sudo_preserves(line), line


def test_e2e_artifacts_are_named_by_cluster_and_version() -> None:
    job = jobs_of(WORKFLOWS / "e2e.yml")["kind"]
    for entry in job["strategy"]["matrix"]["include"]:
        assert entry["cluster"] == f"clusters/kind-{entry['version']}.yaml", entry
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [s["with"]["name"] for s in uploads] == ["results-kind-${{ matrix.version }}",
                                                   "artifacts-kind-${{ matrix.version }}"]  # fmt: skip
    report = jobs_of(WORKFLOWS / "e2e.yml")["matrix-report"]
    (download,) = [s for s in report["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert download["with"]["pattern"] == "results-*"
    (upgrade,) = [s for s in steps(WORKFLOWS / "upgrade.yml") if s.get("uses", "").startswith("actions/upload")]
    assert upgrade["with"]["name"] == "upgrade-report-local-${{ env.FROM }}-to-${{ env.TO }}"


def test_dependabot_updates_the_pinned_actions_weekly() -> None:
    config = load(ROOT / ".github" / "dependabot.yml")
    assert config["version"] == 2
    (update,) = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert update["directory"] == "/" and update["schedule"]["interval"] == "weekly"
