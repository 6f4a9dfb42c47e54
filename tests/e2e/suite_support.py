"""Helpers for the whole-suite tests: a sim cluster started the way `kdbgtest run --cluster sim` starts it,
the scenarios of `scenarios/`, and what a finished suite may not leave behind (in the cluster, on the nodes).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import process, tools
from kdbgtest.cluster import base
from kdbgtest.cluster import sim as sim_provider
from kdbgtest.runner import engine, events, namespace
from kdbgtest.scenario import loader
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim.config import SimConfig

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
DEBUG_POD_SELECTOR = "app.kubernetes.io/managed-by=kubectl-debug"  # kubectl >= 1.34 labels node-debugger pods
PLANTED = "var/log/kdbgtest-runaway-*"  # what the node-issue fixture plants in a node's root
FALLBACK = "copy-fallback-no-ephemeral"  # runs only where ephemeral containers are off


class Recorder(events.Kept):
    """Keeps every event the engine emits."""

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass
class SuiteSim:
    """A running sim cluster as the runner sees it, with the provider that started it and its state dir."""

    provider: sim_provider.SimProvider
    info: base.ClusterInfo

    @property
    def state_dir(self) -> Path:
        return self.provider.config.state_path

    def release(self) -> list[str]:
        """Stop the cluster; what its shutdown had to remove (anything: a leak)."""
        self.provider.release()
        return list(self.provider.leftovers)


@contextlib.contextmanager
def suite_sim(tmp_path_factory: pytest.TempPathFactory, **config: Any) -> Iterator[SuiteSim]:
    """A sim cluster from `SimProvider` (the suite's time scale), state in a temporary directory."""
    reason = sim_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    settings = SimConfig(
        name=f"suite-{uuid.uuid4().hex[:6]}",
        state_dir=tmp_path_factory.mktemp("sim-state"),
        time_scale=sim_provider.SUITE_TIME_SCALE,
        **config,
    )
    provider = sim_provider.SimProvider(settings)
    info = provider.acquire()
    try:
        yield SuiteSim(provider, info)
    finally:
        provider.release()  # a no-op when a test released it already


def load_suite(paths: Sequence[Path] = (SCENARIOS,)) -> list[loader.LoadedScenario]:
    """Every scenario under `paths`; a file that does not load fails the test with its issues."""
    found = loader.load_paths(list(paths))
    assert not found.issues, "\n".join(str(issue) for issue in found.issues)
    return found.scenarios


def run_suite(
    scenarios: Sequence[loader.LoadedScenario], cluster: base.ClusterInfo, artifacts: Path
) -> tuple[engine.RunSummary, Recorder]:
    """Run the scenarios serially through the engine, as `kdbgtest run` does."""
    recorder = Recorder()
    summary = engine.run_scenarios(scenarios, cluster, engine.RunOptions(artifacts=artifacts), [recorder])
    return summary, recorder


@dataclass
class SuiteRun:
    """One run of a list of scenarios and what was left right after it, in the cluster and on its nodes."""

    scenarios: list[loader.LoadedScenario]
    summary: engine.RunSummary
    recorder: Recorder
    in_cluster: list[str]
    on_nodes: list[str]

    def result(self, name: str) -> events.ScenarioFinished:
        (found,) = [r for r in self.summary.results if r.scenario == name]
        return found


def run_and_inspect(sim: SuiteSim, scenarios: list[loader.LoadedScenario], artifacts: Path) -> SuiteRun:
    """Run `scenarios` serially on `sim`; then look for anything they left behind."""
    before = all_pods(sim.info)
    summary, recorder = run_suite(scenarios, sim.info, artifacts)
    return SuiteRun(scenarios, summary, recorder, cluster_leftovers(sim.info, before), planted_on_nodes(sim))


def needs_ephemeral(loaded: loader.LoadedScenario) -> bool:
    return base.EPHEMERAL_CONTAINERS in loaded.scenario.requires.capabilities


def kubectl_json(cluster: base.ClusterInfo, *args: str) -> dict[str, Any]:
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={cluster.kubeconfig}", *args, "-o", "json"]
    data = json.loads(process.run(argv, timeout=60).stdout)
    assert isinstance(data, dict)
    return data


def cluster_leftovers(cluster: base.ClusterInfo, before: set[str]) -> list[str]:
    """kdbgtest namespaces, node-debugger pods and any pod that was not there before the suite (copies...)."""
    found = []
    labelled = kubectl_json(cluster, "get", "namespaces", "-l", f"{namespace.MANAGED_BY}=kdbgtest")
    found += [f"namespace {item['metadata']['name']}" for item in labelled["items"]]
    debuggers = kubectl_json(cluster, "get", "pods", "--all-namespaces", "-l", DEBUG_POD_SELECTOR)
    found += [f"node-debugger pod {pod_key(item)}" for item in debuggers["items"]]
    pods = kubectl_json(cluster, "get", "pods", "--all-namespaces")["items"]
    found += [f"pod {pod_key(item)}" for item in pods if pod_key(item) not in before]
    return found


def pod_key(item: dict[str, Any]) -> str:
    return f"{item['metadata']['namespace']}/{item['metadata']['name']}"


def all_pods(cluster: base.ClusterInfo) -> set[str]:
    return {pod_key(item) for item in kubectl_json(cluster, "get", "pods", "--all-namespaces")["items"]}


def node_roots(sim: SuiteSim) -> list[Path]:
    """The root directory of every sim node (kdbgtest.sim.node.sandbox: <state>/nodes/<node>/root)."""
    return [sim.state_dir / "nodes" / node / "root" for node in sim.provider.config.node_names]


def planted_on_nodes(sim: SuiteSim) -> list[str]:
    """What the node-issue fixture planted and is still there: directories and runaway-logger processes."""
    found = [str(path) for root in node_roots(sim) for path in root.glob(PLANTED)]
    nodes = f"{sim.state_dir.resolve()}/nodes/"
    for pid in filter(str.isdigit, (p.name for p in Path("/proc").iterdir())):
        with contextlib.suppress(OSError):  # a process that ends while we look
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # A container of this cluster: its root filesystem (overlay) lives under the nodes' directories.
            if "runaway-logger" in cmdline and nodes in Path(f"/proc/{pid}/mountinfo").read_text():
                found.append(f"process {pid}: {cmdline.strip()}")
    return found
