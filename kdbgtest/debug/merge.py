"""Strategic merge of a partial Container (kubectl's `--custom` profile); the two-way diff of a list element.

Only what a debug step needs, written for the `Container` type alone (the sim's general strategic merge lives
in `kdbgtest.sim`, which this layer may not import, and is driven by the sim's protobuf field tables):

- maps merge key by key; `null` in the patch deletes the key;
- lists that carry a `patchMergeKey` in core/v1 `types.go` merge element by element: `env` by name, `ports` by
  containerPort, `volumeMounts` by mountPath, `volumeDevices` by devicePath;
- every other list is replaced (so a custom `securityContext.capabilities.add` replaces the profile's, as the
  upstream e2e test shows for NET_ADMIN replacing SYS_PTRACE).

Not supported (kubectl would honour them; a custom profile that uses them is refused with a clear error): the
patch directives `$patch`, `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...`.
"""

from __future__ import annotations

import copy
from typing import Any

from kdbgtest.base.errors import ScenarioError
from kdbgtest.base.k8s import Obj

# Container list fields merged by key (core/v1 types.go `patchMergeKey`).
CONTAINER_MERGE_KEYS = {
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
}


def merge_container(container: Obj, patch: Obj) -> Obj:
    """`container` with the partial container `patch` merged in, as kubectl applies `--custom` (a copy)."""
    _refuse_directives(patch)
    merged = copy.deepcopy(container)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif key in CONTAINER_MERGE_KEYS and isinstance(value, list):
            merged[key] = _merge_keyed(merged.get(key) or [], value, CONTAINER_MERGE_KEYS[key])
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_map(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def element_diff(original: Obj, modified: Obj, key: str) -> Obj:
    """The two-way patch of a list element: merge key, changed or added fields, `null` for removed ones."""
    diff: Obj = {key: modified[key]}
    for name, value in modified.items():
        if original.get(name) != value:
            diff[name] = copy.deepcopy(value)
    for name in original:
        if name not in modified:
            diff[name] = None
    return diff


def _merge_map(original: Obj, patch: Obj) -> Obj:
    merged = dict(original)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_map(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_keyed(original: list[Any], patch: list[Any], key: str) -> list[Any]:
    """Elements of `patch` merged into the element of `original` with the same key; new ones appended."""
    merged = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise ScenarioError(f"custom profile: every element of a list merged by {key!r} needs {key!r}")
        at = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if at is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[at] = _merge_map(merged[at], item)
    return merged


def _refuse_directives(value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.startswith("$"):
                raise ScenarioError(
                    f"custom profile: the patch directive {key!r} is not supported by the API driver; "
                    "use driver: kubectl for this step"
                )
            _refuse_directives(inner)
    elif isinstance(value, list):
        for inner in value:
            _refuse_directives(inner)
