"""Session-wide state of the pytest plugin: the options, one run id, and the cluster, acquired lazily.

The cluster comes from the same provider selection as `kdbgtest run` (`--kdbgtest-cluster` etc.), is acquired
when the first scenario item runs (collect-only and `-m` deselection never start one) and released at the end
of the session. A failure to acquire it is remembered, so every scenario reports it without retrying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kdbgtest import options
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster import base, select
from kdbgtest.runner import engine, events


@dataclass
class State:
    run_options: engine.RunOptions
    request: base.ClusterRequest
    provider: base.ClusterProvider | None = None
    cluster: base.ClusterInfo | None = None
    error: KdbgtestError | None = None
    reporters: list[events.Reporter] = field(default_factory=list)


STATE = pytest.StashKey[State]()


def values(config: pytest.Config) -> dict[str, Any]:
    """Option values by option name, read from pytest's `--kdbgtest-*` options."""
    return {o.name: config.getoption(o.pytest_dest) for o in options.OPTIONS if o.pytest}


def configure(config: pytest.Config) -> None:
    found = values(config)
    config.stash[STATE] = State(options.run_options(found), options.cluster_request(found))


def state(config: pytest.Config) -> State:
    return config.stash[STATE]


def run_options(config: pytest.Config) -> engine.RunOptions:
    return state(config).run_options


def reporters(config: pytest.Config) -> list[events.Reporter]:
    return state(config).reporters


def cluster(config: pytest.Config) -> base.ClusterInfo:
    """The session's cluster, acquired on first use."""
    current = state(config)
    if current.error is not None:
        raise current.error
    if current.cluster is None:
        try:
            current.provider = select.provider(current.request)
            current.cluster = current.provider.acquire()
        except KdbgtestError as exc:
            current.error = exc
            raise
    return current.cluster


def release(config: pytest.Config) -> None:
    """Give the cluster back (stop a sim or kind cluster the session started)."""
    current = config.stash.get(STATE, None)
    if current is None or current.provider is None:
        return
    provider, current.provider, current.cluster = current.provider, None, None
    provider.release()


def register_marker(config: pytest.Config, name: str) -> None:
    """Declare a marker (a debug mode or a scenario tag) so `--strict-markers` accepts it."""
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if name not in known:
        config.addinivalue_line("markers", f"{name}: kdbgtest scenarios with this debug mode or tag")
