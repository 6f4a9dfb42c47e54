"""Wall time of the whole scenario suite on a fresh offline cluster, the way
`kdbgtest run scenarios/ --cluster sim` runs it: one sim, every scenario serially through the runner engine
(target: under 60 s on 2 cores).

Run as root: `PYTHONPATH=. python benchmarks/bench_suite.py [PATHS...] [--top 5] [--json FILE]`.

Prints the cluster's up and down time, the engine's total, each scenario's time (slowest first; the slowest
`--top` marked `*`), and for those a breakdown taken from the arrival time of the events the engine emits:
`setup` (namespace, fixtures applied and waited for: ScenarioStarted -> first StepStarted), each step
(StepStarted -> StepFinished, which includes the runner's observation of a debug step's objects; the step's
own duration is shown next to it), and `wrap-up` (last StepFinished -> CleanupFinished: artifacts on failure,
closing drivers, deleting node-debugger pods and the namespace and waiting until they are gone). A few
kubectl call latencies against the same cluster are printed as a reference for the cost of one API call.
Exits 1 if a scenario failed or errored, or the total missed `--target`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdbgtest.base import process, tools
from kdbgtest.cluster import base
from kdbgtest.cluster import sim as sim_provider
from kdbgtest.runner import engine, events
from kdbgtest.scenario import loader

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Timeline:
    """One scenario's events with the monotonic time each arrived."""

    name: str
    started: float
    stamped: list[tuple[float, events.Event]] = field(default_factory=list)
    result: events.ScenarioFinished | None = None

    def phases(self) -> list[tuple[str, float, str]]:
        """(phase, seconds, note) in order: setup, each step, wrap-up."""
        out: list[tuple[str, float, str]] = []
        mark, label = self.started, "setup (namespace + fixtures)"
        for at, event in self.stamped:
            if isinstance(event, events.StepStarted):
                out.append((label, at - mark, ""))
                mark, label = at, f"step {event.index} {event.step} [{event.kind}]"
            elif isinstance(event, events.StepFinished):
                out.append((label, at - mark, f"own {event.duration:.2f}s {event.verdict}"))
                mark, label = at, "(between steps)"
            elif isinstance(event, events.CleanupFinished):
                note = ", ".join(event.removed) if event.removed else ""
                out.append(("wrap-up (artifacts, cleanup)", at - mark, note))
                mark, label = at, "(after cleanup)"
        return [p for p in out if p[0] != "(between steps)" or p[1] >= 0.05]


class StampingReporter:
    """Keeps every event with its arrival time, grouped by scenario."""

    def __init__(self) -> None:
        self.timelines: list[Timeline] = []

    def handle(self, event: events.Event) -> None:
        now = time.monotonic()
        if isinstance(event, events.ScenarioStarted):
            self.timelines.append(Timeline(event.scenario, now))
        elif self.timelines and not isinstance(event, (events.RunStarted, events.RunFinished)):
            self.timelines[-1].stamped.append((now, event))
            if isinstance(event, events.ScenarioFinished):
                self.timelines[-1].result = event

    def close(self) -> None:
        pass


def kubectl_latency(cluster: base.ClusterInfo, runs: int = 5) -> list[tuple[str, float]]:
    """Median seconds of a few kubectl calls: the fixed cost every runner step pays at least once."""
    kubectl = [str(tools.pinned_kubectl()), "--kubeconfig", str(cluster.kubeconfig)]
    calls = {
        "kubectl version --client": [kubectl[0], "version", "--client", "-o", "json"],
        "kubectl get namespaces -o json": [*kubectl, "get", "namespaces", "-o", "json"],
        "kubectl get pods -A -l ... -o json": [
            *kubectl, "get", "pods", "-A", "-l", "app.kubernetes.io/managed-by=kubectl-debug", "-o", "json",
        ],
    }  # fmt: skip
    out = []
    for what, argv in calls.items():
        samples = []
        for _ in range(runs):
            started = time.monotonic()
            process.run(argv, timeout=30)
            samples.append(time.monotonic() - started)
        out.append((what, statistics.median(samples)))
    return out


