"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import suite_signals

HERE = Path(__file__).parent
# Each folder's tier (the marker every test in it gets); tests/sim/unit and tests/unit are `unit` unless a module
# marks itself `sim` (it starts the offline cluster) or `e2e`.
TIERS = {"unit": "unit", "sim": "sim", "e2e": "e2e", "chaos": "chaos", "contract": "contract", "local": "local"}
# Modules in unit folders that drive real programs (the kdbgtest CLI, kubectl against the fake kubectl's server,
# pexpect sessions, lint-imports, processes timing out): end to end without a cluster, so `e2e`, which keeps
# `-m unit` to seconds (they took ~140 s of its ~155 s).
END_TO_END = {
    "sim/unit/test_apiserver_protobuf_kubectl.py",
    "unit/architecture/test_import_contracts.py",
    "unit/base/test_async_process.py",
    "unit/cli/test_cli_commands.py",
    "unit/cli/test_cli_conventions.py",
    "unit/cli/test_cli_files.py",
    "unit/cli/test_cli_forbidden_namespace.py",
    "unit/cli/test_cli_outputs.py",
    "unit/cli/test_cli_progress.py",
    "unit/cli/test_cli_startup.py",
    "unit/cluster/test_kubeconfig_notice.py",
    "unit/scenario/test_scenario_cache.py",
    "unit/debug/test_debug_session.py",
    "unit/plugin/test_plugin_paths.py",
    "unit/plugin/test_plugin_pytester.py",
    "unit/report/test_report_progress.py",
    "unit/runner/test_liveness.py",
    "unit/runner/test_runner_authoring.py",
    "unit/runner/test_runner_engine.py",
    "unit/runner/test_runner_observe.py",
}


def pytest_configure(config: pytest.Config) -> None:
    """Signals: see suite_signals (SIGINT back to Ctrl-C's default; SIGTERM and SIGHUP tear the fixtures down)."""
    suite_signals.install()


def tier(path: Path) -> str | None:
    """The tier of a test file by its folder under tests/ (None outside tests/)."""
    try:
        parts = path.relative_to(HERE).parts
    except ValueError:
        return None
    if "/".join(parts) in END_TO_END:
        return "e2e"
    if parts[:2] == ("sim", "unit"):
        return "unit"
    return TIERS.get(parts[0]) if len(parts) > 1 else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its folder's tier, so `-m unit`, `-m sim`, `-m e2e` ... select whole tiers."""
    for item in items:
        found = tier(item.path)
        if found == "unit" and any(item.get_closest_marker(m) for m in ("sim", "e2e")):
            continue  # a test in a unit folder that starts a cluster is not a unit test
        if found is not None:
            item.add_marker(found)


@pytest.fixture(scope="session")
def plugin_args() -> list[str]:
    """pytest arguments that load kdbgtest's plugin in a pytester run: none when the package is installed
    (its pytest11 entry point loads it; `-p` again would register it twice), `-p` when run from a checkout."""
    installed = any(e.name == "kdbgtest" for e in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "kdbgtest.pytest_plugin.plugin"]


# Scenario files the unit tests load on purpose (some deliberately broken): never collected as scenarios, even
# when a run names tests/ on the command line.
collect_ignore = ["data"]
