"""What a scenario run created, and removing it: always, also after failures, timeouts and Ctrl-C.

kubectl never deletes node-debugger pods, and copies made with `--copy-to` outlive the debug session, so the
runner tracks them: pods named by a debug step's `debug_pod` capture, and pods labelled
`app.kubernetes.io/managed-by=kubectl-debug` (kubectl >= 1.34 labels node-debugger pods) that appeared during
the run in a namespace one of its own kubectl steps chose with `-n`. Everything in the run's namespace goes with
the namespace. A debug pod that someone else makes elsewhere on a shared cluster meanwhile is never touched.
"""

from __future__ import annotations

import shlex
import threading
import time
from dataclasses import dataclass, field

from kdbgtest.base import interrupt
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.runner import kube, namespace

DEBUG_POD_SELECTOR = "app.kubernetes.io/managed-by=kubectl-debug"
# Grace period for deleting the pods debug steps made (copies, node debuggers): nothing in them needs a
# graceful stop, and a shell left running by a failed session ignores SIGTERM, so their own period (30 s for a
# node debugger) would only be waited out. The kubelet rounds it up to its minimum of 2 s.
DEBUG_POD_GRACE = 1
# Kinds a scenario may create outside its namespace (an `rbac` fixture at cluster scope); removed by name.
CLUSTER_KINDS = ("ClusterRole", "ClusterRoleBinding")


@dataclass
class Tracker:
    """Resources a run created, in creation order."""

    namespace: str | None = None  # set once the namespace exists
    pods: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name) outside or inside it
    known_debug_pods: set[str] | None = None  # uids of labelled debug pods before the run (None: not listable)
    namespaces: set[str] = field(default_factory=set)  # other namespaces the run's own steps chose with -n
    cluster_objects: list[str] = field(default_factory=list)  # `clusterrole/NAME`, ... the run created

    def add_pod(self, ns: str, name: str) -> None:
        if (ns, name) not in self.pods:
            self.pods.append((ns, name))

    def add_cluster_object(self, kind: str, name: str) -> None:
        ref = f"{kind}/{name}"
        if ref not in self.cluster_objects:
            self.cluster_objects.append(ref)


@dataclass(frozen=True)
class Report:
    removed: list[str]
    problems: list[str]
    hint: str = ""


def snapshot_debug_pods(client: kube.Kubectl, tracker: Tracker) -> None:
    """Remember the labelled debug pods that exist before the run, so only new ones are removed later."""
    try:
        pods = client.items("pods", all_namespaces=True, labels=DEBUG_POD_SELECTOR)
    except KdbgtestError:
        tracker.known_debug_pods = None  # e.g. not allowed to list across namespaces: rely on captures
        return
    tracker.known_debug_pods = {str((p.get("metadata") or {}).get("uid")) for p in pods}


def _new_debug_pods(client: kube.Kubectl, tracker: Tracker, problems: list[str]) -> None:
    if tracker.known_debug_pods is None:
        return
    try:
        pods = client.items("pods", all_namespaces=True, labels=DEBUG_POD_SELECTOR)
    except KdbgtestError as exc:
        problems.append(f"could not list node-debugger pods to remove them: {exc}")
        return
    others: set[str] | None = None
    for pod in pods:
        meta = pod.get("metadata") or {}
        ns = str(meta.get("namespace"))
        if str(meta.get("uid")) in tracker.known_debug_pods:
            continue
        if ns != tracker.namespace and ns not in tracker.namespaces:
            continue  # not where this run made anything: someone else's
        if ns != tracker.namespace:
            others = _other_runs_namespaces(client, tracker) if others is None else others
            if ns in others:
                continue  # made by another kdbgtest run on the same cluster, which removes it itself
        tracker.add_pod(ns, str(meta.get("name")))


def _other_runs_namespaces(client: kube.Kubectl, tracker: Tracker) -> set[str]:
    """Namespaces of other kdbgtest runs (concurrent ones on a shared cluster), whose pods are not ours."""
    try:
        found = client.items("namespaces", labels=f"{namespace.MANAGED_BY}=kdbgtest")
    except KdbgtestError:
        return set()
    names = {str((item.get("metadata") or {}).get("name")) for item in found}
    return names - {tracker.namespace}


