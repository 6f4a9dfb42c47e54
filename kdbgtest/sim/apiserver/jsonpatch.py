"""RFC 6902 JSON patch, with the error texts of the library the API server uses (evanphx/json-patch v4).

The API server answers every failure to apply (a failed `test`, a missing path) with 422, and a body that is
not a list of operations with 400.
"""

from __future__ import annotations

import copy
from typing import Any

from kdbgtest.sim.apiserver.patch_errors import PatchError

_MISSING = "missing value"


def apply(document: Any, operations: Any) -> Any:
    """`document` with the JSON patch `operations` applied, as a new value."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        kind = "object" if isinstance(operations, dict) else type(operations).__name__
        raise PatchError(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch", 400)
    doc = copy.deepcopy(document)
    for op in operations:
        doc = _apply_one(doc, op)
    return doc


def _apply_one(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op.get("op"), _path(op, "path")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(_value(op)), "add")
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        parent, key = _parent(doc, path)
        if path != "" and not _has(parent, key):
            raise _fail(f"replace operation does not apply: doc is missing key: {path}")
        return _set(doc, parent, key, copy.deepcopy(_value(op)))
    if kind in ("move", "copy"):
        source = _path(op, "from")
        parent, key = _parent(doc, source)
        if not _has(parent, key):
            raise _fail(f"{kind} operation does not apply: doc is missing from path: {source}")
        value = copy.deepcopy(parent[key] if source else doc)
        if kind == "move":
            doc = _remove(doc, source)
        return _add(doc, path, value, kind)
    if kind == "test":
        parent, key = _parent(doc, path)
        actual = doc if path == "" else (parent[key] if _has(parent, key) else None)
        if actual != _value(op):
            raise PatchError(f"testing value {path} failed: test failed", 422)
        return doc
    raise PatchError(f"Unexpected kind: {kind}", 422)


def _add(doc: Any, path: str, value: Any, kind: str) -> Any:
    if path == "":
        return value
    parent, key = _parent(doc, path, kind)
    if isinstance(parent, list):
        index = len(parent) if key == "-" else _index(key, len(parent) + 1)
        parent.insert(index, value)
    else:
        parent[key] = value
    return doc


def _remove(doc: Any, path: str) -> Any:
    parent, key = _parent(doc, path, "remove")
    if not _has(parent, key):
        raise _fail(f"error in remove for path: '{path}': Unable to remove nonexistent key: {key}")
    if isinstance(parent, list):
        del parent[_index(key, len(parent))]
    else:
        del parent[key]
    return doc


def _set(doc: Any, parent: Any, key: str, value: Any) -> Any:
    if parent is None:
        return value
    if isinstance(parent, list):
        parent[_index(key, len(parent))] = value
    else:
        parent[key] = value
    return doc


def _parent(doc: Any, path: str, kind: str = "") -> tuple[Any, str]:
    """The container holding the last token of JSON pointer `path`, and that token (None for the root)."""
    if path == "":
        return None, ""
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {path}', 422)
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
    node = doc
    for token in tokens[:-1]:
        if not _has(node, token):
            what = kind or "test"
            raise _fail(f'{what} operation does not apply: doc is missing path: "{path}"')
        node = node[_index(token, len(node))] if isinstance(node, list) else node[token]
    if not isinstance(node, dict | list):
        raise _fail(f'{kind or "test"} operation does not apply: doc is missing path: "{path}"')
    return node, tokens[-1]


def _has(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node
    if isinstance(node, list):
        return key.isdigit() and int(key) < len(node)
    return False


def _index(token: str, size: int) -> int:
    if not token.isdigit() or int(token) >= size:
        raise _fail(f"Unable to access invalid index: {token}", "invalid index referenced")
    return int(token)


def _path(op: dict[str, Any], field: str) -> str:
    path = op.get(field)
    if not isinstance(path, str):
        raise PatchError(f'operation missing "{field}" string: {op}', 422)
    return path


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise PatchError(f'operation {op.get("op")} has no "value": {op}', 422)
    return op["value"]


def _fail(message: str, cause: str = _MISSING) -> PatchError:
    return PatchError(f"{message}: {cause}", 422)