def print_report(
    reporter: StampingReporter, summary: engine.RunSummary, up: float, down: float, total: float, top: int
) -> None:
    timed = sorted(
        (t for t in reporter.timelines if t.result is not None),
        key=lambda t: t.result.duration if t.result else 0.0,
        reverse=True,
    )
    print(f"\n{'scenario':<34} {'verdict':<8} {'seconds':>8}")
    for rank, timeline in enumerate(timed):
        assert timeline.result is not None
        mark = "*" if rank < top else " "
        print(f"{mark} {timeline.name:<32} {timeline.result.verdict:<8} {timeline.result.duration:8.2f}")
    print(f"\nwhere the time goes in the slowest {top}:")
    for timeline in timed[:top]:
        assert timeline.result is not None
        print(f"  {timeline.name} ({timeline.result.duration:.2f}s)")
        for phase, seconds, note in timeline.phases():
            print(f"    {seconds:6.2f}s  {phase}" + (f"  ({note})" if note else ""))
    phases = [p for t in timed for p in t.phases()]
    setup = sum(s for name, s, _ in phases if name.startswith("setup"))
    wrap = sum(s for name, s, _ in phases if name.startswith("wrap-up"))
    steps = sum(s for name, s, _ in phases if name.startswith("step "))
    print(f"\nall scenarios: setup {setup:.1f}s, steps {steps:.1f}s, wrap-up/cleanup {wrap:.1f}s")
    counts = ", ".join(f"{summary.count(v)} {v}" for v in ("passed", "failed", "error", "skipped"))
    print(f"cluster up {up:.2f}s, engine {summary.duration:.2f}s ({counts}), cluster down {down:.2f}s")
    print(f"TOTAL wall time {total:.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[REPO / "scenarios"])
    parser.add_argument("--top", type=int, default=5, help="how many of the slowest to break down")
    parser.add_argument("--target", type=float, default=60.0, help="seconds the total must stay under")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_suite: the offline cluster needs root", file=sys.stderr)
        return 2
    result = loader.load_paths(args.paths)
    if result.issues:
        print("\n".join(str(i) for i in result.issues), file=sys.stderr)
        return 2
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    reporter = StampingReporter()
    with tempfile.TemporaryDirectory(prefix="kdbgtest-bench-") as tmp:
        begin = time.monotonic()
        provider = sim_provider.SimProvider()
        cluster = provider.acquire()
        up = time.monotonic() - begin
        try:
            options = engine.RunOptions(artifacts=Path(tmp) / "artifacts")
            summary = engine.run_scenarios(result.scenarios, cluster, options, [reporter])
            latency = kubectl_latency(cluster)
        finally:
            stopping = time.monotonic()
            provider.release()
            down = time.monotonic() - stopping
        total = time.monotonic() - begin
    print_report(reporter, summary, up, down, total, args.top)
    print("\nkubectl call latency (median of 5): " + "; ".join(f"{w} {s * 1000:.0f} ms" for w, s in latency))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(numbers(reporter, summary, up, down, total), indent=2))
    bad = summary.count("failed") + summary.count("error")
    print(f"target {args.target:g}s: {'met' if total < args.target else 'MISSED'}")
    return 1 if bad or total >= args.target else 0


def numbers(
    reporter: StampingReporter, summary: engine.RunSummary, up: float, down: float, total: float
) -> dict[str, Any]:
    return {
        "total": total,
        "up": up,
        "down": down,
        "engine": summary.duration,
        "scenarios": {
            t.name: {
                "verdict": t.result.verdict if t.result else None,
                "duration": t.result.duration if t.result else None,
                "phases": t.phases(),
            }
            for t in reporter.timelines
        },
    }


if __name__ == "__main__":
    sys.exit(main())