def removal_commands(client: kube.Kubectl, tracker: Tracker) -> list[str]:
    """The exact kubectl commands that remove what the run created (printed with --keep)."""
    commands = [
        shlex.join(client.argv(["delete", "pod", name, "--ignore-not-found"], ns))
        for ns, name in tracker.pods
        if ns != tracker.namespace
    ]
    commands += [shlex.join(client.argv(["delete", ref, "--ignore-not-found"])) for ref in tracker.cluster_objects]
    if tracker.namespace:
        commands.append(shlex.join(client.argv(["delete", "namespace", tracker.namespace, "--ignore-not-found"])))
    return commands


def keep(client: kube.Kubectl, tracker: Tracker) -> Report:
    """--keep: delete nothing; say how to remove everything."""
    problems: list[str] = []
    _new_debug_pods(client, tracker, problems)
    commands = removal_commands(client, tracker)
    hint = "kept for inspection; remove with:\n" + "\n".join(f"  {c}" for c in commands) if commands else ""
    return Report(removed=[], problems=problems, hint=hint)


class Barrier:
    """Deletions a run started and did not wait for (cleanup off the critical path): `wait` at the end of the
    run waits, with one deadline, until each is gone, and names whatever is left. Thread-safe."""

    def __init__(self) -> None:
        self._pending: list[tuple[str, str | None, str]] = []  # (kind, namespace, name)
        self._lock = threading.Lock()

    def add(self, kind: str, namespace: str | None, name: str) -> None:
        with self._lock:
            self._pending.append((kind, namespace, name))

    @property
    def pending(self) -> list[tuple[str, str | None, str]]:
        with self._lock:
            return list(self._pending)

    def wait(self, client: kube.Kubectl, *, timeout: float) -> list[str]:
        """Wait until everything added is gone; one problem per object still there when the deadline passed."""
        deadline = time.monotonic() + timeout
        problems = []
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, ns, name in pending:
            left = max(deadline - time.monotonic(), 0.5)
            if kind == "namespace":
                problem = namespace.wait_deleted(client, name, timeout=left)
            else:
                problem = client.wait_gone(f"pod/{name}", namespace=ns, label=f"pod {ns}/{name}", timeout=left)
            if problem:
                problems.append(f"{problem}; `kdbgtest clean` removes it")
        return problems


def remove(client: kube.Kubectl, tracker: Tracker, *, timeout: float, barrier: Barrier | None = None) -> Report:
    """Delete tracked pods, then the namespace, waiting for each; every failure is reported, none ignored.

    With a `barrier`, the deletions are only started and handed to it: the run moves on, and the barrier
    waits for them at its end."""
    removed: list[str] = []
    problems: list[str] = []
    _new_debug_pods(client, tracker, problems)
    for ns, name in tracker.pods:
        if ns == tracker.namespace:  # goes with the namespace; ended now so that it does not hold it up
            problem = _request_delete(client, ns, name)
            if problem:
                problems.append(problem)
            continue
        if barrier is not None:
            problem = _request_delete(client, ns, name)
            if problem is None:
                barrier.add("pod", ns, name)
        else:
            problem = delete_pod(client, ns, name, timeout=timeout)
        if problem:
            problems.append(problem)
        else:
            removed.append(f"pod {ns}/{name}")
    for ref in reversed(tracker.cluster_objects):  # bindings before their roles
        try:
            client.run(["delete", ref, "--ignore-not-found"])
            removed.append(ref)
        except KdbgtestError as exc:
            problems.append(f"{ref}: delete failed: {exc}")
    if tracker.namespace:
        if barrier is not None:
            problem = namespace.start_delete(client, tracker.namespace)
            if problem is None:
                barrier.add("namespace", None, tracker.namespace)
        else:
            problem = namespace.delete(client, tracker.namespace, timeout=timeout)
        if problem:
            problems.append(problem)
        else:
            removed.append(f"namespace {tracker.namespace}")
    return Report(removed=removed, problems=problems)


def delete_pod(client: kube.Kubectl, ns: str, name: str, *, timeout: float) -> str | None:
    """Delete one pod (a debug step's) and wait until it is gone; a problem description, or None."""
    problem = _request_delete(client, ns, name)
    if problem:
        return problem
    return client.wait_gone(f"pod/{name}", namespace=ns, label=f"pod {ns}/{name}", timeout=timeout)


def _request_delete(client: kube.Kubectl, ns: str, name: str) -> str | None:
    """Ask for a debug step's pod to be deleted (short grace, no wait); a problem description, or None."""
    try:
        client.delete(f"pod/{name}", namespace=ns, grace=DEBUG_POD_GRACE)
    except KdbgtestError as exc:
        return f"pod {ns}/{name}: delete failed: {exc}"
    return None


shielded = interrupt.shielded  # lives with the signal handling it defers
