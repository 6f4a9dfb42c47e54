"""Test helpers shared by the runner, CLI and plugin tests: the recording fake kubectl, a recording reporter,
scenario files."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.runner import events
from kdbgtest.scenario import loader

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass
class FakeKubectl:
    """The executable, and what it recorded."""

    path: Path
    state: Path

    def configure(self, **config: Any) -> None:
        (self.state / "config.json").write_text(json.dumps(config))

    def records(self) -> list[dict[str, Any]]:
        lines = (self.state / "calls.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def commands(self) -> list[list[str]]:
        """Each call's argv without the cluster flags (--kubeconfig, --context)."""
        result = []
        for record in self.records():
            argv, kept, skip = record["argv"], [], False
            for arg in argv:
                if skip:
                    skip = False
                elif arg in ("--kubeconfig", "--context"):
                    skip = True
                elif not arg.startswith(("--kubeconfig=", "--context=")):
                    kept.append(arg)
            result.append(kept)
        return result

    def objects(self) -> dict[str, Any]:
        path = self.state / "state.json"
        objects: dict[str, Any] = json.loads(path.read_text())["objects"] if path.exists() else {}
        return objects


@dataclass
class Recorder:
    """A reporter that keeps every event."""

    events: list[events.Event] = field(default_factory=list)

    def handle(self, event: events.Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def write_scenario(directory: Path, text: str, name: str = "scenario.yaml") -> loader.LoadedScenario:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return loader.load_file(path)


Runner = Callable[..., tuple[events.ScenarioFinished, Recorder]]


def install_fake_kubectl(directory: Path) -> FakeKubectl:
    """An executable `kubectl` in `directory/bin` running tests/data/fake_kubectl.py with this Python.

    It keeps its state in `directory/kubectl-state`; the caller sets FAKE_KUBECTL_DIR to `fake.state`.
    """
    state = directory / "kubectl-state"
    state.mkdir()
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "kubectl"
    script = DATA / "fake_kubectl.py"
    program = f"import runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')\n"
    wrapper.write_text(f"#!{sys.executable}\n{program}")
    wrapper.chmod(0o755)
    return FakeKubectl(wrapper, state)
