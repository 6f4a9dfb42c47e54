"""OpenAPI v3 component schemas of Pod, Node, Namespace and Event, derived from the kubernetes Python client's
generated models (same API release as the pinned kubectl) plus the patch strategies kubectl needs for
client-side apply (`x-kubernetes-patch-merge-key`, from core/v1 `types.go`)."""

from __future__ import annotations

import functools
import re
from typing import Any

from kdbgtest.base.k8s import Obj

CORE = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_META_MODELS = {
    "V1ObjectMeta",
    "V1OwnerReference",
    "V1ManagedFieldsEntry",
    "V1LabelSelector",
    "V1LabelSelectorRequirement",
    "V1DeleteOptions",
    "V1Preconditions",
}
KINDS = {"Pod": "V1Pod", "Node": "V1Node", "Namespace": "V1Namespace", "Event": "CoreV1Event"}

# (model, json field) -> (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key or "")
PATCH_META: dict[tuple[str, str], tuple[str, str]] = {
    ("V1PodSpec", "containers"): ("merge", "name"),
    ("V1PodSpec", "initContainers"): ("merge", "name"),
    ("V1PodSpec", "ephemeralContainers"): ("merge", "name"),
    ("V1PodSpec", "volumes"): ("merge,retainKeys", "name"),
    ("V1PodSpec", "imagePullSecrets"): ("merge", "name"),
    ("V1PodSpec", "hostAliases"): ("merge", "ip"),
    ("V1PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),
    ("V1PodSpec", "resourceClaims"): ("merge,retainKeys", "name"),
    ("V1PodSpec", "schedulingGates"): ("merge", "name"),
    ("V1PodStatus", "conditions"): ("merge", "type"),
    ("V1PodStatus", "podIPs"): ("merge", "ip"),
    ("V1NodeStatus", "conditions"): ("merge", "type"),
    ("V1NodeStatus", "addresses"): ("merge", "type"),
    ("V1NodeSpec", "podCIDRs"): ("merge", ""),
    ("V1ObjectMeta", "finalizers"): ("merge", ""),
    ("V1ObjectMeta", "ownerReferences"): ("merge", "uid"),
}
for _model in ("V1Container", "V1EphemeralContainer"):
    PATCH_META.update(
        {
            (_model, "ports"): ("merge", "containerPort"),
            (_model, "env"): ("merge", "name"),
            (_model, "volumeMounts"): ("merge", "mountPath"),
            (_model, "volumeDevices"): ("merge", "devicePath"),
        }
    )

_SCALARS: dict[str, Obj] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
}


def definition_name(model: str) -> str:
    if model in _META_MODELS:
        return META + model[2:]
    if model.startswith("CoreV1"):
        return CORE + model[6:]
    return CORE + re.sub(r"^V1", "", model)


def _models() -> Any:
    from kubernetes.client import models  # imported late: slow, and only needed for schemas

    return models


def _type_schema(type_: str, field: str, refs: list[str]) -> Obj:
    if type_ in _SCALARS:
        return dict(_SCALARS[type_])
    if type_ == "object":
        return {"type": "string", "format": "int-or-string"} if field in ("port", "targetPort") else {"type": "object"}
    listed = re.fullmatch(r"List\[(.+)\]", type_)
    if listed:
        return {"type": "array", "items": _type_schema(listed.group(1), field, refs)}
    if type_.startswith("Dict["):
        return {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
    refs.append(type_)
    return {"allOf": [{"$ref": "#/components/schemas/" + definition_name(type_)}], "default": {}}


def _model_schema(model: str, refs: list[str]) -> Obj:
    cls = getattr(_models(), model)
    properties: Obj = {}
    required = []
    for attr, type_ in cls.openapi_types.items():
        field = cls.attribute_map[attr]
        prop = _type_schema(type_, field, refs)
        info = cls.model_fields.get(attr)
        if info is not None and info.description:
            prop["description"] = info.description
        if info is not None and info.is_required():
            required.append(field)
        strategy = PATCH_META.get((model, field))
        if strategy:
            prop["x-kubernetes-patch-strategy"] = strategy[0]
            if strategy[1]:
                prop["x-kubernetes-patch-merge-key"] = strategy[1]
        properties[field] = prop
    schema: Obj = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


@functools.cache
def components() -> dict[str, Obj]:
    """Every schema reachable from the four kinds, keyed by OpenAPI definition name."""
    out: dict[str, Obj] = {}
    pending = [*KINDS.values(), "V1DeleteOptions"]
    done: set[str] = set()
    while pending:
        model = pending.pop()
        if model in done:
            continue
        done.add(model)
        refs: list[str] = []
        out[definition_name(model)] = _model_schema(model, refs)
        pending += refs
    for kind, model in KINDS.items():
        out[definition_name(model)]["x-kubernetes-group-version-kind"] = [{"group": "", "kind": kind, "version": "v1"}]
    out[META + "Patch"] = {
        "type": "object",
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    }
    return out


def model_of(kind: str) -> str:
    return definition_name(KINDS[kind])
