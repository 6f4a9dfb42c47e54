"""One scenario run, from namespace to cleanup (`engine.run_one` builds and executes a `ScenarioRun`)."""

from __future__ import annotations

import math
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import interrupt, process
from kdbgtest.base.errors import KdbgtestError, ScenarioError, StepTimeout
from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.debug import api_driver, kubectl_driver
from kdbgtest.debug import driver as debug_driver
from kdbgtest.runner import (
    artifacts,
    cleanup,
    events,
    kube,
    liveness,
    namespace,
    observe,
    redact,
    resolve,
    selection,
    steps,
    together,
)
from kdbgtest.runner import shared_namespace as shared
from kdbgtest.scenario import loader, model

FIXTURE_APPLY_TIMEOUT = 60.0
# Substituted after the command ran, so they can use what the step itself captured.
LATE_KEYS = frozenset({"expect", "transcript"})


@dataclass(frozen=True)
class Settings:
    run_id: str
    artifacts: Path
    keep: bool
    driver: str
    timeout_scale: float
    cleanup_timeout: float
    allow_outside_files: bool = False
    namespace: str | None = None  # --namespace: an existing namespace shared by the run's scenarios
    barrier: cleanup.Barrier | None = None  # deletions are started and awaited at the end of the run


def default_driver(client: kube.Kubectl, out: Path, name: str) -> debug_driver.Driver:
    """The driver named by `--driver`, writing transcripts into `out`."""
    kubectl = kubectl_driver.KubectlDriver(client.path, client.kubeconfig, client.context, out)
    if name == "kubectl":
        return kubectl
    if name == "api":  # the kubernetes client; its plain `kubectl` steps still run kubectl
        return api_driver.ApiDriver(client.kubeconfig, client.context, out, kubectl_driver=kubectl)
    raise KdbgtestError(f"driver {name!r} is not available; use --driver kubectl or --driver api")


