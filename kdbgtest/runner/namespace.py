"""The namespace of one scenario run: `kdbg-<scenario>-<run id>`, labelled so leftovers can be found."""

from __future__ import annotations

import re

from kdbgtest.base.errors import ClusterError, CommandFailed, KdbgtestError
from kdbgtest.base.k8s import Obj
from kdbgtest.runner import kube

MANAGED_BY = "app.kubernetes.io/managed-by"
RUN_ID_LABEL = "kdbgtest.io/run-id"
SCENARIO_LABEL = "kdbgtest.io/scenario"
MAX_NAME = 63
SERVICE_ACCOUNT_TIMEOUT = 60.0


def namespace_name(scenario: str, run_id: str) -> str:
    """A DNS label of at most 63 characters; the scenario part is shortened so the run id stays whole."""
    run = _label(run_id)[:20]
    budget = MAX_NAME - len(run) - 1
    prefix = _label(f"kdbg-{scenario}")[:budget].rstrip("-")
    return f"{prefix}-{run}"


def _label(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def labels(scenario: str, run_id: str) -> dict[str, str]:
    """Labels on everything kdbgtest creates for a run."""
    return {MANAGED_BY: "kdbgtest", RUN_ID_LABEL: _label(run_id)[:63], SCENARIO_LABEL: _label(scenario)[:63]}


class NamespaceForbidden(ClusterError):
    """The user may not create namespaces. `again` is set for the scenarios after the first that was told."""

    def __init__(self, message: str, *, again: bool) -> None:
        super().__init__(message)
        self.again = again


# Runs (by run id) that found namespace creation forbidden: said once, the later scenarios do not try again.
_FORBIDDEN: set[str] = set()


def create(client: kube.Kubectl, name: str, scenario: str, run_id: str, extra: dict[str, str] | None = None) -> None:
    """Create the namespace with kdbgtest's labels and `extra` ones (the scenario's, e.g. Pod Security's); an
    existing one of that name is an error (never reuse someone's namespace).

    Creation refused by authorization is `NamespaceForbidden`: the first time with kubectl's words and the way
    out (`--namespace NS`), then, for the rest of the run, without asking the cluster again."""
    if run_id in _FORBIDDEN:
        raise NamespaceForbidden(
            "not run: this run may not create namespaces (see the first scenario's error); "
            "use --namespace NS to run in an existing namespace",
            again=True,
        )
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {**(extra or {}), **labels(scenario, run_id)}},
    }
    try:
        client.create(manifest)
    except KdbgtestError as exc:
        if "(Forbidden)" in str(exc):
            _FORBIDDEN.add(run_id)
            said = exc.stderr.strip().splitlines()[-1] if isinstance(exc, CommandFailed) and exc.stderr else exc
            raise NamespaceForbidden(
                f"kdbgtest may not create namespaces on this cluster ({said}); run the scenarios in an existing "
                "namespace with --namespace NS (they then run one after another inside it)",
                again=False,
            ) from None
        raise ClusterError(f"cannot create namespace {name}: {exc}") from None
    _await_default_service_account(client, name)


def _await_default_service_account(client: kube.Kubectl, name: str) -> None:
    """A real API server refuses pods until the controller-manager has made the namespace's `default` service
    account (`error looking up service account`); a cluster without service accounts (the sim) has nothing to
    wait for."""

    if client.reader is not None:
        if not client.reader.serves("serviceaccounts"):
            return
        client.reader.watch_one(
            "serviceaccounts",
            "default",
            name,
            lambda found: (found is not None, "not created yet"),
            timeout=SERVICE_ACCOUNT_TIMEOUT,
            what=f"service account default in namespace {name}",
        )
        return

    def present() -> tuple[bool, str]:
        try:
            found = client.get("serviceaccount/default", namespace=name)
        except KdbgtestError as exc:
            return "doesn't have a resource type" in str(exc), str(exc)
        return found is not None, "not created yet"

    kube.poll(present, timeout=SERVICE_ACCOUNT_TIMEOUT, what=f"service account default in namespace {name}")


def is_ours(client: kube.Kubectl, name: str, run_id: str) -> bool:
    """Whether namespace `name` exists and carries this run's label (so this run created it)."""
    try:
        found = client.get(f"namespace/{name}")
    except KdbgtestError:
        return False
    labels_found = ((found or {}).get("metadata") or {}).get("labels") or {}
    return bool(labels_found.get(RUN_ID_LABEL) == labels(name, run_id)[RUN_ID_LABEL])


def delete(client: kube.Kubectl, name: str, *, timeout: float) -> str | None:
    """Delete the namespace and wait until it is gone; return a problem description, or None if it went."""
    return start_delete(client, name) or wait_deleted(client, name, timeout=timeout)


def start_delete(client: kube.Kubectl, name: str) -> str | None:
    """Ask for the namespace to be deleted, without waiting; a problem description, or None."""
    try:
        client.delete(f"namespace/{name}")
    except KdbgtestError as exc:
        return f"namespace {name}: delete failed: {exc}"
    return None


def wait_deleted(client: kube.Kubectl, name: str, *, timeout: float) -> str | None:
    """Wait until the namespace is gone; a problem description saying what was last seen, or None."""

    def phase(obj: Obj) -> str:
        return f"phase {(obj.get('status') or {}).get('phase', 'unknown')}"

    return client.wait_gone(f"namespace/{name}", label=f"namespace {name}", timeout=timeout, state=phase)
