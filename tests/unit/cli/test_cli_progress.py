"""Long waits say what they await (issue 11, item 9): `kdbgtest run` used to print nothing while a wait ran.
Black-box, against the recording fake kubectl: a `wait` step for a state the pod never reaches."""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import pexpect
from kdbg_fakes import FakeKubectl
from test_cli_commands import DISCOVERY, REPO, run_fake

WAITING = """
    name: slow
    fixtures:
      - fixture: sleeper
    steps:
      - name: never-completes
        wait: {pod: app, for: completed, timeout: TIMEOUT}
"""


def _scenario(tmp_path: Path, timeout: int) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(textwrap.dedent(WAITING.replace("TIMEOUT", str(timeout))).lstrip())
    return path


def test_a_log_says_every_10s_what_is_awaited(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    done = run_fake(tmp_path, fake_kubectl, _scenario(tmp_path, 12))
    assert done.returncode == 1, done.stdout + done.stderr
    # one line, once 10 s have passed (on a busy machine the poll that writes it may come a second later)
    lines = done.stderr.splitlines()
    expected = r"kdbgtest: still waiting for pod app to be completed \(1[01]s of 12s\)"
    assert len(lines) == 1 and re.fullmatch(expected, lines[0]), lines
    assert "\r" not in done.stdout + done.stderr and "\x1b" not in done.stdout + done.stderr
    assert "FAIL   slow" in done.stdout  # the console's own lines are unchanged
    assert "timed out after 12s waiting for pod app to be completed" in done.stdout


def test_a_terminal_shows_a_status_line_that_is_erased(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    argv = ["-m", "kdbgtest.cli", "run", str(_scenario(tmp_path, 3)), "--kubeconfig", str(kubeconfig),
            "--kubectl", str(fake_kubectl.path), "--artifacts", str(tmp_path / "art")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    child = pexpect.spawn(sys.executable, argv, env=env, cwd=str(tmp_path), timeout=120, dimensions=(24, 200))
    child.expect(pexpect.EOF)
    child.close()
    text = bytes(child.before).decode()
    assert child.exitstatus == 1, text
    status = "waiting for pod app to be completed: 2s of 3s"
    assert f"\r{status}" in text, repr(text)
    assert f"\r{' ' * len(status)}\r" in text  # erased before the verdict is printed
    assert "still waiting" not in text and "\x1b" not in text
    assert text.index(status) < text.index("FAIL   slow")
