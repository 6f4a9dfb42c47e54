"""The suite's own signal handling (tests/suite_signals.py): a pytest run that gets SIGTERM or SIGHUP tears its
fixtures down (in the real suite: the session sims) and exits 2, as it does on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
SUITE = """
import pathlib, time
import pytest

@pytest.fixture(scope="session")
def cluster():
    yield
    pathlib.Path("torn-down").write_text("yes")

def test_long(cluster):
    pathlib.Path("started").write_text("yes")
    time.sleep(60)
"""


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signalled_suite_tears_its_fixtures_down(tmp_path: Path, number: signal.Signals) -> None:
    (tmp_path / "test_long.py").write_text(SUITE)
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    argv = [sys.executable, "-m", "pytest", "-p", "suite_signals", "-p", "no:cacheprovider", "-q"]
    argv += ["--rootdir", str(tmp_path), "--confcutdir", str(tmp_path), "test_long.py"]
    suite = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert suite.poll() is None, suite.communicate()[0].decode()
            assert time.monotonic() < deadline, "the inner suite's test never started"
            time.sleep(0.05)
        suite.send_signal(number)
        output = suite.communicate(timeout=30)[0].decode()
    finally:
        suite.kill()
        suite.wait()
    assert suite.returncode == pytest.ExitCode.INTERRUPTED, output
    assert (tmp_path / "torn-down").read_text() == "yes", output
