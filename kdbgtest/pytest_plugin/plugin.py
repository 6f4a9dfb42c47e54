"""The kdbgtest pytest plugin (entry point `pytest11: kdbgtest`): scenario YAML files as test items.

    pytest scenarios/                      # every scenario, one item each, located at its YAML line
    pytest scenarios/ -m copy              # scenarios with a copy-mode debug step
    pytest scenarios/ --kdbgtest-cluster sim --kdbgtest-keep
    pytest path/to/suite/ other.yaml       # paths named on the command line are collected too
    pytest -n 4 scenarios/                 # pytest-xdist: four at a time on one cluster (see `session`)

Files are collected when they lie under the scenario roots: `--kdbgtest-scenarios PATH` (repeatable), else the
`kdbgtest_scenarios` ini option, else `<rootdir>/scenarios`; or when they are named on the command line (see
`discovery`). Kubernetes manifests kept there (for `apply: {file: ...}`) are not scenarios and are left alone.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from kdbgtest import options
from kdbgtest.cluster import select
from kdbgtest.pytest_plugin import discovery, items, session

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


def pytest_report_header(config: pytest.Config) -> str | None:
    """The KUBECONFIG notice of `kdbgtest run`, at the top of the session."""
    return select.kubeconfig_notice(session.state(config).request)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist's controller, starting a worker: hand it the session's cluster (acquired once, here, when
    the session's paths hold scenarios)."""
    if not node.config.option.collectonly and discovery.any_scenario(node.config):
        node.workerinput[session.SHARED] = session.share(node.config)


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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> items.ScenarioFile | None:
    if not discovery.is_scenario_file(file_path, parent.config):
        return None
    scenario_file: items.ScenarioFile = items.ScenarioFile.from_parent(parent, path=file_path)
    return scenario_file
