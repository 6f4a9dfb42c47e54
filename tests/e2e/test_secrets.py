"""The run's credentials never reach a report: a scenario that types the cluster's bearer token in a debug session
and prints the kubeconfig with `kubectl config view --raw` (then fails, so its output is shown) leaves the token
in none of the console output, the JUnit and JSON reports, the transcripts and the artifacts; `[REDACTED]`
stands in its place."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import suite_support as support
import yaml

from kdbgtest.runner import redact

pytestmark = [pytest.mark.sim, pytest.mark.e2e]


def _scenario(directory: Path, token: str) -> Path:
    path = directory / "prints-credentials.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        name: prints-credentials
        fixtures:
          - fixture: sleeper
        steps:
          - name: type-the-token
            debug: {{mode: ephemeral, pod: app, image: busybox:1.36, container: dbg, interactive: true}}
            session:
              - send: echo "tok=$(echo {token} | wc -c)" {token}
              - regex: 'tok=\\d+'
              - send: exit
              - end: true
          - name: show-kubeconfig
            kubectl: {{args: [config, view, --raw]}}
            expect:
              stdout: {{contains: "text that is not there"}}
        """)
    )
    return path


def test_the_bearer_token_is_redacted_everywhere(suite_sim: support.SuiteSim, tmp_path: Path) -> None:
    kubeconfig = suite_sim.info.kubeconfig
    (token,) = [
        u["user"]["token"]
        for u in yaml.safe_load(kubeconfig.read_text())["users"]
        if u["name"].startswith("kdbg-sim-")  # the admin (the named users' tokens are redacted alike)
    ]
    assert len(token) >= redact.MIN_LENGTH
    reports = tmp_path / "reports"
    argv = [sys.executable, "-m", "kdbgtest.cli", "run", str(_scenario(tmp_path, token)), "--cluster", "kubeconfig",
            "--kubeconfig", str(kubeconfig), "--artifacts", str(reports / "artifacts"), "--junit",
            str(reports / "junit.xml"), "--json", str(reports / "report.json")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(support.REPO)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # the second step fails on purpose
    assert "[REDACTED]" in done.stdout, done.stdout  # the kubeconfig's output tail was shown, redacted
    assert token not in done.stdout + done.stderr
    files = [p for p in reports.rglob("*") if p.is_file()]
    transcripts = [p for p in files if "transcript" in p.name]
    assert transcripts, files
    assert any(b"[REDACTED]" in p.read_bytes() for p in transcripts), transcripts
    assert b"[REDACTED]" in (reports / "junit.xml").read_bytes()
    leaking = [str(p) for p in files if token.encode() in p.read_bytes()]
    assert leaking == []
