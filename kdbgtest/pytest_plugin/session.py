"""Session-wide state of the pytest plugin: the options, one run id, and the cluster, acquired lazily.

The cluster comes from the same provider selection as `kdbgtest run` (`--kdbgtest-cluster` etc.), is acquired
when the first scenario item runs (collect-only and `-m` deselection never start one) and released at the end
of the session. A failure to acquire it is remembered, so every scenario reports it without retrying.

With pytest-xdist (`pytest -n 4 scenarios/`) the controller acquires the cluster once, when it starts its
workers, and hands each the cluster, the run id and a lock file (`share`/`adopt`): every worker runs its
scenarios on that one cluster, each in its own namespace, and the controller releases it at the end. A
scenario marked `serial: true` holds the lock exclusively, the others hold it shared (`holding`), so it runs
alone, as with `kdbgtest run -n N`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
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
    lock: Path | None = None  # with pytest-xdist: the file `serial: true` scenarios hold exclusively


STATE = pytest.StashKey[State]()


def values(config: pytest.Config) -> dict[str, Any]:
    """Option values by option name, read from pytest's `--kdbgtest-*` options."""
    return {o.name: config.getoption(o.pytest_dest) for o in options.OPTIONS if o.pytest}


def configure(config: pytest.Config) -> None:
    found = values(config)
    config.stash[STATE] = State(options.run_options(found), options.cluster_request(found))
    given = getattr(config, "workerinput", {}).get(SHARED)
    if given is not None:
        adopt(config, given)


SHARED = "kdbgtest"  # the key of what the controller hands its xdist workers (`workerinput`)


def share(config: pytest.Config) -> dict[str, Any]:
    """What an xdist worker needs to run on the controller's cluster (plain data: it crosses processes).
    Acquires the cluster now; a failure to is handed on, for each scenario to report."""
    current = state(config)
    if current.lock is None:
        handle, name = tempfile.mkstemp(prefix="kdbgtest-serial-", suffix=".lock")
        os.close(handle)
        current.lock = Path(name)
    shared: dict[str, Any] = {"run_id": current.run_options.run_id, "lock": str(current.lock)}
    try:
        info = cluster(config)
    except KdbgtestError as exc:
        shared["error"] = str(exc)
        return shared
    fields = dataclasses.asdict(info)
    fields.update(kubeconfig=str(info.kubeconfig), nodes=list(info.nodes), capabilities=sorted(info.capabilities))
    shared["cluster"] = fields
    return shared


def adopt(config: pytest.Config, shared: dict[str, Any]) -> None:
    """In an xdist worker: the controller's cluster, run id and lock (no provider: the controller releases)."""
    current = state(config)
    current.run_options = dataclasses.replace(current.run_options, run_id=str(shared["run_id"]))
    current.lock = Path(shared["lock"])
    if "error" in shared:
        current.error = KdbgtestError(str(shared["error"]))
        return
    fields = dict(shared["cluster"])
    fields.update(kubeconfig=Path(fields["kubeconfig"]), nodes=tuple(fields["nodes"]))
    fields["capabilities"] = frozenset(fields["capabilities"])
    current.cluster = base.ClusterInfo(**fields)


@contextlib.contextmanager
def holding(config: pytest.Config, *, alone: bool) -> Iterator[None]:
    """With pytest-xdist, the lock shared (exclusively when `alone`) while the block runs; else nothing."""
    path = state(config).lock
    if path is None:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    if current is None:
        return
    if current.lock is not None and not hasattr(config, "workerinput"):
        current.lock.unlink(missing_ok=True)
    if current.provider is None:
        return
    provider, current.provider, current.cluster = current.provider, None, None
    provider.release()


def register_marker(config: pytest.Config, name: str) -> None:
    """Declare a marker (a debug mode or a scenario tag) so `--strict-markers` accepts it."""
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if name not in known:
        config.addinivalue_line("markers", f"{name}: kdbgtest scenarios with this debug mode or tag")
