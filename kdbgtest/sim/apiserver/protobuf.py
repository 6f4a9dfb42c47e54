"""Decode the protobuf request bodies kubectl >= 1.32 sends (create pod, DeleteOptions) into their JSON form.

A body is the magic `k8s\\x00` followed by a `runtime.Unknown` {typeMeta{apiVersion, kind}, raw,
contentEncoding, contentType}; `raw` is the object as a protobuf message. A small generic wire-format reader
walks it, and the declarative table in `protobuf_schema` (field numbers from the published generated.proto
files) turns each field into its JSON name and value, exactly as the object looks when Kubernetes writes it as
JSON. Anything the table does not know raises `DecodeError` naming the message and field number: nothing is
dropped silently.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import protobuf_schema as schema

MAGIC = b"k8s\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_SCALAR_WIRE = {"str": _LEN, "bytes": _LEN, "bool": _VARINT, "i32": _VARINT, "i64": _VARINT}
_ZERO: dict[str, Any] = {"str": "", "bytes": "", "bool": False, "i32": 0, "i64": 0, "qty": "0", "ios": 0}

WireValue = int | bytes


class DecodeError(ValueError):
    """The body is not a protobuf object this decoder can read faithfully."""


def decode_object(body: bytes) -> Obj:
    """The JSON form (kind and apiVersion first) of the object in a `k8s\\x00` + runtime.Unknown body."""
    if not body.startswith(MAGIC):
        raise DecodeError(f"not a Kubernetes protobuf body: expected magic bytes k8s\\x00, got {body[:4]!r}")
    api_version, kind, raw = _envelope(body[len(MAGIC) :])
    message = schema.KINDS.get((api_version, kind))
    if message is None:
        raise DecodeError(f"cannot decode protobuf object of kind {kind!r} in apiVersion {api_version!r}")
    return {"kind": kind, "apiVersion": api_version, **decode_message(message, raw)}


def decode_message(message: str, data: bytes, where: str = "") -> Obj:
    """The JSON form of protobuf `message` (a name in `protobuf_schema.MESSAGES`) encoded in `data`."""
    table = schema.MESSAGES.get(message)
    if table is None:
        raise DecodeError(f"{_at(where)}unknown protobuf message {message}")
    out: Obj = {}
    for number, wire, value in _fields(data, message, where):
        field = table.get(number)
        if field is None:
            raise DecodeError(f"{_at(where)}unknown field number {number} (wire type {wire}) in message {message}")
        _store(out, field, wire, value, f"{where}.{field[0]}".lstrip("."), message)
    _apply_json_rules(out, table)
    return out


def _store(out: Obj, field: schema.Field, wire: int, value: WireValue, where: str, msg: str) -> None:
    name, typ, mode = field
    if mode == schema.IN:
        out.update(decode_message(typ, _need_bytes(value, where, msg), where.rsplit(".", 1)[0]))
    elif mode == schema.L:
        items = out.setdefault(name, [])
        items.extend(_repeated(typ, wire, value, f"{where}[{len(items)}]", msg))
    elif mode == schema.M:
        key, item = _map_entry(typ, _need_bytes(value, where, msg), where, msg)
        out.setdefault(name, {})[key] = item
    else:
        out[name] = _value(typ, wire, value, where, msg)


def _apply_json_rules(out: Obj, table: dict[int, schema.Field]) -> None:
    """Drop zero values of omitempty fields; fill absent non-omitempty values with their zero value."""
    for name, typ, mode in table.values():
        if mode == schema.OE and name in out and out[name] in ("", 0, False, None):
            del out[name]
        elif mode == schema.R and name not in out:
            out[name] = {} if typ in schema.MESSAGES else _ZERO.get(typ)


def _value(typ: str, wire: int, value: WireValue, where: str, msg: str) -> Any:
    if typ in _SCALAR_WIRE:
        if wire != _SCALAR_WIRE[typ]:
            raise DecodeError(f"{_at(where)}wire type {wire} where message {msg} expects {typ}")
        return _scalar(typ, value)
    data = _need_bytes(value, where, msg)
    if typ == "qty":
        return _single_string(data, "Quantity", where)
    if typ == "ios":
        return _int_or_string(data, where)
    if typ in ("time", "mtime"):
        return _time(data, micro=typ == "mtime", where=where)
    if typ == "fv1":
        raw = _single_bytes(data, "FieldsV1", where)
        return json.loads(raw) if raw else None
    return decode_message(typ, data, where)


def _scalar(typ: str, value: WireValue) -> Any:
    if typ == "str":
        assert isinstance(value, bytes)
        return value.decode("utf-8")
    if typ == "bytes":
        assert isinstance(value, bytes)
        return base64.b64encode(value).decode("ascii")
    assert isinstance(value, int)
    if typ == "bool":
        return value != 0
    return value - (1 << 64) if value >= 1 << 63 else value


def _repeated(typ: str, wire: int, value: WireValue, where: str, msg: str) -> list[Any]:
    """One element, or several when a repeated number arrives packed (wire type 2)."""
    if _SCALAR_WIRE.get(typ) == _VARINT and wire == _LEN:
        assert isinstance(value, bytes)
        numbers, pos = [], 0
        while pos < len(value):
            number, pos = _varint(value, pos, where)
            numbers.append(_scalar(typ, number))
        return numbers
    return [_value(typ, wire, value, where, msg)]


def _map_entry(typ: str, data: bytes, where: str, msg: str) -> tuple[str, Any]:
    key, item = "", _ZERO.get(typ)
    for number, wire, value in _fields(data, f"{msg} map entry", where):
        if number == 1 and wire == _LEN:
            key = _scalar("str", value)
        elif number == 2:
            item = _value(typ, wire, value, f"{where}[{key}]", msg)
        else:
            raise DecodeError(f"{_at(where)}unknown field number {number} in a map entry of message {msg}")
    if item is None and typ in schema.MESSAGES:
        item = {}
    return key, item


def _int_or_string(data: bytes, where: str) -> int | str:
    kind, number, text = 0, 0, ""
    for field, wire, value in _fields(data, "IntOrString", where):
        if field == 1 and wire == _VARINT:
            kind = _scalar("i64", value)
        elif field == 2 and wire == _VARINT:
            number = _scalar("i32", value)
        elif field == 3 and wire == _LEN:
            text = _scalar("str", value)
        else:
            raise DecodeError(f"{_at(where)}unknown field number {field} in message IntOrString")
    return text if kind == 1 else number


def _time(data: bytes, *, micro: bool, where: str) -> str | None:
    """metav1.Time as RFC 3339 in UTC (seconds; MicroTime keeps microseconds). Empty is the zero time."""
    if not data:
        return None
    seconds, nanos = 0, 0
    for field, wire, value in _fields(data, "Timestamp", where):
        if field == 1 and wire == _VARINT:
            seconds = _scalar("i64", value)
        elif field == 2 and wire == _VARINT:
            nanos = _scalar("i32", value)
        else:
            raise DecodeError(f"{_at(where)}unknown field number {field} in message Timestamp")
    moment = _EPOCH + timedelta(seconds=seconds)
    if micro:
        return (moment + timedelta(microseconds=nanos // 1000)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _single_string(data: bytes, message: str, where: str) -> str:
    return _single_bytes(data, message, where).decode("utf-8")


def _single_bytes(data: bytes, message: str, where: str) -> bytes:
    """Field 1 (length-delimited) of a one-field message such as Quantity or FieldsV1."""
    out = b""
    for field, wire, value in _fields(data, message, where):
        if field != 1 or wire != _LEN:
            raise DecodeError(f"{_at(where)}unknown field number {field} in message {message}")
        assert isinstance(value, bytes)
        out = value
    return out


def _envelope(data: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw) of a runtime.Unknown; only unencoded protobuf raw data is accepted."""
    type_meta, raw, encoding, content_type = b"", b"", "", ""
    for field, wire, value in _fields(data, "runtime.Unknown", ""):
        if wire != _LEN or field not in (1, 2, 3, 4):
            raise DecodeError(f"unknown field number {field} (wire type {wire}) in message runtime.Unknown")
        assert isinstance(value, bytes)
        if field == 1:
            type_meta = value
        elif field == 2:
            raw = value
        elif field == 3:
            encoding = value.decode()
        else:
            content_type = value.decode()
    if encoding or content_type not in ("", "application/vnd.kubernetes.protobuf"):
        raise DecodeError(f"unsupported runtime.Unknown: encoding {encoding!r}, type {content_type!r}")
    strings = {1: "", 2: ""}
    for field, wire, value in _fields(type_meta, "runtime.TypeMeta", "typeMeta"):
        if wire != _LEN or field not in strings:
            raise DecodeError(f"unknown field number {field} (wire type {wire}) in message runtime.TypeMeta")
        strings[field] = _scalar("str", value)
    return strings[1], strings[2], raw


def _fields(data: bytes, message: str, where: str) -> Iterator[tuple[int, int, WireValue]]:
    """(field number, wire type, value) of each field in a protobuf message, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos, where)
        number, wire = key >> 3, key & 7
        value: WireValue
        if wire == _VARINT:
            value, pos = _varint(data, pos, where)
        elif wire == _LEN:
            length, pos = _varint(data, pos, where)
            value, pos = data[pos : pos + length], pos + length
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        else:
            raise DecodeError(f"{_at(where)}unsupported wire type {wire} (field {number}) in {message}")
        if pos > len(data) or number == 0:
            raise DecodeError(f"{_at(where)}truncated or corrupt protobuf in message {message}")
        yield number, wire, value


def _varint(data: bytes, pos: int, where: str) -> tuple[int, int]:
    result, shift = 0, 0
    while pos < len(data) and shift < 70:
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result & ((1 << 64) - 1), pos
        shift += 7
    raise DecodeError(f"{_at(where)}truncated varint in protobuf body")


def _need_bytes(value: WireValue, where: str, message: str) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{_at(where)}expected a length-delimited field in message {message}")
    return value


def _at(where: str) -> str:
    return f"at {where}: " if where else ""