class ScenarioRun:
    """State of one run of one scenario; `execute` runs it and always cleans up."""

    def __init__(
        self,
        loaded: loader.LoadedScenario,
        cluster: ClusterInfo,
        client: kube.Kubectl,
        settings: Settings,
        emit: Callable[[events.Event], None],
        make_driver: Callable[[kube.Kubectl, Path, str], debug_driver.Driver],
    ) -> None:
        self.loaded, self.scenario, self.cluster = loaded, loaded.scenario, cluster
        self.client, self.settings, self.make_driver = client, settings, make_driver
        self.redactor = redact.Redactor.for_kubeconfig(cluster.kubeconfig)
        self.emit: Callable[[events.Event], None] = lambda event: emit(self.redactor.event(event))
        self.namespace = settings.namespace or namespace.namespace_name(self.scenario.name, settings.run_id)
        self.shared = (
            shared.for_run(settings.namespace, self.scenario.name, settings.run_id) if settings.namespace else None
        )
        self.out = artifacts.directory(settings.artifacts, self.scenario.name, settings.run_id)
        self.tracker = cleanup.Tracker()
        self.variables = resolve.run_variables(
            cluster, self.scenario, namespace=self.namespace, run_id=settings.run_id, scenario_dir=loaded.path.parent
        )
        self.ctx: steps.Context | None = None
        self.drivers: dict[str, debug_driver.Driver] = {}
        self.step_results: list[events.StepFinished] = []
        self.index = 0
        self.verdict: events.Verdict = "passed"
        self.message = ""
        self.failed_step: str | None = None
        self.started = time.monotonic()
        self.cleanup_incomplete = False
        self.lost: interrupt.ClusterLost | None = None  # the API server stopped answering
        self.started_programs: Counter[str] = Counter()

    # -- the run ---------------------------------------------------------------------------------------------

    def execute(self) -> events.ScenarioFinished:
        with process.counting() as self.started_programs:
            return self._execute()

    def _execute(self) -> events.ScenarioFinished:
        self.emit(events.ScenarioStarted(self.scenario.name, self.loaded.path, self.loaded.line, self.namespace))
        reason = selection.unmet(self.scenario.requires, self.cluster)
        if reason is not None:
            return self._finished("skipped", reason)
        interrupted: interrupt.Interrupted | None = None
        bug = None
        try:
            self._body()
        except KeyboardInterrupt as exc:
            interrupted = interrupt.as_interrupted(exc)
            if isinstance(interrupted, interrupt.ClusterLost):
                self.lost = interrupted
            self._fail("error", interrupted.summary, self.failed_step)
        except Exception as exc:  # noqa: BLE001 - a kdbgtest bug: clean up first, then let it through
            bug = exc
            self._fail("error", "kdbgtest bug: " + "".join(traceback.format_exception_only(exc)).strip(), None)
        deferred = self._wrap_up()
        result = self._finished(self.verdict, self.message)
        if interrupted is None and self.lost is not None:  # it stopped answering during cleanup
            interrupted = self.lost
        if interrupted is None and deferred:
            interrupted = interrupt.Interrupted(deferred[0])
        if isinstance(interrupted, interrupt.ClusterLost):
            interrupted.where = self._where_stopped()
        if interrupted is not None:
            interrupted.incomplete = interrupted.incomplete or self.cleanup_incomplete
            interrupted.result = result
            raise interrupted
        if bug is not None:
            raise bug
        return result

    def _body(self) -> None:
        try:
            self._setup()
        except KdbgtestError as exc:
            liveness.check_now()
            verdict: events.Verdict = "failed" if self.tracker.namespace or self.ctx else "error"
            if isinstance(exc, namespace.NamespaceForbidden) and exc.again:
                verdict = "skipped"  # said once, by the first scenario
            self._fail(verdict, self._explain(exc), self.failed_step)
            return
        for step in self.scenario.steps:
            if self.verdict != "passed":
                break
            self._run_step(step, is_finally=False)
        for step in self.scenario.finally_:
            self._run_step(step, is_finally=True)

    def _setup(self) -> None:
        extra = self.scenario.namespace.all_labels() if self.scenario.namespace is not None else {}
        if self.shared is not None:
            if extra:
                raise ScenarioError(
                    f"the scenario labels its namespace ({', '.join(sorted(extra))}), which a shared namespace "
                    "(--namespace) cannot give it; run it without --namespace"
                )
            self.shared.check(self.client)
        else:
            namespace.create(self.client, self.namespace, self.scenario.name, self.settings.run_id, extra)
            self.tracker.namespace = self.namespace
        cleanup.snapshot_debug_pods(self.client, self.tracker)
        deadline = self.started + self.scenario.timeout * self.settings.timeout_scale
        self.ctx = steps.Context(
            client=self.client,
            driver=self._driver(self.settings.driver),
            other_driver=self._driver,
            namespace=self.namespace,
            base_dir=self.loaded.path.parent,
            variables=dict(self.variables),
            tracker=self.tracker,
            scale=self.settings.timeout_scale,
            deadline=deadline if math.isfinite(deadline) else math.inf,
            allow_outside_files=self.settings.allow_outside_files,
            shared=self.shared,
            identity=self.scenario.as_,
        )
        awaits: list[tuple[str, Callable[[], str]]] = []
        for number, fixture in enumerate(self.scenario.fixtures, start=1):
            self.failed_step = f"fixture {number}" + (f" ({fixture.fixture})" if fixture.fixture else "")
            action = resolve.resolve(fixture, self.variables)
            wait = steps.create_fixture(action, self.ctx, self.ctx.budget(FIXTURE_APPLY_TIMEOUT))
            if wait is not None:
                awaits.append((self.failed_step, wait))

        def failed(label: str) -> None:
            self.failed_step = label

        together.run(awaits, failed=failed)  # created in order, awaited together
        self.failed_step = None

    def _run_step(self, step: model.Step, *, is_finally: bool) -> None:
        assert self.ctx is not None
        self.index += 1
        line = self.loaded.step_location(step)[0]
        kind = model.step_kind(step)
        self.emit(events.StepStarted(self.scenario.name, step.name, self.index, kind, line, is_finally))
        started = time.monotonic()
        outcome = steps.Outcome()
        try:
            try:
                resolved = resolve.resolve(step, self.variables, skip=LATE_KEYS)
                self.ctx.variables = dict(self.variables)
                outcome = steps.execute(
                    resolved, self.ctx, self.ctx.budget(steps.timeout_of(resolved)), self._slug(step)
                )
                verdict: events.Verdict = "failed" if outcome.message else "passed"
                message = outcome.message
            except KdbgtestError as exc:
                verdict, message = "failed", self._explain(exc)
            except OSError as exc:  # the system refused something, e.g. writing a transcript to a full disk
                verdict, message = "error", f"{type(exc).__name__}: {exc}"
            if verdict != "passed":
                liveness.check_now()  # a failure because the cluster stopped answering stops the run here
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                why = interrupt.as_interrupted(exc).summary
            else:
                why = f"kdbgtest bug: {exc!r}"
            self._step_finished(step, "error", why, started, outcome)
            self.failed_step = step.name
            raise
        self.variables.capture(outcome.captures)
        self._step_finished(step, verdict, message, started, outcome)
        if verdict != "passed":
            self._fail(verdict, f"{self.loaded.where(step)}: {message}", step.name)

    def _explain(self, exc: KdbgtestError) -> str:
        """The error's message; a timeout cut short by the scenario's own deadline says so."""
        message = str(exc)
        if isinstance(exc, StepTimeout) and self.ctx is not None and self.ctx.deadline_reached():
            limit = self.scenario.timeout * self.settings.timeout_scale
            message += f" (the scenario's timeout of {limit:g}s ran out)"
        return message

    def _slug(self, step: model.StepBase) -> str:
        return f"{self.index:02d}-{step.name}"

    def _step_finished(
        self,
        step: model.StepBase,
        verdict: events.Verdict,
        message: str,
        started: float,
        outcome: steps.Outcome,
    ) -> None:
        duration = time.monotonic() - started
        observed = None
        if isinstance(step, model.DebugStep) and verdict != "error":  # not while Ctrl-C is handled
            observed = observe.debug_facts(self.client, self.namespace, outcome.captures)
        finished = events.StepFinished(
            scenario=self.scenario.name,
            step=step.name,
            index=self.index,
            verdict=verdict,
            duration=duration,
            message=message,
            argv=outcome.argv,
            transcript=outcome.transcript,
            output_tail=outcome.output_tail,
            observed=observed,
        )
        self.step_results.append(finished)
        self.emit(finished)

    def _fail(self, verdict: events.Verdict, message: str, step: str | None) -> None:
        """Record the first failure (later ones, e.g. in finally steps, keep the first as the summary)."""
        if self.verdict == "passed":
            self.verdict, self.message, self.failed_step = verdict, message, step

    # -- artifacts and cleanup -------------------------------------------------------------------------------

    def _wrap_up(self) -> list[int]:
        """Artifacts on failure, then cleanup, with the first SIGINT/SIGTERM/SIGHUP deferred; those deferred.

        Nothing is asked of a cluster that stopped answering (before or during this): what is left is named."""
        with cleanup.shielded() as deferred:
            try:
                if self.lost is None:
                    self._collect_and_clean()
            except interrupt.ClusterLost as exc:
                self.lost = exc
            if self.lost is not None:
                self._left_on_lost_cluster()
            self.redactor.files(self.out)  # transcripts and artifacts: before any reporter reads them
        return deferred

    def _left_on_lost_cluster(self) -> None:
        self._close_drivers()  # local sessions only: kubectl processes still waiting on the server
        self.cleanup_incomplete = True
        left = [f"namespace {self.tracker.namespace}" if self.tracker.namespace else
                f"namespace {self.namespace} (if it was created)"]  # fmt: skip
        left += [f"pod {ns}/{name}" for ns, name in self.tracker.pods if ns != self.tracker.namespace]
        problem = f"not removed, the cluster stopped answering: {', '.join(left)}; `kdbgtest clean` removes it"
        self.emit(events.CleanupFinished(self.scenario.name, [], self.settings.keep, "", [problem]))

    def _where_stopped(self) -> str:
        step = f", step '{self.failed_step}'" if self.failed_step else ""
        return f"scenario {self.scenario.name} ({self.loaded.path}:{self.loaded.line}){step}"

    def _collect_and_clean(self) -> None:
        self._adopt_namespace()
        self._collect_artifacts()
        self._close_drivers()
        timeout = self.settings.cleanup_timeout * self.settings.timeout_scale
        if self.settings.keep:
            report = cleanup.keep(self.client, self.tracker)
        else:
            barrier = self.settings.barrier if self.shared is None else None
            report = cleanup.remove(self.client, self.tracker, timeout=timeout, barrier=barrier)
        if self.shared is not None:
            report = shared.finish_cleanup(report, self.shared, self.client, keep=self.settings.keep, timeout=timeout)
        self.emit(
            events.CleanupFinished(self.scenario.name, report.removed, self.settings.keep, report.hint, report.problems)
        )
        if report.problems:
            liveness.check_now()
            self.cleanup_incomplete = True
            self._fail("error", "cleanup failed: " + "; ".join(report.problems), None)

    def _collect_artifacts(self) -> None:
        """On failure, the artifacts of the run's namespace (of its own objects in a shared one). A file system
        error (a full disk, `--artifacts` naming a file) is told in the verdict and never stops the cleanup."""
        where = self.tracker.namespace or (self.shared.name if self.shared and self.ctx else None)
        if self.verdict == "passed" or where is None:
            return
        labels = self.shared.selector if self.shared else None
        try:
            artifacts.collect(self.client, self.out, where, self.tracker.pods, labels=labels)
        except OSError as exc:
            self.message += f" (the failure artifacts could not be written: {exc})"

    def _adopt_namespace(self) -> None:
        """A namespace created just before an interruption, but not yet recorded, is still ours to remove."""
        if self.tracker.namespace is not None:
            return
        if namespace.is_ours(self.client, self.namespace, self.settings.run_id):
            self.tracker.namespace = self.namespace

    def _driver(self, name: str) -> debug_driver.Driver:
        """The driver called `name`, made once per run (a step may pick another than the run's default)."""
        if name not in self.drivers:
            self.drivers[name] = self.make_driver(self.client, self.out, name)
        return self.drivers[name]

    def _close_drivers(self) -> None:
        for driver in self.drivers.values():
            driver.close()

    def _finished(self, verdict: events.Verdict, message: str) -> events.ScenarioFinished:
        result = events.ScenarioFinished(
            scenario=self.scenario.name,
            path=self.loaded.path,
            verdict=verdict,
            duration=time.monotonic() - self.started,
            message=message,
            failed_step=self.failed_step if verdict in ("failed", "error") else None,
            artifacts=self.out if self.out.is_dir() else None,
            steps=list(self.step_results),
            kubectl_calls=self.started_programs[self.client.path.name],
        )
        self.emit(result)
        return result
