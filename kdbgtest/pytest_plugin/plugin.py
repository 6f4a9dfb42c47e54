"""The kdbgtest pytest plugin (entry point `pytest11: kdbgtest`): scenario YAML files as test items.

    pytest scenarios/                      # every scenario, one item each, located at its YAML line
    pytest scenarios/ -m copy              # scenarios with a copy-mode debug step
    pytest scenarios/ --kdbgtest-cluster sim --kdbgtest-keep

Files are collected when they lie under the scenario roots: `--kdbgtest-scenarios PATH` (repeatable), else the
`kdbgtest_scenarios` ini option, else `<rootdir>/scenarios`. Kubernetes manifests kept there (for
`apply: {file: ...}`) are not scenarios and are left alone.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from kdbgtest import options
from kdbgtest.pytest_plugin import items, session
from kdbgtest.scenario import loader

MODES = {
    "ephemeral": "scenarios with an ephemeral-container debug step",
    "copy": "scenarios with a pod-copy debug step",
    "node": "scenarios with a node debug step",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_to_pytest(parser)


def pytest_configure(config: pytest.Config) -> None:
    for mode, text in MODES.items():
        config.addinivalue_line("markers", f"{mode}: {text}")
    session.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session.release(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """A skipped scenario (unmet requirements) is reported at its YAML line, not at the plugin's code."""
    report = yield
    if isinstance(item, items.ScenarioItem) and report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        report.longrepr = (str(items.display_path(item.config, item.loaded.path)), item.loaded.line, reason)
    return report


def scenario_roots(config: pytest.Config) -> list[Path]:
    given = config.getoption("kdbgtest_scenarios") or []
    if given:
        return [Path(p).resolve() for p in given]
    ini = config.getini("kdbgtest_scenarios")
    if ini:
        return [Path(p).resolve() for p in ini]
    return [config.rootpath / "scenarios"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> items.ScenarioFile | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    resolved = file_path.resolve()
    if not any(resolved == root or root in resolved.parents for root in scenario_roots(parent.config)):
        return None
    if loader.is_manifest(file_path):
        return None
    scenario_file: items.ScenarioFile = items.ScenarioFile.from_parent(parent, path=file_path)
    return scenario_file
