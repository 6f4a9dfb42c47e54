"""`kdbgtest local up|status|down` end to end: real kube-apiserver, etcd, kubelet and containerd on this host.

Every test stops what it started, and checks the host afterwards: no process of the cluster, no mount below its
state directory, no cgroup, bridge or iptables rule of its own, and every sysctl it touched back as it was.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from local_support import cli, footprint

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.process import Completed
from kdbgtest.local import build, layout, pins, procs

REPO = Path(__file__).resolve().parents[2]


def kubectl(kubeconfig: Path, *args: str, timeout: float = 60, check: bool = True) -> Completed:
    return process.run(
        [str(tools.require("kubectl")), "--kubeconfig", str(kubeconfig), *args], timeout=timeout, check=check
    )


def test_build_refuses_a_version_without_pins_in_one_line() -> None:
    done = cli("build", "--kubernetes-version", "1.99.0", check=False, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"kdbgtest local build: error: no pins for Kubernetes v1.99.0 in {pins.default_pins_root()} (have: "
        f"{', '.join(pins.known_versions())}); pick one of those, or add them with `kdbgtest local pin "
        "--kubernetes-version v1.99.0`"
    ]


def test_binaries_report_their_release(local_built: None) -> None:
    found = pins.load()
    bin_dir = build.bin_dir(found)
    for name in ("kube-apiserver", "kubelet", "kube-scheduler", "kube-controller-manager"):
        assert (
            process.run([str(bin_dir / name), "--version"], timeout=30).stdout.strip()
            == f"Kubernetes {found.kubernetes}"
        )
    assert found.containerd in process.run([str(bin_dir / "containerd"), "--version"], timeout=30).stdout
    assert found.etcd.removeprefix("v") in process.run([str(bin_dir / "etcd"), "--version"], timeout=30).stdout


def test_up_runs_pods_then_down_leaves_nothing(clean_host: dict[str, object], tmp_path: Path) -> None:
    up = cli("up")
    kubeconfig = Path(up.stdout.strip())
    assert kubeconfig.is_file()
    nodes = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json").stdout)["items"]
    assert [n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes] == [pins.load().kubernetes]
    assert footprint()["egress rule"] is True  # pods may not reach beyond the bridge while it runs
    kubectl(kubeconfig, "run", "probe", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600")
    kubectl(kubeconfig, "wait", "--for=condition=Ready", "pod/probe", "--timeout=120s", timeout=150)
    said = kubectl(kubeconfig, "exec", "probe", "--", "sh", "-c", "echo sum=$((40+2)); ip route").stdout
    assert "sum=42" in said
    assert "default" not in said  # no default route: nothing a pod sends leaves the bridge
    again = cli("up", check=False)
    assert again.returncode == 1
    assert "is already running (one per host)" in again.stderr
    down = cli("down")
    assert "stopped" in down.stderr


def test_up_after_kill_9_starts_clean(clean_host: dict[str, object]) -> None:
    cli("up")
    record = json.loads(layout.Layout().state.read_text())
    for component in record["components"]:
        os.kill(component["pid"], signal.SIGKILL)
    for component in record["components"]:
        running = procs.Running.from_json(component)
        waiting.wait_for(lambda r=running: (not r.alive(), r.pid), timeout=30, what=f"{running.name} to die")
    status = cli("status", check=False)
    assert status.returncode == 1
    assert "stale" in status.stdout
    again = cli("up")
    assert "removed the remains of a crashed earlier run" in again.stderr
    kubeconfig = Path(again.stdout.strip())
    kubectl(kubeconfig, "get", "--raw", "/readyz")
