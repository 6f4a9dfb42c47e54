"""Namespaces: create, and deletion that cascades to the pods and finishes when the last one is gone."""

from __future__ import annotations

import re
from collections.abc import Callable

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import objects, status
from kdbgtest.sim.apiserver.store import Store

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
PROTECTED = ("default", "kube-system", "kube-public")


def require_active(store: Store, namespace: str, resource: str, name: str) -> None:
    """NotFound for a missing namespace, Forbidden for one being terminated (as the lifecycle admission)."""
    ns = store.find("namespaces", "", namespace)
    if ns is None:
        raise status.not_found("namespaces", namespace)
    if ns["metadata"].get("deletionTimestamp"):
        why = f"unable to create new content in namespace {namespace} because it is being terminated"
        raise status.forbidden(resource, name, why)


def _invalid_name(name: str) -> status.ApiError:
    detail = f'Invalid value: "{name}": {_LABEL_MSG}'
    if len(name) > 63:
        detail = f'Invalid value: "{name}": must be no more than 63 characters'
    cause = {"reason": "FieldValueInvalid", "message": detail, "field": "metadata.name"}
    return status.ApiError(
        status.failure(
            422,
            "Invalid",
            f'Namespace "{name}" is invalid: metadata.name: {detail}',
            {"name": name, "kind": "Namespace", "causes": [cause]},
        )
    )


def create(store: Store, body: Obj) -> Obj:
    meta = body.setdefault("metadata", {})
    name = meta.get("name") or ""
    if not name and meta.get("generateName"):
        name = meta["generateName"] + objects.random_suffix()
        meta["name"] = name
    if not name or not _LABEL.match(name) or len(name) > 63:
        raise _invalid_name(name)
    body.setdefault("apiVersion", "v1")
    body.setdefault("kind", "Namespace")
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations")
    objects.prepare_namespace(body)
    body["metadata"]["labels"].update({k: v for k, v in labels.items() if k != "kubernetes.io/metadata.name"})
    if annotations:
        body["metadata"]["annotations"] = annotations
    return store.create("namespaces", body)


def delete(store: Store, name: str, delete_pod: Callable[[str, str], object]) -> Obj:
    """Mark the namespace Terminating and delete its pods; it disappears once they are gone."""
    ns = store.get("namespaces", "", name)
    if name in PROTECTED:
        raise status.forbidden("namespaces", name, "this namespace may not be deleted")
    if not ns["metadata"].get("deletionTimestamp"):
        ns["metadata"]["deletionTimestamp"] = objects.now()
        ns["metadata"]["deletionGracePeriodSeconds"] = 0
        ns["status"] = {"phase": "Terminating"}
        ns = store.update("namespaces", ns)
    for pod in store.list_objects("pods", name):
        delete_pod(name, pod["metadata"]["name"])
    store.finish_namespace(name)
    return store.find("namespaces", "", name) or ns
