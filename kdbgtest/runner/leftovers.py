"""What dead runs left on a cluster, and removing it (`kdbgtest clean`; `kdbgtest run` warns about it).

A run that was killed (SIGKILL, a lost machine, a dead API server) could not clean up. Its namespace carries the
labels `app.kubernetes.io/managed-by=kdbgtest` and `kdbgtest.io/run-id=<run id>` (see `namespace.labels`);
copies and node-debugger pods its steps made there go with it. Only namespaces older than a threshold count as
left over, so that a run still going on a shared cluster is never touched. Removal reuses `cleanup.remove`:
the debug pods (`cleanup.DEBUG_POD_SELECTOR`) in it are ended first with a short grace period, then the
namespace is deleted and waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kdbgtest.base import ages
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.runner import cleanup, kube, namespace

DEFAULT_AGE = ages.LEFTOVER_AGE


@dataclass(frozen=True)
class Leftover:
    """A namespace of an earlier run."""

    name: str
    run_id: str
    age: float  # seconds since it was created


def find(client: kube.Kubectl, *, older_than: float, run_id: str | None = None) -> list[Leftover]:
    """Namespaces of kdbgtest runs created more than `older_than` seconds ago (of run `run_id` only, if
    given), oldest first."""
    selector = f"{namespace.MANAGED_BY}=kdbgtest"
    if run_id:
        selector += f",{namespace.RUN_ID_LABEL}={run_id}"
    now = datetime.now(UTC)
    found = []
    for item in client.items("namespaces", labels=selector):
        meta = item.get("metadata") or {}
        age = _age(str(meta.get("creationTimestamp") or ""), now)
        if age is not None and age >= older_than:
            run = str((meta.get("labels") or {}).get(namespace.RUN_ID_LABEL, "?"))
            found.append(Leftover(str(meta.get("name")), run, age))
    return sorted(found, key=lambda leftover: -leftover.age)


def _age(timestamp: str, now: datetime) -> float | None:
    try:
        created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now - created).total_seconds()


def remove(client: kube.Kubectl, leftover: Leftover, *, timeout: float) -> cleanup.Report:
    """Remove one leftover namespace with the debug pods in it, as the run itself would have."""
    tracker = cleanup.Tracker(namespace=leftover.name)
    try:
        pods = client.items("pods", namespace=leftover.name, labels=cleanup.DEBUG_POD_SELECTOR)
    except KdbgtestError as exc:
        return cleanup.Report(removed=[], problems=[f"namespace {leftover.name}: cannot list its pods: {exc}"])
    for pod in pods:
        tracker.add_pod(leftover.name, str((pod.get("metadata") or {}).get("name")))
    return cleanup.remove(client, tracker, timeout=timeout)


def warning(client: kube.Kubectl, *, older_than: float = DEFAULT_AGE) -> str | None:
    """One line about leftovers older than `older_than` (None if there are none or they cannot be listed)."""
    try:
        found = find(client, older_than=older_than)
    except KdbgtestError:
        return None
    if not found:
        return None
    oldest = found[0]
    return (
        f"{len(found)} namespace(s) left by earlier kdbgtest runs, the oldest {oldest.name} "
        f"({ages.describe_age(oldest.age)} old); remove them with `kdbgtest clean --kubeconfig {client.kubeconfig}"
        + (f" --context {client.context}" if client.context else "")
        + "`"
    )
