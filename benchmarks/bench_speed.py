"""The scenario suite on one sim, the old path and the new path side by side in one run (issue 14).

Run as root: `PYTHONPATH=. .venv/bin/python benchmarks/bench_speed.py [--baseline REV] [--rounds N]
[--workers 1,4] [--json FILE] [PATHS...]`.

The old path is the code of `--baseline` (a git revision, default the commit before the issue 14 work),
extracted with `git archive` into a temporary directory; the new path is this tree. One sim is started; each
round runs the suite serially with the old tree, then with this tree (alternating which goes first), each in
its own child process (`--child`) against the same sim, so both see the same machine at the same time. With
`--workers`, this tree also runs with `-n N` for each N given.

kubectl is replaced by a small shell wrapper that logs every invocation (start, end, argv) before handing over
to the pinned kubectl, so kubectl processes are counted the same way on both paths. Per variant it prints:
the wall time of the engine, each scenario's wall, the kubectl invocations (per run and per scenario), the
time in the cluster's own work (the commands the scenario's steps run: kubectl debug/exec/attach sessions,
`kubectl` and `can_i` steps; and the waits for pod states; unioned, so overlaps count once) and the harness
overhead (wall minus that), the harness's own CPU, and the load average before and after. Exits 1 when a
scenario failed or errored.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
# The last commit before the issue 14 work: the "old path".
BASELINE_REV = "11836f0"
SESSION_VERBS = ("debug", "exec", "attach", "run")

WRAPPER = """#!/bin/sh
s=$(date +%s%N)
"$KDBGTEST_BENCH_REAL_KUBECTL" "$@"
rc=$?
printf '@@ %s %s %s %s\\n' "$s" "$(date +%s%N)" "$rc" "$*" >> "$KDBGTEST_BENCH_LOG"
exit $rc
"""


# ------------------------------------------------------------------------------------------------------------
# child: one suite run of one tree against a running sim


def child(args: argparse.Namespace) -> int:
    tree = Path(args.tree).resolve()
    sys.path.insert(0, str(tree))
    from kdbgtest.base import tools
    from kdbgtest.cluster import sim as sim_provider
    from kdbgtest.runner import engine, events, waits
    from kdbgtest.scenario import loader

    assert Path(sys.modules["kdbgtest"].__file__ or "").resolve().is_relative_to(tree), "wrong tree imported"
    spans: list[tuple[int, int]] = []  # wall-clock ns of pod-state waits and step commands (cluster work)
    real_wait = waits.wait_state

    def timed_wait(*a: Any, **kw: Any) -> Any:
        begin = time.time_ns()
        try:
            return real_wait(*a, **kw)
        finally:
            spans.append((begin, time.time_ns()))

    waits.wait_state = timed_wait  # steps.py calls it through the module

    # The commands a scenario's own steps run (debug, exec, kubectl and can_i steps): the workflow under test,
    # so cluster work too. Timed around the drivers' methods; an old tree without a driver module has none.
    def timed(method: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            begin = time.time_ns()
            try:
                return method(*a, **kw)
            finally:
                spans.append((begin, time.time_ns()))

        return wrapper

    for module_name, class_name in (("kubectl_driver", "KubectlDriver"), ("api_driver", "ApiDriver")):
        try:
            module = __import__(f"kdbgtest.debug.{module_name}", fromlist=[class_name])
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        for verb in ("debug", "exec", "kubectl"):
            if cls is not None and hasattr(cls, verb):
                setattr(cls, verb, timed(getattr(cls, verb)))

    # Each scenario's real start and end, also with -n (whose events reach reporters held back, in one piece).
    real: dict[str, tuple[int, int]] = {}
    try:
        from kdbgtest.runner import scenario_run
    except ImportError:  # an old tree without it: the event times are real there (serial only)
        scenario_run = None
    if scenario_run is not None:
        real_execute = scenario_run.ScenarioRun.execute

        def timed_execute(self: Any) -> Any:
            begin = time.time_ns()
            try:
                return real_execute(self)
            finally:
                real[self.scenario.name] = (begin, time.time_ns())

        scenario_run.ScenarioRun.execute = timed_execute  # type: ignore[method-assign]

    class Stamps:
        def __init__(self) -> None:
            self.scenarios: dict[str, dict[str, Any]] = {}

        def handle(self, event: Any) -> None:
            now = time.time_ns()
            if isinstance(event, events.ScenarioStarted):
                self.scenarios[event.scenario] = {"start": now}
            elif isinstance(event, events.ScenarioFinished):
                entry = self.scenarios.setdefault(event.scenario, {"start": now})
                entry.update(
                    end=now,
                    verdict=event.verdict,
                    duration=event.duration,
                    message=event.message[:300],
                    kubectl=getattr(event, "kubectl_calls", None),
                )

        def close(self) -> None:
            pass

    loaded = loader.load_paths([Path(p) for p in args.paths])
    cluster = sim_provider.SimProvider(kubectl=tools.pinned_kubectl()).probe(Path(args.kubeconfig))
    stamps = Stamps()
    extra = {"workers": args.workers} if args.workers != 1 else {}
    options = engine.RunOptions(artifacts=Path(args.artifacts), kubectl=Path(args.kubectl), **extra)
    begin = time.time_ns()
    summary = engine.run_scenarios(loaded.scenarios, cluster, options, [stamps])
    end = time.time_ns()
    for name, (first, last) in real.items():
        if name in stamps.scenarios:
            stamps.scenarios[name].update(start=first, end=last)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(args.out).write_text(
        json.dumps(
            {
                "begin": begin,
                "end": end,
                "engine": summary.duration,
                "scenarios": stamps.scenarios,
                "waits": spans,
                "cpu": usage.ru_utime + usage.ru_stime,
            }
        )
    )
    return 0


# ------------------------------------------------------------------------------------------------------------
# parent


def calls(log: Path) -> list[tuple[int, int, int, str]]:
    """(start ns, end ns, exit code, args) of every kubectl the wrapper ran."""
    if not log.exists():
        return []
    out = []
    for record in log.read_text(encoding="utf-8", errors="replace").split("@@ ")[1:]:
        start, end, rc, *rest = record.split(" ", 3)
        out.append((int(start), int(end), int(rc), " ".join(rest).strip()))
    return out


def union(spans: list[tuple[int, int]]) -> float:
    """Seconds covered by the spans (overlaps once)."""
    total, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total / 1e9


def is_session(argv: str) -> bool:
    words = [w for w in argv.split() if not w.startswith("-")]
    # skip the global flags' values (kubeconfig path, context, namespace) by looking for the verb
    return any(w in SESSION_VERBS for w in words[:6])


def analyse(result: dict[str, Any], kubectl: list[tuple[int, int, int, str]]) -> dict[str, Any]:
    """Per scenario: wall, kubectl count, cluster work (sessions + pod-state waits) and the overhead."""
    scenarios = {}
    for name, entry in result["scenarios"].items():
        start, end = entry["start"], entry.get("end", entry["start"])
        mine = [c for c in kubectl if start <= c[0] < end]
        work = [(max(s, start), min(e, end)) for s, e, _, a in mine if is_session(a)]
        work += [(max(s, start), min(e, end)) for s, e in result["waits"] if start <= s < end]
        wall = (end - start) / 1e9
        cluster = union(work)
        scenarios[name] = {
            "verdict": entry.get("verdict"),
            "wall": wall,
            "kubectl": entry.get("kubectl") if entry.get("kubectl") is not None else len(mine),
            "kubectl_seen": len(mine),
            "cluster_work": cluster,
            "overhead": wall - cluster,
        }
    wall = (result["end"] - result["begin"]) / 1e9
    run_calls = [c for c in kubectl if result["begin"] <= c[0] < result["end"]]
    sessions = [(s, e) for s, e, _, a in run_calls if is_session(a)]
    cluster = union(sessions + [tuple(w) for w in result["waits"]])
    return {
        "wall": wall,
        "kubectl": len(run_calls),
        "kubectl_seconds": sum(e - s for s, e, _, _ in run_calls) / 1e9,
        "cluster_work": cluster,
        "overhead": wall - cluster,
        "cpu": result["cpu"],
        "scenarios": scenarios,
        "bad": sorted(n for n, s in scenarios.items() if s["verdict"] in ("failed", "error")),
        "messages": {
            n: e.get("message") for n, e in result["scenarios"].items() if e.get("verdict") in ("failed", "error")
        },
    }


def extract(rev: str, into: Path) -> Path:
    """The tree of git revision `rev` (its kdbgtest package and scenarios) in `into`."""
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(HERE), "archive", rev], stdout=out, check=True, timeout=60)  # noqa: S603
    tree = into / f"tree-{rev}"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_variant(
    label: str, tree: Path, workers: int, paths: list[str], kubeconfig: Path, tmp: Path, wrapper: Path
) -> dict[str, Any]:
    log = tmp / f"{label}.kubectl.log"
    log.unlink(missing_ok=True)
    out = tmp / f"{label}.json"
    load_before = os.getloadavg()
    env = {
        **os.environ,
        "KDBGTEST_BENCH_LOG": str(log),
        "KDBGTEST_BENCH_REAL_KUBECTL": str(Path(sys.executable).parent / "kubectl"),
        "PYTHONPATH": str(tree),
    }
    argv = [
        sys.executable, str(Path(__file__).resolve()), "--child", "--tree", str(tree), "--kubeconfig",
        str(kubeconfig), "--kubectl", str(wrapper), "--artifacts", str(tmp / f"{label}-artifacts"), "--out",
        str(out), "--workers", str(workers), *paths,
    ]  # fmt: skip
    done = subprocess.run(argv, env=env, timeout=1800, check=False, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        print(f"[{label}] child failed ({done.returncode}):\n{done.stderr[-3000:]}", file=sys.stderr)
        return {"label": label, "failed": True, "load": [load_before, os.getloadavg()]}
    found = analyse(json.loads(out.read_text()), calls(log))
    found.update(label=label, load=[load_before, os.getloadavg()])
    return found


def show(found: dict[str, Any], *, per_scenario: bool) -> None:
    if found.get("failed"):
        print(f"\n== {found['label']}: the child failed")
        return
    before, after = found["load"]
    n = len(found["scenarios"]) or 1
    print(
        f"\n== {found['label']}: wall {found['wall']:.2f}s, {found['kubectl']} kubectl ({found['kubectl'] / n:.1f} "
        f"per scenario, {found['kubectl_seconds']:.1f}s inside them), cluster work {found['cluster_work']:.2f}s, "
        f"harness overhead {found['overhead']:.2f}s ({100 * found['overhead'] / max(found['wall'], 1e-9):.0f}%), "
        f"harness CPU {found['cpu']:.2f}s, load {before[0]:.2f} -> {after[0]:.2f}"
    )
    if found["bad"]:
        print(f"   FAILED/ERROR: {', '.join(found['bad'])}")
        for name, message in found["messages"].items():
            print(f"     {name}: {message}")
    if per_scenario:
        print(f"   {'scenario':<32} {'verdict':<8} {'wall':>6} {'kubectl':>7} {'cluster':>7} {'overhead':>8}")
        for name, s in sorted(found["scenarios"].items()):
            share = 100 * s["overhead"] / max(s["wall"], 1e-9)
            print(
                f"   {name:<32} {s['verdict'] or '?':<8} {s['wall']:6.2f} {s['kubectl']:>7} "
                f"{s['cluster_work']:7.2f} {s['overhead']:6.2f} ({share:.0f}%)"
            )


def rounds_order(rounds: int, labels: list[str]) -> Iterator[str]:
    for number in range(rounds):
        yield from (labels if number % 2 == 0 else list(reversed(labels)))


def parent(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("bench_speed: the offline cluster needs root", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    from kdbgtest.cluster import sim as sim_provider

    paths = [str(Path(p).resolve()) for p in args.paths] or [str(HERE / "scenarios")]
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="kdbgtest-speed-") as name:
        tmp = Path(name)
        trees = {"new": HERE}
        if not args.no_baseline:
            trees["old"] = extract(args.baseline, tmp)
        wrapper = tmp / "bin" / "kubectl"
        wrapper.parent.mkdir()
        wrapper.write_text(WRAPPER)
        wrapper.chmod(0o755)
        variants = {label: (tree, 1) for label, tree in sorted(trees.items(), key=lambda kv: kv[0] != "old")}
        for workers in args.workers:
            if workers != 1:
                variants[f"new -n {workers}"] = (HERE, workers)
        provider = sim_provider.SimProvider()
        cluster = provider.acquire()
        try:
            print(f"sim up; baseline {args.baseline if 'old' in trees else '(none)'}; cores {os.cpu_count()}")
            for label in rounds_order(args.rounds, list(variants)):
                tree, workers = variants[label]
                found = run_variant(label.replace(" ", ""), tree, workers, paths, cluster.kubeconfig, tmp, wrapper)
                found["label"] = label
                results.setdefault(label, []).append(found)
                show(found, per_scenario=False)
        finally:
            provider.release()
    print("\n# summary (median over rounds)")
    medians = {}
    for label, runs in results.items():
        good = [r for r in runs if not r.get("failed")]
        if not good:
            continue
        medians[label] = statistics.median(r["wall"] for r in good)
        print(
            f"{label:<10} wall median {medians[label]:6.2f}s over {len(good)} run(s): "
            + ", ".join(f"{r['wall']:.2f}" for r in good)
            + f"; kubectl {statistics.median(r['kubectl'] for r in good):.0f}; "
            f"overhead {statistics.median(100 * r['overhead'] / r['wall'] for r in good):.0f}%"
        )
    if "old" in medians and "new" in medians:
        print(f"new/old serial: {medians['new'] / medians['old']:.2f}")
    for label in medians:
        if label.startswith("new -n") and "new" in medians:
            print(f"{label} / new serial: {medians[label] / medians['new']:.2f}")
    last = {label: runs[-1] for label, runs in results.items()}
    for found in last.values():
        show(found, per_scenario=True)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    bad = any(r.get("failed") or r.get("bad") for runs in results.values() for r in runs)
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the old path")
    parser.add_argument("--no-baseline", action="store_true", help="only this tree")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1], help="e.g. 1,4")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--tree", "--kubeconfig", "--kubectl", "--artifacts", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.workers = args.workers[0]
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
