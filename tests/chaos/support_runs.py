"""Helpers for the chaos tests that drive real `kdbgtest run` processes: an offline cluster of their own, a run
as a child process, the moment it handles signals, and what a run may not leave behind on the cluster or on
this host.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import process, tools, waiting
from kdbgtest.cluster import base
from kdbgtest.cluster import sim as sim_provider
from kdbgtest.runner import namespace
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim.config import SimConfig

REPO = Path(__file__).resolve().parents[2]
DEBUG_POD_SELECTOR = "app.kubernetes.io/managed-by=kubectl-debug"
SYSTEM_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease"}


@dataclass
class Sim:
    provider: sim_provider.SimProvider
    info: base.ClusterInfo

    @property
    def state_dir(self) -> Path:
        return self.provider.config.state_path

    def daemon_pid(self) -> int | None:
        return sim_cluster.SimCluster(self.provider.config).paths.daemon_pid()


@contextlib.contextmanager
def sim(tmp: Path, name: str) -> Iterator[Sim]:
    """An offline cluster with its state in `tmp`, removed afterwards; skips where the sim cannot run."""
    reason = sim_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    config = SimConfig(name=f"{name}-{uuid.uuid4().hex[:6]}", state_dir=tmp, time_scale=sim_provider.SUITE_TIME_SCALE)
    provider = sim_provider.SimProvider(config)
    info = provider.acquire()
    try:
        yield Sim(provider, info)
    finally:
        provider.release()


def launch(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`kdbgtest ARGS` as a child process of its own session (signals go to it alone, as `kill PID` sends),
    with `env` added to the environment and the signals under test at their defaults: a suite started under
    `nohup` would otherwise pass on an ignored SIGHUP, which kdbgtest rightly leaves ignored."""
    return subprocess.Popen(
        [sys.executable, "-m", "kdbgtest.cli", *args],
        preexec_fn=_default_signals,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@dataclass
class Ended:
    """How a run ended after a test acted on it: its output, the seconds from the act to its exit, and what the
    act returned."""

    out: str
    err: str
    took: float
    acted: Any


def ended(proc: subprocess.Popen[str], act: Callable[[], Any], timeout: float) -> Ended:
    """`act()` (bring the run to a moment, then signal or kill something), then wait up to `timeout` for `proc`
    to exit. Whatever fails on the way, `proc` is killed and reaped first: no test leaves a run behind."""
    try:
        acted = act()
        since = time.monotonic()
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return Ended(out, err, time.monotonic() - since, acted)


def _default_signals() -> None:
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def caught_signals(pid: int) -> set[int]:
    """Signals process `pid` has handlers for (its SigCgt mask), empty once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return set()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


def wait_until_handling(proc: subprocess.Popen[str], wanted: set[int], *, timeout: float = 60.0) -> None:
    """Until `proc` handles every signal of `wanted` (kdbgtest installs its handlers once Python and its
    imports are up; before that, nothing of a run exists yet)."""

    def probe() -> tuple[bool, str]:
        if proc.poll() is not None:
            raise AssertionError(f"kdbgtest exited with {proc.returncode} before handling signals")
        missing = wanted - caught_signals(proc.pid)
        return not missing, f"not yet handled: {sorted(signal.Signals(s).name for s in missing)}"

    waiting.wait_for(probe, timeout=timeout, what="kdbgtest to handle signals", interval=0.02, describe=str)


def kubectl_json(kubeconfig: Path, *args: str) -> dict[str, Any]:
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={kubeconfig}", *args, "-o", "json"]
    data = json.loads(process.run(argv, timeout=60).stdout)
    assert isinstance(data, dict)
    return data


def cluster_leftovers(kubeconfig: Path) -> list[str]:
    """kdbgtest namespaces (also terminating ones), node-debugger pods, and any pod outside the system
    namespaces (fixtures, copies): a run on an otherwise empty cluster must leave none of them."""
    found = []
    labelled = kubectl_json(kubeconfig, "get", "namespaces", "-l", f"{namespace.MANAGED_BY}=kdbgtest")
    found += [f"namespace {item['metadata']['name']}" for item in labelled["items"]]
    pods = kubectl_json(kubeconfig, "get", "pods", "--all-namespaces")
    for pod in pods["items"]:
        meta = pod["metadata"]
        if meta["namespace"] not in SYSTEM_NAMESPACES:
            found.append(f"pod {meta['namespace']}/{meta['name']} (labels {meta.get('labels') or {}})")
    return found


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (not zombies) whose argv contains `text`, e.g. a run's kubeconfig."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X") and any(text.encode() in part for part in argv):
            found.append(f"{entry.name}: {b' '.join(argv).decode(errors='replace')[:200]}")
    return found


def processes_with_environment(name: str, value: str) -> list[str]:
    """Command lines of live processes whose environment has `name=value` (what a run started inherits it)."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X") and wanted in environ:
            found.append(f"{entry.name}: {argv[:200]}")
    return found


def sim_state_dirs(root: Path) -> set[str]:
    """The cluster directories under a sim state root (a throwaway sim that was not removed stays here)."""
    try:
        return {entry.name for entry in root.iterdir() if entry.is_dir() and entry.name != "images"}
    except FileNotFoundError:
        return set()
