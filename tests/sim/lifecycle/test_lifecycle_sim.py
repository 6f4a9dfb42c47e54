"""`kdbgtest sim up|status|down` end to end: a real daemon, real kubectl, real runc containers, real kill -9.

Each test uses its own state directory and a temporary HOME (so ~/.kube/config can be checked untouched), and
stops whatever it started even when it fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kdbgtest.base import process, tools, waiting
from kdbgtest.base.errors import ClusterError
from kdbgtest.base.process import Completed
from kdbgtest.sim import cluster, state, testing
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.node import cleanup, runc

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[3]


class Sims:
    """Runs `python -m kdbgtest.sim.cli` with a temporary HOME; remembers each cluster to stop it after."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir()
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        self.env = {"HOME": str(self.home), "PYTHONPATH": pythonpath}
        self.started: dict[str, Path] = {}

    def state_dir(self, name: str) -> Path:
        return self.tmp / f"state-{name}"

    def cli(self, *args: str, check: bool = True) -> Completed:
        argv = [sys.executable, "-m", "kdbgtest.sim.cli", *args]
        return process.run(argv, timeout=90, env=self.env, check=check)

    def up(self, name: str, *extra: str, check: bool = True) -> Completed:
        self.started[name] = self.state_dir(name)
        return self.cli("up", "--name", name, "--state-dir", str(self.state_dir(name)), *extra, check=check)

    def down(self, name: str) -> Completed:
        return self.cli("down", "--name", name, "--state-dir", str(self.state_dir(name)))

    def status(self, name: str) -> Completed:
        return self.cli("status", "--name", name, "--state-dir", str(self.state_dir(name)), check=False)

    def kubectl(self, kubeconfig: Path | None, *args: str, check: bool = True) -> Completed:
        options = ["--kubeconfig", str(kubeconfig)] if kubeconfig else []
        argv = [str(tools.pinned_kubectl()), *options, *args]
        return process.run(argv, timeout=30, env=self.env, check=check)


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Sims]:
    reason = cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    helper = Sims(tmp_path)
    try:
        yield helper
    finally:
        for name, state_dir in helper.started.items():
            cluster.SimCluster(SimConfig(name=name, state_dir=state_dir)).down()


def processes() -> list[tuple[int, list[str]]]:
    """(pid, argv) of every live, non-zombie process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not state.start_time(int(entry.name)):
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue
        found.append((int(entry.name), argv))
    return found


def processes_running(*argv: str) -> list[int]:
    return [pid for pid, seen in processes() if seen == list(argv)]


def daemon_processes(state_dir: Path) -> list[int]:
    return [pid for pid, argv in processes() if state.DAEMON_MODULE in argv and str(state_dir) in argv]


def cgroup_parent(state_dir: Path) -> str:
    """The cgroup parent of the cluster's containers, as its runc root records it (read while it runs)."""
    return (state_dir / "runc" / runc.CGROUP_MARKER).read_text().strip().lstrip("/")


def assert_nothing_left(state_dir: Path, cgroup: str) -> None:
    """No daemon, no process or mount mentioning the state dir, no cgroup, no directory."""
    assert cleanup.leaks(state_dir) == []
    assert daemon_processes(state_dir) == []
    assert [pid for pid, argv in processes() if any(str(state_dir) in arg for arg in argv)] == []
    assert str(state_dir) + "/" not in Path("/proc/self/mountinfo").read_text()
    assert [h for h in Path("/sys/fs/cgroup").iterdir() if (h / cgroup).exists()] == []
    assert not state_dir.exists()


def wait_nodes_ready(sims: Sims, kubeconfig: Path, count: int) -> str:
    jsonpath = '{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}'

    def probe() -> tuple[bool, str]:
        out = sims.kubectl(kubeconfig, "get", "nodes", "-o", f"jsonpath={jsonpath}").stdout
        return out.count("=True") == count, out

    return waiting.wait_for(probe, timeout=20, what=f"{count} Ready nodes", describe=str)


