"""Map a pydantic error `loc` back onto the scenario's data and the model type found there.

Pydantic locs mix data keys with union bookkeeping (`("steps", 0, "debug", "debug", "imag")` holds the tag
`debug` of the step union; `(..., "contains", "list[str]", 0)` names a union branch). `resolve` walks the
annotations along the loc and returns the pure data path, the model that owns the last key (for "did you
mean" suggestions) and the annotation expected at the end.
"""

from __future__ import annotations

import types
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag

from kdbgtest.scenario import model
from kdbgtest.scenario.positions import Loc


@dataclass(frozen=True)
class Resolved:
    """Where a pydantic error points, in terms of the user's file."""

    loc: Loc  # data path (keys and indexes only)
    owner: type[BaseModel] | None  # the model whose field is the last key, if any
    annotation: Any  # what was expected at `loc` (None if unknown)
    union_at: Loc | None  # data path of the first untagged union on the way, if any
    branch: str | None  # the union branch label pydantic used there


def field_keys(owner: type[BaseModel]) -> list[str]:
    """The keys a user may write for `owner`: aliases where defined, else field names."""
    return [info.alias or name for name, info in owner.model_fields.items()]


def resolve(loc: tuple[int | str, ...]) -> Resolved:
    """Follow a pydantic `loc` through the model's annotations, starting at `Scenario`."""
    annotation: Any = model.Scenario
    path: list[Hashable] = []
    owner: type[BaseModel] | None = None
    union_at: Loc | None = None
    branch: str | None = None
    for element in loc:
        annotation = _strip(annotation)
        members = _union_members(annotation)
        if members is not None:
            chosen = _choose(members, str(element))
            if not _is_tagged(members) and union_at is None:
                union_at, branch = tuple(path), str(element)
            annotation = chosen
            continue
        if element == "[key]":
            break
        owner, annotation = _step_into(annotation, element, owner)
        path.append(element)
    return Resolved(tuple(path), owner, _strip(annotation), union_at, branch)


def _step_into(annotation: Any, element: int | str, owner: type[BaseModel] | None) -> tuple[Any, Any]:
    """(owner, annotation) after descending from `annotation` by one data key or index."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if element in (name, info.alias):
                return annotation, info.annotation
        return annotation, None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is list and args:
        return None, args[0]
    if origin is dict and len(args) == 2:
        return None, args[1]
    return None, None


def _strip(annotation: Any) -> Any:
    """Remove `Annotated` wrappers and a `None` alternative (pydantic adds no loc element for them)."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        members = _raw_union(annotation)
        if members is not None:
            rest = [m for m in members if m is not type(None)]
            if len(rest) == 1:
                annotation = rest[0]
                continue
        return annotation


def _raw_union(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return None


def _union_members(annotation: Any) -> list[Any] | None:
    members = _raw_union(annotation)
    if members is None:
        return None
    return [m for m in members if m is not type(None)]


def _tag(member: Any) -> str | None:
    if get_origin(member) is Annotated:
        for meta in get_args(member)[1:]:
            if isinstance(meta, Tag):
                return meta.tag
    return None


def _is_tagged(members: list[Any]) -> bool:
    return all(_tag(m) is not None for m in members)


def _choose(members: list[Any], label: str) -> Any:
    """The union member pydantic labelled `label` (a tag, a model class name, or a type name like `str`)."""
    for member in members:
        if _tag(member) == label:
            return member
        inner = _strip(member)
        if isinstance(inner, type) and inner.__name__ == label:
            return member
        if label == type_label(inner):
            return member
    return None


def type_label(annotation: Any) -> str:
    """Pydantic's label for a plain union branch: `str`, `list[str]`, `dict[str,any]`, `literal[False]`."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "literal[" + ",".join(repr(a) for a in get_args(annotation)) + "]"
    if origin in (list, dict):
        inner = ",".join(type_label(_strip(a)) for a in get_args(annotation))
        return f"{origin.__name__}[{inner}]"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))
