"""An in-place upgrade of the real local cluster, interrupted: what it says, what is true, and `down` after it.

`kdbgtest upgrade --cluster local --keep-cluster` is stopped with SIGINT while kube-scheduler is being replaced.
It must name each component's version; `kdbgtest local status` must say the same; and the process behind each
recorded component must really run that version's binary (its /proc/PID/exe lies in that version's bin directory).
Then `kdbgtest local down` removes everything (its own leak check, and the host's footprint as before).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from local_support import REPO, cli

from kdbgtest.local import build, layout, pins

FROM, TO = "v1.36.3", "v1.37.2"
ORDER = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")


@pytest.fixture
def both_versions_built(clean_host: dict[str, object]) -> None:
    missing = [v for v in (FROM, TO) if not build.is_built(pins.load(v))]
    if not missing:
        return
    reason = f"not built: {', '.join(missing)} (`kdbgtest local build --kubernetes-version V`)"
    if os.environ.get("KDBGTEST_REQUIRE_LOCAL") == "1":
        pytest.fail(f"KDBGTEST_REQUIRE_LOCAL=1 but {reason}")
    pytest.skip(reason)


def test_an_interrupted_upgrade_names_each_version_truly_and_down_cleans_up(
    both_versions_built: None, tmp_path: Path
) -> None:
    argv = [sys.executable, "-m", "kdbgtest.cli", "upgrade", "tests/data/upgrade", "--cluster", "local",
            "--from", "1.36.x", "--to", "1.37.2", "--keep-cluster", "--out", str(tmp_path / "report")]  # fmt: skip
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 900
        while "upgrading kube-scheduler" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=300) == 130, log.read_text()
    said = next(line for line in log.read_text().splitlines() if "stopped; the components run:" in line)
    claimed = dict(part.rsplit(" ", 1) for part in said.split("the components run: ", 1)[1].split(", "))
    assert claimed["kube-apiserver"] == claimed["kube-controller-manager"] == TO, said
    assert claimed["kubelet"] == FROM, said
    assert claimed["kube-scheduler"] in (FROM, TO), said  # the signal waits for the replacement under way

    status = cli("status", check=False)
    assert status.returncode == 0, status.output
    for name in ORDER:
        assert f"{name} " in status.stdout and claimed[name] in status.stdout.split(f"{name} ", 1)[1].splitlines()[0]
    assert "mixed (" in status.stdout

    record = json.loads(layout.Layout().state.read_text())
    for component in (c for c in record["components"] if c["name"] in ORDER):
        exe = Path(f"/proc/{component['pid']}/exe").readlink()
        assert exe.parent == build.bin_dir(pins.load(claimed[component["name"]])), (component, exe)

    down = cli("down")
    assert "nothing of it is left" in down.stderr
