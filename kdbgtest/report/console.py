"""Console output for people, with rich: a line per scenario start and finish, failures in full, a summary.

Colours only when the stream is a terminal and `NO_COLOR` is not set (or `color=True`); in a CI log the same
text comes out plain and unwrapped, without any escape sequence. `quiet` prints only failures, cleanup problems
and the summary. Text from scenarios and programs is never interpreted as rich markup.

    RUN   ephemeral-target  scenarios/ephemeral/target.yaml:2
    PASS  ephemeral-target  4.2s
    FAIL  copy-crashloop  12.0s
          at scenarios/copy.yaml:23, step 3 'attach-debug' (debug)
          $ kubectl --kubeconfig=... debug app ...
          timed out after 10s waiting for the text '/ # '; ...
          output (last 20 lines, /art/03-attach-debug.transcript.txt):
            | ...
          artifacts: kdbgtest-artifacts/copy-crashloop-3f9a2c

In GitHub Actions (`GITHUB_ACTIONS=true`) each failed or errored scenario also gets a workflow command,
`::error file=scenarios/copy.yaml,line=23,title=kdbgtest: copy-crashloop::<message>`, which GitHub shows as an
annotation at the failing step's line (paths relative to the working directory, the checkout).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from kdbgtest.report import record
from kdbgtest.runner import events

_VERDICT = {
    "passed": ("PASS ", "bold green"),
    "failed": ("FAIL ", "bold red"),
    "error": ("ERROR", "bold magenta"),
    "skipped": ("SKIP ", "yellow"),
}
_STEP_MARK = {"passed": "ok", "failed": "FAILED", "error": "ERROR", "skipped": "skipped"}
_INDENT = "      "


def colour_wanted(color: bool | None = None) -> bool | None:
    """`color` if given; False when `NO_COLOR` is set (https://no-color.org); else None: rich decides (a
    terminal, or `FORCE_COLOR`)."""
    if color is not None:
        return color
    return False if os.environ.get("NO_COLOR") else None


class ConsoleReporter:
    """Writes events as they happen to `stream` (stdout by default). `verbose` adds a line per step; `quiet`
    leaves out everything but failures and the summary."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        verbose: bool = False,
        quiet: bool = False,
        color: bool | None = None,
        tail_lines: int = record.TAIL_LINES,
        github: bool | None = None,
        root: Path | None = None,
    ) -> None:
        color = colour_wanted(color)
        self.console = Console(
            file=stream or sys.stdout,
            force_terminal=color,  # False: not a terminal to rich, so no escape sequence at all
            no_color=color is False,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=True,
        )
        self.verbose = verbose and not quiet
        self.quiet = quiet
        self.tail_lines = tail_lines
        self.github = os.environ.get("GITHUB_ACTIONS") == "true" if github is None else github
        self.root = root or Path.cwd()
        self.recorder = record.Recorder()

    def handle(self, event: events.Event) -> None:
        scenario = self.recorder.add(event)
        if isinstance(event, events.RunStarted) and not self.quiet:
            self._run_started(event)
        elif isinstance(event, events.ScenarioStarted) and not self.quiet:
            self._line(("RUN  ", "cyan"), f"  {event.scenario}  {event.path}:{event.line}")
        elif isinstance(event, events.StepFinished) and self.verbose:
            self._step(event, scenario)
        elif isinstance(event, events.ScenarioFinished) and scenario is not None:
            self._scenario_finished(event, scenario)
        elif isinstance(event, events.CleanupFinished):
            self._cleanup(event)
        elif isinstance(event, events.RunFinished):
            self._summary(event)

    def close(self) -> None:
        self.console.file.flush()

    # -- pieces --------------------------------------------------------------------------------------------

    def _run_started(self, event: events.RunStarted) -> None:
        header = Text(f"kdbgtest run {event.run_id}", style="bold")
        header.append(
            f": {event.scenario_count} scenario(s) on {event.cluster_kind} cluster {event.cluster_name!r} "
            f"({event.cluster_server or f'Kubernetes {event.server_version}'}, kubectl {event.kubectl_version})"
        )
        self.console.print(header)

    def _step(self, event: events.StepFinished, scenario: record.ScenarioRecord | None) -> None:
        step = scenario.steps.get(event.index) if scenario else None
        kind = f" ({step.started.kind})" if step and step.started else ""
        style = "green" if event.verdict == "passed" else "red" if event.verdict != "skipped" else "yellow"
        text = Text(f"{_INDENT}[{event.index}] {event.step}{kind} ")
        text.append(_STEP_MARK[event.verdict], style=style)
        text.append(f" {event.duration:.1f}s")
        self.console.print(text)

    def _scenario_finished(self, event: events.ScenarioFinished, scenario: record.ScenarioRecord) -> None:
        detail = f": {event.message}" if event.verdict == "skipped" and event.message else ""
        if self.quiet and event.verdict not in ("failed", "error"):
            return
        self._line(_VERDICT[event.verdict], f"  {event.scenario}  {event.duration:.1f}s{detail}")
        if event.verdict in ("failed", "error"):
            failure = record.describe_failure(scenario, self.tail_lines)
            self._failure(failure)
            if self.github:
                self.console.print(Text(github_annotation(event.scenario, failure, self.root)))

    def _failure(self, failure: record.Failure) -> None:
        where = f"at {failure.location}" + (f", {failure.step}" if failure.step else "")
        self._indented(where, "bold")
        if failure.command:
            self._indented(f"$ {failure.command}", "dim")
        self._indented(failure.message or failure.summary, "red")
        if failure.tail:
            source = f", {failure.transcript}" if failure.transcript else ""
            count = len(failure.tail.splitlines())
            self._indented(f"output (last {count} lines{source}):", "bold")
            for line in failure.tail.splitlines():
                self._indented(f"  | {line}", None)
        elif failure.transcript:
            self._indented(f"transcript: {failure.transcript}", None)
        if failure.artifacts:
            self._indented(f"artifacts: {failure.artifacts}", None)

    def _cleanup(self, event: events.CleanupFinished) -> None:
        if event.kept and event.hint:  # also when quiet: the only way to find what --keep kept
            self._indented(event.hint, "yellow")
        elif self.verbose and event.removed:
            self._indented(f"cleanup: removed {', '.join(event.removed)}", "dim")
        for problem in event.problems:
            self._indented(f"cleanup problem: {problem}", "bold red")

    def _summary(self, event: events.RunFinished) -> None:
        total = event.passed + event.failed + event.errors + event.skipped
        text = Text(f"\n{total} scenario(s): ")
        for count, label, style in (
            (event.passed, "passed", "green"),
            (event.failed, "failed", "red"),
            (event.errors, "errors", "magenta"),
            (event.skipped, "skipped", "yellow"),
        ):
            text.append(f"{count} {label}", style=style if count else None)
            text.append(", " if label != "skipped" else "")
        text.append(f" in {event.duration:.1f}s")
        if event.interrupted:
            text.append(f"; stopped early ({event.interrupted}), the rest was not run", style="bold magenta")
        elif event.not_run:
            text.append(
                f"; stopped at the first failure (--fail-fast), {len(event.not_run)} not run: "
                + ", ".join(event.not_run),
                style="bold magenta",
            )
        self.console.print(text)
        for problem in event.cleanup_problems:
            self._indented(f"cleanup problem: {problem}", "bold red")
        for scenario in self.recorder.scenarios.values():
            done = scenario.finished
            if done is not None and done.verdict in ("failed", "error"):
                failure = record.describe_failure(scenario, self.tail_lines)
                self._indented(f"{done.verdict}: {done.scenario} ({failure.location}): {failure.summary}", "red")

    def _line(self, verdict: tuple[str, str], rest: str) -> None:
        text = Text(verdict[0], style=verdict[1])
        text.append(rest)
        self.console.print(text)

    def _indented(self, text: str, style: str | None) -> None:
        for line in text.splitlines() or [""]:
            self.console.print(Text(_INDENT + line, style=style or ""))


def github_annotation(scenario: str, failure: record.Failure, root: Path) -> str:
    """The GitHub Actions `::error` workflow command for a failure, at its file and line."""
    try:
        path = failure.path.resolve().relative_to(root.resolve())
    except ValueError:
        path = failure.path
    line = str(failure.line) if failure.line else ""
    properties = {"file": str(path), "line": line, "title": f"kdbgtest: {scenario}"}
    fields = ",".join(f"{key}={_escape(value, property_value=True)}" for key, value in properties.items() if value)
    where = f"{failure.step}: " if failure.step else ""
    return f"::error {fields}::{_escape(where + (failure.message or failure.summary))}"


def _escape(text: str, *, property_value: bool = False) -> str:
    """Escape for a workflow command (as actions/toolkit's command.ts does): data keeps `:` and `,`."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text
