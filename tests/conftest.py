"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.metadata

import pytest


@pytest.fixture(scope="session")
def plugin_args() -> list[str]:
    """pytest arguments that load kdbgtest's plugin in a pytester run: none when the package is installed
    (its pytest11 entry point loads it; `-p` again would register it twice), `-p` when run from a checkout."""
    installed = any(e.name == "kdbgtest" for e in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "kdbgtest.pytest_plugin.plugin"]


# Scenario files the unit tests load on purpose (some deliberately broken): never collected as scenarios, even
# when a run names tests/ on the command line.
collect_ignore = ["data"]
