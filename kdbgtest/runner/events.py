"""Typed events the runner emits while it executes scenarios; reporters consume them.

The runner never prints: the console, JUnit and JSON reporters (kdbgtest.report) turn these into output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Verdict = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    cluster_kind: str  # "sim" | "kind" | "local" | "kubeconfig": which kind of cluster produced the results
    cluster_name: str
    server_version: str
    kubectl_version: str
    scenario_count: int
    nodes: tuple[str, ...] = ()  # the cluster's schedulable nodes (the matrix compares output without them)
    cluster_server: str = ""  # what the API server is (ClusterInfo.server), e.g. the offline cluster


@dataclass(frozen=True)
class ScenarioStarted:
    scenario: str
    path: Path
    line: int
    namespace: str


@dataclass(frozen=True)
class StepStarted:
    scenario: str
    step: str
    index: int  # 1-based position in steps (finally steps continue the count)
    kind: str  # apply | wait | debug | exec | kubectl | assert | events
    line: int
    is_finally: bool = False


@dataclass(frozen=True)
class StepFinished:
    scenario: str
    step: str
    index: int
    verdict: Verdict
    duration: float
    message: str = ""  # why it failed, one or a few lines
    argv: list[str] | None = None  # the command run, if any
    transcript: Path | None = None  # raw transcript of an interactive session
    output_tail: str = ""  # last lines of what the command printed (escape sequences stripped)
    # A debug step's resulting API objects (kdbgtest.runner.observe): its container and pod settings.
    observed: dict[str, Any] | None = None


@dataclass(frozen=True)
class ScenarioFinished:
    scenario: str
    path: Path
    verdict: Verdict
    duration: float
    message: str = ""  # failure summary or skip reason
    failed_step: str | None = None
    artifacts: Path | None = None  # directory with describe/events/logs/transcripts
    steps: list[StepFinished] = field(default_factory=list)
    kubectl_calls: int = 0  # kubectl processes the scenario started (debug sessions, steps, setup, cleanup)


@dataclass(frozen=True)
class CleanupFinished:
    scenario: str
    removed: list[str]  # human-readable list of what was deleted
    kept: bool  # --keep: nothing deleted; `hint` says how to remove it
    hint: str = ""
    problems: list[str] = field(default_factory=list)  # deletes that failed (never ignored silently)


@dataclass(frozen=True)
class RunFinished:
    passed: int
    failed: int
    errors: int
    skipped: int
    duration: float
    interrupted: str = ""  # the signal that stopped the run before its end (SIGINT, SIGTERM, SIGHUP), or ""
    not_run: tuple[str, ...] = ()  # scenarios left out after the first failure (--fail-fast)
    cleanup_problems: tuple[str, ...] = ()  # what the run's final cleanup barrier found still there


Event = RunStarted | ScenarioStarted | StepStarted | StepFinished | ScenarioFinished | CleanupFinished | RunFinished


class Reporter(Protocol):
    """Anything that consumes events: console output, JUnit XML, JSON, the pytest plugin."""

    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...


class Kept:
    """A reporter that keeps every event it is given, in order (a worker's scenario until it can be shown)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass
