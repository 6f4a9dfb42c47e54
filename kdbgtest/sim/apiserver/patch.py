"""PATCH bodies as the API server applies them: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902).

Strategic merge follows apimachinery `pkg/util/strategicpatch/patch.go`: lists with a `patchMergeKey` in
core/v1 `types.go` are merged element by element (containers, initContainers and ephemeralContainers by name,
env by name, volumeMounts by mountPath, ports by containerPort, conditions by type, ...); every other list is
replaced; maps merge key by key; `null` deletes; the directives `$patch` (merge/replace/delete),
`$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys` are honoured. Field types come
from the protobuf field table, so merge keys apply at the right depth only. All functions return new objects.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import jsonpatch
from kdbgtest.sim.apiserver import protobuf_schema as schema
from kdbgtest.sim.apiserver.patch_errors import PatchError

__all__ = ["PatchError", "apply_patch", "merge_patch", "strategic_merge"]

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
_ACCEPTED = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, " + STRATEGIC

# (message, list field) -> patchMergeKey, from core/v1 and meta/v1 types.go; "" merges a list of primitives.
MERGE_KEYS: dict[tuple[str, str], str] = {
    **{
        ("PodSpec", f): "name"
        for f in (
            "volumes",
            "initContainers",
            "containers",
            "ephemeralContainers",
            "imagePullSecrets",
            "schedulingGates",
            "resourceClaims",
        )
    },
    ("PodSpec", "hostAliases"): "ip",
    ("PodSpec", "topologySpreadConstraints"): "topologyKey",
    **{(c, "ports"): "containerPort" for c in ("Container", "EphemeralContainerCommon")},
    **{(c, "env"): "name" for c in ("Container", "EphemeralContainerCommon")},
    **{(c, "volumeMounts"): "mountPath" for c in ("Container", "EphemeralContainerCommon", "ContainerStatus")},
    **{(c, "volumeDevices"): "devicePath" for c in ("Container", "EphemeralContainerCommon")},
    ("PodStatus", "conditions"): "type",
    ("PodStatus", "podIPs"): "ip",
    ("PodStatus", "hostIPs"): "ip",
    ("NamespaceStatus", "conditions"): "type",
    ("ObjectMeta", "ownerReferences"): "uid",
    ("ObjectMeta", "finalizers"): "",
}
_ROOT_TYPES = {"Pod": "Pod", "Namespace": "Namespace"}


def apply_patch(obj: Obj, body: bytes, content_type: str) -> Obj:
    """`obj` with the PATCH `body` of media type `content_type` applied; `PatchError` if it cannot be."""
    media = content_type.split(";")[0].strip().lower()
    if media not in (STRATEGIC, MERGE, JSON_PATCH):
        raise PatchError(
            f"the body of the request was in an unknown format - accepted media types include: {_ACCEPTED}",
            415,
        )
    try:
        patch = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise PatchError(f"error decoding patch: {err}", 400) from None
    if media == JSON_PATCH:
        patched = jsonpatch.apply(obj, patch)
        if not isinstance(patched, dict):
            raise PatchError("the patch replaced the object with a non-object", 422)
        return patched
    if not isinstance(patch, dict):
        raise PatchError(
            f"json: cannot unmarshal {type(patch).__name__} into Go value of type map[string]interface {{}}",
            400,
        )
    if media == MERGE:
        result = merge_patch(obj, patch)
        assert isinstance(result, dict)
        return result
    return strategic_merge(obj, patch)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(original: Obj, patch: Obj) -> Obj:
    """`original` with strategic merge `patch` applied (types from `kind`: Pod and Namespace are known)."""
    merged = _merge_map(copy.deepcopy(original), copy.deepcopy(patch), _ROOT_TYPES.get(original.get("kind", "")))
    return merged if merged is not None else {}


def _merge_map(original: Obj, patch: Obj, typ: str | None) -> Obj | None:
    """Merge `patch` into `original` (both owned); None means `$patch: delete` removed the whole map."""
    directive = patch.pop("$patch", "merge")
    if directive == "replace":
        return dict(_strip(patch))
    if directive == "delete":
        return None
    if directive != "merge":
        raise PatchError(f"unknown patch type: {directive} in map: {patch}", 400)
    if "$retainKeys" in patch:
        retain = patch.pop("$retainKeys")
        if not isinstance(retain, list):
            raise PatchError("invalid patch: $retainKeys must be a list of field names", 400)
        original = {k: v for k, v in original.items() if k in retain}
    orders = {k.split("/", 1)[1]: patch.pop(k) for k in list(patch) if k.startswith("$setElementOrder/")}
    live = {k: list(original.get(k) or []) for k in orders}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            original[name] = [v for v in original.get(name, []) if v not in (value or [])]
        elif value is None:
            original.pop(key, None)
        elif key not in original:
            original[key] = _strip(value)
        else:
            original[key] = _merge_value(original[key], value, typ, key)
    for key, order in orders.items():
        if isinstance(original.get(key), list):
            original[key] = _ordered(original[key], order, MERGE_KEYS.get((typ or "", key), ""), live[key])
    return original


def _merge_value(original: Any, patch: Any, parent: str | None, key: str) -> Any:
    sub = _field_type(parent, key)
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = _merge_map(original, patch, sub)
        return {} if merged is None else merged
    if isinstance(original, list) and isinstance(patch, list):
        merge_key = MERGE_KEYS.get((parent or "", key))
        if merge_key is None:
            return _strip(patch)
        if merge_key == "":
            return original + [v for v in patch if v not in original]
        return _merge_keyed_list(original, patch, sub, merge_key)
    return _strip(patch)


def _merge_keyed_list(original: list[Any], patch: list[Any], typ: str | None, key: str) -> list[Any]:
    """Merge a list of maps element by element, matching elements on their merge `key`."""
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [_strip(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    result = list(original)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}", 400)
        index = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip(item))
        else:
            merged = _merge_map(result[index], item, typ)
            if merged is None:
                del result[index]
            else:
                result[index] = merged
    return result


def _ordered(items: list[Any], order: list[Any], key: str, live: list[Any]) -> list[Any]:
    """Apply `$setElementOrder`: the listed items in that order, the server-only items interleaved by their
    position in the live list (apimachinery `normalizeElementOrder` and `mergeSortedSlice`)."""

    def ident(value: Any) -> Any:
        return value.get(key) if key and isinstance(value, dict) else value

    wanted, live_ids = [ident(o) for o in order], [ident(v) for v in live]
    listed = sorted((i for i in items if ident(i) in wanted), key=lambda i: wanted.index(ident(i)))
    others = [i for i in items if ident(i) not in wanted]
    result: list[Any] = []
    while listed or others:
        take_other = bool(others) and (
            not listed
            or (
                ident(others[0]) in live_ids
                and ident(listed[0]) in live_ids
                and live_ids.index(ident(others[0])) < live_ids.index(ident(listed[0]))
            )
        )
        result.append(others.pop(0) if take_other else listed.pop(0))
    return result


def _field_type(message: str | None, name: str) -> str | None:
    """The message type of JSON field `name` of `message` (inline fields included), if it is one."""
    for json_name, typ, mode in schema.MESSAGES.get(message or "", {}).values():
        if mode == schema.IN:
            found = _field_type(typ, name)
            if found is not None:
                return found
        elif json_name == name and typ in schema.MESSAGES:
            return typ
    return None


def _strip(value: Any) -> Any:
    """A patch value without its directives, as stored when the original has nothing to merge it with."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value
