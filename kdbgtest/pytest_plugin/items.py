"""pytest collection nodes: a scenario file, one item per scenario, run by the same engine as the CLI."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ExceptionInfo, TerminalRepr

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.pytest_plugin import session
from kdbgtest.runner import engine, events
from kdbgtest.scenario import issues, loader, model

SNIPPET_LINES = 30
TAIL_LINES = 20


class ScenarioFailed(Exception):
    """A scenario run ended failed or errored; carries what `repr_failure` shows."""

    def __init__(self, result: events.ScenarioFinished) -> None:
        self.result = result
        super().__init__(result.message)


class ScenarioFile(pytest.File):
    """A YAML scenario file; invalid files are a collection error showing `file:line:col: message` lines."""

    def collect(self) -> Iterator[pytest.Item]:
        loaded, found = loader.check_file(self.path)
        if loaded is None:
            shown = [dataclasses.replace(issue, path=display_path(self.config, issue.path)) for issue in found]
            raise self.CollectError(issues.render(shown) or f"{self.path}: not a valid scenario")
        yield ScenarioItem.from_parent(self, name=loaded.name, loaded=loaded)


class ScenarioItem(pytest.Item):
    """One scenario. Markers: its debug modes and its tags."""

    def __init__(self, *, loaded: loader.LoadedScenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        for marker in sorted(loaded.scenario.modes) + list(loaded.scenario.tags):
            session.register_marker(self.config, marker)
            self.add_marker(marker)

    def __repr__(self) -> str:
        return f"<ScenarioItem {self.name} ({self.location[0]}:{self.loaded.line})>"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.loaded.line - 1, f"scenario: {self.name}"

    def runtest(self) -> None:
        cluster = session.cluster(self.config)
        options = session.run_options(self.config)
        alone = self.loaded.scenario.serial or options.namespace is not None  # a shared namespace: one at a time
        with session.holding(self.config, alone=alone):
            result = engine.run_one(self.loaded, cluster, options, session.reporters(self.config))
        if result.verdict == "skipped":
            pytest.skip(result.message)
        if result.verdict in ("failed", "error"):
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        shown = str(display_path(self.config, self.loaded.path))
        if isinstance(excinfo.value, ScenarioFailed):
            return render_failure(self.loaded, excinfo.value.result).replace(str(self.loaded.path), shown)
        if isinstance(excinfo.value, KdbgtestError):
            return f"{shown}:{self.loaded.line}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)  # a kdbgtest bug: the full traceback


def display_path(config: pytest.Config, path: Path) -> Path:
    """`path` relative to the directory pytest was started in, when it lies below it."""
    try:
        return path.resolve().relative_to(config.invocation_params.dir)
    except ValueError:
        return path


def _find_step(loaded: loader.LoadedScenario, name: str | None) -> model.Step | None:
    return next((s for s in loaded.all_steps() if s.name == name), None)


def step_snippet(loaded: loader.LoadedScenario, step: model.Step) -> str:
    """The step's YAML lines from the file, with line numbers."""
    line, col = loaded.step_location(step)
    lines = loaded.path.read_text(encoding="utf-8").splitlines()
    shown = [f"{line:4d} | {lines[line - 1]}"]
    for number in range(line + 1, min(len(lines), line + SNIPPET_LINES) + 1):
        text = lines[number - 1]
        if text.strip() and len(text) - len(text.lstrip()) < col - 1:
            break
        shown.append(f"{number:4d} | {text}")
    while shown and not shown[-1].split("|", 1)[1].strip():
        shown.pop()
    return "\n".join(shown)


def render_failure(loaded: loader.LoadedScenario, result: events.ScenarioFinished) -> str:
    """File:line, step, the step's YAML, why it failed (expected vs actual), transcript tail, artifacts."""
    step = _find_step(loaded, result.failed_step)
    where = loaded.where(step) if step is not None else loaded.where()
    parts = [f"{where}: scenario {result.verdict}"]
    if step is not None:
        parts.append(step_snippet(loaded, step))
    parts.append(result.message.removeprefix(f"{where}: "))
    finished = next((s for s in reversed(result.steps) if s.step == result.failed_step), None)
    if finished is not None and finished.output_tail:
        tail = "\n".join(finished.output_tail.splitlines()[-TAIL_LINES:])
        parts.append(f"output (last {TAIL_LINES} lines):\n{tail}")
    if finished is not None and finished.transcript:
        parts.append(f"transcript: {finished.transcript}")
    if result.artifacts:
        parts.append(f"artifacts: {result.artifacts}")
    return "\n\n".join(parts)
