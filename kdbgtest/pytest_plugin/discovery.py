"""Which YAML files the pytest plugin collects as scenario files.

- Under the scenario roots (`--kdbgtest-scenarios PATH`, repeatable; else the `kdbgtest_scenarios` ini option;
  else `<rootdir>/scenarios`) and below a directory named on the pytest command line: the scenario files as
  `kdbgtest run` finds them (`loader.looks_like_scenario`: a mapping with top-level `name` and `steps`, or a
  file that cannot be parsed, whose problem becomes a collection error), so other YAML kept there (a
  `--custom` profile, a manifest, CI config, Helm values) is left alone.
- A file named itself on the pytest command line (`pytest path/to/file.yaml`) is collected unless it is a
  Kubernetes manifest. `testpaths` from the ini file do not count as named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kdbgtest.scenario import limits, loader, positions

SUFFIXES = (".yaml", ".yml")
_NAMED = pytest.StashKey[list[Path]]()


def scenario_roots(config: pytest.Config) -> list[Path]:
    given = config.getoption("kdbgtest_scenarios") or []
    if given:
        return [Path(p).resolve() for p in given]
    ini = config.getini("kdbgtest_scenarios")
    if ini:
        return [Path(p).resolve() for p in ini]
    return [config.rootpath / "scenarios"]


def named_paths(config: pytest.Config) -> list[Path]:
    """Files and directories given as arguments on the pytest command line (without `::test` parts)."""
    if _NAMED not in config.stash:
        named: list[Path] = []
        if config.args_source == pytest.Config.ArgsSource.ARGS:
            base = config.invocation_params.dir
            named = [(base / arg.split("::", 1)[0]).resolve() for arg in config.args]
        config.stash[_NAMED] = named
    return config.stash[_NAMED]


def is_scenario_file(file_path: Path, config: pytest.Config) -> bool:
    """Whether `file_path` is collected as a scenario file (see the module docstring)."""
    if file_path.suffix not in SUFFIXES:
        return False
    resolved = file_path.resolve()
    named = named_paths(config)
    if resolved in named:
        return not _is_manifest(_first_document(file_path))
    under_root = any(resolved == root or root in resolved.parents for root in scenario_roots(config))
    below_named = any(path in resolved.parents for path in named)
    return (under_root or below_named) and loader.looks_like_scenario(file_path) is not False


def any_scenario(config: pytest.Config) -> bool:
    """Whether the session's paths (those named, else `testpaths`) hold a file collected as a scenario: the
    pytest-xdist controller, which collects nothing itself, acquires a cluster only then."""
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        files = [path] if path.is_file() else (f for f in path.rglob("*") if f.suffix in SUFFIXES)
        if any(is_scenario_file(f, config) for f in files):
            return True
    return False


def _first_document(path: Path) -> Any:
    """The file's first YAML document, read within the loader's limits (size, nesting, aliases); None when it
    cannot be read (the scenario loader then reports why, with its position)."""
    try:
        text, breach = limits.decode(limits.read(path))
    except OSError:
        return None
    if breach is not None or limits.unprintable(text) is not None:
        return None
    try:
        return positions.first_document(text)
    except (yaml.YAMLError, *positions.CONVERSION_ERRORS):
        return None


def _is_manifest(first: Any) -> bool:
    """A Kubernetes manifest (apiVersion + kind, no steps) rather than a scenario."""
    return isinstance(first, dict) and "apiVersion" in first and "kind" in first and "steps" not in first
