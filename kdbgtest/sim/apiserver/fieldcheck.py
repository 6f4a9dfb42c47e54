"""Unknown-field detection for `fieldValidation` (Strict / Warn), against the schemas in `schema.py`."""

from __future__ import annotations

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import schema

_REF = "#/components/schemas/"


def _resolve(node: Obj) -> Obj:
    defs = schema.components()
    while True:
        if node.get("allOf"):
            node = node["allOf"][0]
        elif "$ref" in node:
            node = defs[node["$ref"].removeprefix(_REF)]
        else:
            return node


def _walk(value: object, node: Obj, path: str, out: list[str]) -> None:
    node = _resolve(node)
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key not in props:
                out.append(child)
            else:
                _walk(item, props[key], child, out)
    elif isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            _walk(item, node["items"], f"{path}[{index}]", out)


def unknown_fields(kind: str, obj: Obj) -> list[str]:
    """Paths of fields the kind's schema does not define, e.g. `spec.containers[0].imagee`."""
    if kind not in schema.KINDS:
        return []
    found: list[str] = []
    _walk(obj, {"$ref": _REF + schema.model_of(kind)}, "", found)
    return found