def run_pod(sims: Sims, kubeconfig: Path, marker: str) -> None:
    """A busybox pod sleeping for `marker` seconds (a unique argv to find its process), Running."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sleeper", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sleep", marker]}]},
    }
    manifest = sims.tmp / "pod.yaml"
    manifest.write_text(yaml.safe_dump(pod))
    sims.kubectl(kubeconfig, "create", "-f", str(manifest))

    def probe() -> tuple[bool, str]:
        out = sims.kubectl(kubeconfig, "get", "pod", "sleeper", "-o", "jsonpath={.status.phase}").stdout
        return out == "Running", out

    waiting.wait_for(probe, timeout=20, what="pod sleeper Running", describe=str)


def test_up_serves_real_kubectl_status_reports_it_and_down_leaves_nothing(sims: Sims) -> None:
    up = sims.up("lc-basic", "--kubernetes-version", "1.31")
    state_dir = sims.state_dir("lc-basic")
    kubeconfig = state_dir / "kubeconfig"
    assert up.stdout == f"{kubeconfig}\n"
    version = json.loads(sims.kubectl(kubeconfig, "version", "-o", "json").stdout)["serverVersion"]
    assert (version["major"], version["minor"]) == ("1", "31")
    assert version["gitVersion"].startswith("v1.31.")
    assert wait_nodes_ready(sims, kubeconfig, 2) == "lc-basic-control-plane=True lc-basic-worker=True "

    status = sims.status("lc-basic")
    assert status.returncode == 0
    assert "sim cluster 'lc-basic': running (pid " in status.stdout
    assert "endpoint:   https://127.0.0.1:" in status.stdout
    assert "lc-basic-control-plane  Ready" in status.stdout
    assert "lc-basic-worker  Ready" in status.stdout
    assert "pods (0):" in status.stdout

    cgroup = cgroup_parent(state_dir)
    assert sims.down("lc-basic").stderr == "sim cluster 'lc-basic' stopped\n"
    assert_nothing_left(state_dir, cgroup)
    assert not (sims.home / ".kube" / "config").exists()
    gone = sims.status("lc-basic")
    assert (gone.returncode, gone.stdout.splitlines()[0]) == (1, "sim cluster 'lc-basic': stopped")


def test_down_after_kill_9_with_a_running_pod_removes_everything(sims: Sims) -> None:
    kubeconfig = Path(sims.up("lc-kill").stdout.strip())
    state_dir = sims.state_dir("lc-kill")
    marker = str(40000 + uuid.uuid4().int % 10000)
    run_pod(sims, kubeconfig, marker)
    assert processes_running("sleep", marker), "the pod's process should be visible from the host"
    cgroup = cgroup_parent(state_dir)
    ready = state.StateDir(state_dir).read_ready()
    assert ready is not None
    os.kill(ready.pid, signal.SIGKILL)

    assert sims.status("lc-kill").stdout.splitlines()[0] == "sim cluster 'lc-kill': stale"
    assert cleanup.leaks(state_dir), "a killed daemon leaves its containers behind"
    assert "sim cluster 'lc-kill' stopped; removed " in sims.down("lc-kill").stderr
    assert_nothing_left(state_dir, cgroup)
    assert processes_running("sleep", marker) == []


def test_up_after_kill_9_cleans_the_crashed_run_and_starts_afresh(sims: Sims) -> None:
    kubeconfig = Path(sims.up("lc-again").stdout.strip())
    state_dir = sims.state_dir("lc-again")
    marker = str(50000 + uuid.uuid4().int % 10000)
    run_pod(sims, kubeconfig, marker)
    old = state.StateDir(state_dir).read_ready()
    assert old is not None
    os.kill(old.pid, signal.SIGKILL)

    again = sims.up("lc-again")
    assert "cleaned up a crashed earlier run of 'lc-again'" in again.stderr
    assert processes_running("sleep", marker) == []
    assert Path(again.stdout.strip()) == kubeconfig
    assert sims.kubectl(kubeconfig, "get", "pods", "-o", "name").stdout == ""  # nothing reused
    cgroup = cgroup_parent(state_dir)
    sims.down("lc-again")
    assert_nothing_left(state_dir, cgroup)


def test_second_up_of_a_running_name_is_refused_and_names_the_running_cluster(sims: Sims) -> None:
    kubeconfig = Path(sims.up("lc-twice").stdout.strip())
    second = sims.up("lc-twice", check=False)
    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.count("\n") == 1
    assert "sim cluster 'lc-twice' is already running (pid " in second.stderr
    assert f"kubeconfig {kubeconfig}" in second.stderr
    assert "kdbgtest sim down --name lc-twice --state-dir " in second.stderr
    sims.kubectl(kubeconfig, "get", "nodes")  # the first one is untouched


def test_two_clusters_with_different_names_coexist(sims: Sims) -> None:
    first = Path(sims.up("lc-one", "--nodes", "1").stdout.strip())
    second = Path(sims.up("lc-two", "--nodes", "1").stdout.strip())
    assert sims.kubectl(first, "get", "nodes", "-o", "name").stdout == "node/lc-one-control-plane\n"
    assert sims.kubectl(second, "get", "nodes", "-o", "name").stdout == "node/lc-two-control-plane\n"
    cgroup = cgroup_parent(sims.state_dir("lc-one"))
    sims.down("lc-one")
    assert_nothing_left(sims.state_dir("lc-one"), cgroup)
    assert sims.kubectl(second, "get", "nodes", "-o", "name").stdout == "node/lc-two-control-plane\n"


def test_kubeconfig_is_merged_into_home_only_when_asked_and_taken_out_on_down(sims: Sims) -> None:
    user_config = sims.home / ".kube" / "config"
    user_config.parent.mkdir()
    prod = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example:6443"}}],
        "users": [{"name": "prod", "user": {"token": "keep-me"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
        "current-context": "prod",
    }
    user_config.write_text(yaml.safe_dump(prod))
    up = sims.up("lc-home", "--nodes", "1", "--kubeconfig", str(user_config))
    assert up.stdout == f"{user_config}\n"
    merged = yaml.safe_load(user_config.read_text())
    named = ["kdbgtest-alice", "kdbgtest-bob", "kdbgtest-carol"]  # the sim's named users (kdbgtest.sim.users)
    assert [c["name"] for c in merged["contexts"]] == ["prod", "kdbg-sim-lc-home", *named]
    assert merged["current-context"] == "kdbg-sim-lc-home"
    nodes = sims.kubectl(None, "get", "nodes", "-o", "name").stdout  # kubectl finds it through HOME
    assert nodes == "node/lc-home-control-plane\n"

    cgroup = cgroup_parent(sims.state_dir("lc-home"))
    sims.down("lc-home")
    assert yaml.safe_load(user_config.read_text()) == {**prod, "current-context": ""}
    assert_nothing_left(sims.state_dir("lc-home"), cgroup)


def test_python_api_context_manager_and_status(sims: Sims) -> None:
    config = SimConfig(name="lc-api", nodes=1, state_dir=sims.state_dir("lc-api"), kubernetes_version="1.29")
    sims.started["lc-api"] = config.state_path
    sim = cluster.SimCluster(config)
    with sim as kubeconfig:
        assert kubeconfig == config.state_path / "kubeconfig"
        wait_nodes_ready(sims, kubeconfig, 1)
        status = sim.status()
        assert (status.state, status.kubeconfig) == ("running", kubeconfig)
        assert status.version is not None
        assert status.version.startswith("v1.29.")
        assert status.server is not None
        assert status.server.startswith("https://127.0.0.1:")
        assert [(n.name, n.ready) for n in status.nodes] == [("lc-api-control-plane", True)]
        cgroup = cgroup_parent(config.state_path)
    assert sim.status().state == "stopped"
    assert_nothing_left(config.state_path, cgroup)


def test_a_daemon_that_cannot_start_is_reported_with_its_log_and_cleaned(sims: Sims) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = SimConfig(name="lc-fail", nodes=1, state_dir=sims.state_dir("lc-fail"), port=port)
        sims.started["lc-fail"] = config.state_path
        with pytest.raises(ClusterError) as failed:
            cluster.SimCluster(config).up()
    message = str(failed.value)
    assert message.startswith("sim cluster 'lc-fail' did not start: the daemon exited with status 1;")
    assert "Address already in use" in message
    assert cleanup.leaks(config.state_path) == []
    assert daemon_processes(config.state_path) == []
    assert not config.state_path.exists()


def test_fixture_helper_gives_a_working_kubeconfig_and_removes_the_cluster_after(
    sims: Sims, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with testing.sim_cluster(tmp_path_factory, name="lc-fixture", nodes=1) as handle:
        assert handle.config.name == "lc-fixture"
        assert handle.kubeconfig == handle.config.state_path / "kubeconfig"
        nodes = sims.kubectl(handle.kubeconfig, "get", "nodes", "-o", "name").stdout
        assert nodes == "node/lc-fixture-control-plane\n"
        cgroup = cgroup_parent(handle.config.state_path)
    assert_nothing_left(handle.config.state_path, cgroup)


def test_version_and_feature_gates_from_the_command_line_reach_the_server(sims: Sims) -> None:
    up = sims.up("lc-gates", "--nodes", "1", "--kubernetes-version", "1.22", "--feature-gates",
                 "EphemeralContainers=false", "--time-scale", "0.1")  # fmt: skip
    kubeconfig = Path(up.stdout.strip())
    version = json.loads(sims.kubectl(kubeconfig, "version", "-o", "json").stdout)["serverVersion"]
    assert version["minor"] == "22"
    sims.kubectl(kubeconfig, "run", "target", "--image=busybox", "--", "sleep", "3600")
    debug = sims.kubectl(kubeconfig, "debug", "target", "--image=busybox", "--", "true", check=False)
    assert debug.returncode == 1
    assert "ephemeral containers are disabled for this cluster" in debug.stderr
    saved = state.StateDir(sims.state_dir("lc-gates")).read_config()
    assert (saved.feature_gates, saved.time_scale) == ({"EphemeralContainers": False}, 0.1)


def test_two_simultaneous_ups_of_one_name_start_it_once(sims: Sims) -> None:
    state_dir = sims.state_dir("lc-race")
    sims.started["lc-race"] = state_dir
    argv = [
        sys.executable,
        "-m",
        "kdbgtest.sim.cli",
        "up",
        "--name",
        "lc-race",
        "--state-dir",
        str(state_dir),
    ]
    env = {**os.environ, **sims.env}
    racers = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]  # fmt: skip
    results = sorted((proc.wait(timeout=90), proc.communicate()) for proc in racers)
    (won, (won_out, _)), (lost, (_, lost_err)) = results
    assert (won, lost) == (0, 1)
    assert won_out == f"{state_dir / 'kubeconfig'}\n"
    assert "sim cluster 'lc-race' is already running" in lost_err
    assert len(daemon_processes(state_dir)) == 1
    sims.kubectl(Path(won_out.strip()), "get", "nodes")


def test_an_up_waits_for_a_concurrent_up_that_is_still_writing_the_state_directory(sims: Sims) -> None:
    """The window that once failed CI: a starting `up` holds the lock and its directory has no cluster.json yet.

    The second `up` must wait for the lock before judging the directory, not call it "not a sim state directory".
    Here the first `up` is played by the test: it holds the lock, leaves a half-written cluster.json, then writes
    the config of a cluster that never started (stale) and lets go; the second `up` must clean it and start.
    """
    state_dir = sims.state_dir("lc-window")
    sims.started["lc-window"] = state_dir
    paths = state.StateDir(state_dir)
    argv = [sys.executable, "-m", "kdbgtest.sim.cli", "up", "--name", "lc-window", "--state-dir", str(state_dir)]
    with state.exclusive(state_dir.parent, timeout=5):
        state_dir.mkdir(mode=0o700)
        half_written = state_dir / ".cluster.json.starting.tmp"
        half_written.write_text("{")
        second = subprocess.Popen(argv, env={**os.environ, **sims.env}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                second.wait(timeout=1.5)  # blocked on the lock, not failed on the half-made directory
            paths.write_config(SimConfig(name="lc-window", state_dir=state_dir))
            half_written.unlink()
        except BaseException:
            second.kill()
            second.communicate()
            raise
    out, err = second.communicate(timeout=90)
    assert second.returncode == 0, err
    assert out == f"{paths.kubeconfig}\n"
    assert len(daemon_processes(state_dir)) == 1


def test_down_kills_a_daemon_that_does_not_stop_and_still_removes_everything(
    sims: Sims, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SimConfig(name="lc-stuck", state_dir=sims.state_dir("lc-stuck"))
    sims.started["lc-stuck"] = config.state_path
    sim = cluster.SimCluster(config)
    kubeconfig = sim.up()
    try:
        marker = str(60000 + uuid.uuid4().int % 10000)
        run_pod(sims, kubeconfig, marker)
        cgroup = cgroup_parent(config.state_path)
        ready = state.StateDir(config.state_path).read_ready()
        assert ready is not None
        os.kill(ready.pid, signal.SIGSTOP)  # a hung daemon: SIGTERM stays pending, only SIGKILL works
        monkeypatch.setattr(cluster, "STOP_TIMEOUT", 1.0)
    finally:
        left = sim.down()
    assert any(f"({name})" in line for line in left for name in ("sleep", "busybox")), left
    assert_nothing_left(config.state_path, cgroup)
    assert processes_running("sleep", marker) == []


def test_down_while_a_pod_waits_out_its_grace_period_kills_it_at_once_and_leaves_nothing(sims: Sims) -> None:
    """A node stop cuts a pod termination in progress to grace 0: `sleep` as PID 1 ignores SIGTERM, so the
    deletion would otherwise wait out the 30 s grace period, past the node's stop deadline (issue 13)."""
    config = SimConfig(name="lc-grace", state_dir=sims.state_dir("lc-grace"), nodes=1)
    sims.started["lc-grace"] = config.state_path
    sim = cluster.SimCluster(config)
    kubeconfig = sim.up()
    marker = str(70000 + uuid.uuid4().int % 10000)
    run_pod(sims, kubeconfig, marker)
    cgroup = cgroup_parent(config.state_path)
    sims.kubectl(kubeconfig, "delete", "pod", "sleeper", "--wait=false")

    def killing() -> tuple[bool, str]:  # the node has sent SIGTERM and now waits out the grace period
        out = sims.kubectl(kubeconfig, "get", "events", "-o", "jsonpath={.items[*].reason}").stdout
        return "Killing" in out.split(), out

    waiting.wait_for(killing, timeout=20, what="the Killing event of pod sleeper", describe=str)
    deleting = "jsonpath={.metadata.deletionTimestamp}"
    assert sims.kubectl(kubeconfig, "get", "pod", "sleeper", "-o", deleting).stdout, "still terminating"
    assert processes_running("sleep", marker), "PID 1 survives SIGTERM"

    started = time.monotonic()
    left = sim.down()
    took = time.monotonic() - started
    assert left == []
    assert took < 10, f"down took {took:.1f}s"
    assert_nothing_left(config.state_path, cgroup)
    assert processes_running("sleep", marker) == []
