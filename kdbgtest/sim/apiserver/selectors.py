"""Label and field selectors (`?labelSelector=`, `?fieldSelector=`), parsed and matched as the API server
does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import status

Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_OP_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...]

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _requirement(term: str) -> _Requirement:
    op_match = _OP_RE.match(term)
    if op_match:
        key, op, value = op_match.groups()
        return _Requirement(key, "!=" if op == "!=" else "=", (value,))
    set_match = _SET_RE.match(term)
    if set_match:
        bang, key, set_op, values = set_match.groups()
        if set_op:
            items = tuple(v.strip() for v in values.split(",") if v.strip())
            return _Requirement(key, set_op, items)
        return _Requirement(key, "!" if bang else "exists", ())
    raise status.bad_request(f"unable to parse requirement: {term.strip()}")


def label_predicate(selector: str | None) -> Predicate:
    """A predicate over objects for a label selector string; everything matches when empty."""
    requirements = [_requirement(term) for term in _split_top(selector or "")]

    def matches(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req.matches(labels) for req in requirements)

    return matches


def _path(obj: Obj, dotted: str) -> str:
    value: object = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_POD_FIELDS = {
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
}
_EVENT_FIELDS = {
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
}
FIELDS: dict[str, set[str]] = {
    "pods": _POD_FIELDS,
    "events": _EVENT_FIELDS,
    "nodes": {"metadata.name", "spec.unschedulable"},
    "namespaces": {"metadata.name", "status.phase"},
}


def _field_value(resource: str, obj: Obj, field: str) -> str:
    if resource == "events" and field == "source":
        return _path(obj, "source.component") or str(obj.get("reportingComponent") or "")
    return _path(obj, field)


def field_predicate(resource: str, selector: str | None) -> Predicate:
    """A predicate for a field selector; an unknown field is the 400 `field label not supported: F`."""
    terms: list[tuple[str, bool, str]] = []
    for term in _split_top(selector or ""):
        match = _OP_RE.match(term)
        if not match:
            raise status.bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, op, value = match.groups()
        if field not in FIELDS.get(resource, {"metadata.name", "metadata.namespace"}):
            raise status.bad_request(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))

    def matches(obj: Obj) -> bool:
        return all((_field_value(resource, obj, f) == v) == eq for f, eq, v in terms)

    return matches


def combined(resource: str, labels: str | None, fields: str | None) -> Predicate:
    by_label, by_field = label_predicate(labels), field_predicate(resource, fields)
    return lambda obj: by_label(obj) and by_field(obj)
