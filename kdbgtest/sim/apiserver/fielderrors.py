"""Field errors and the 422 `Status` exactly as the API server renders them.

Mirrors apimachinery `pkg/util/validation/field/errors.go` (`Error.Error()`, `ErrorBody()`), `pkg/api/errors`
`NewInvalid` (one error: `Pod "x" is invalid: a`; several, de-duplicated: `Pod "x" is invalid: [a, b]`) and
the name checks of `pkg/util/validation/validation.go` (RFC 1123 label and subdomain messages).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kdbgtest.base.k8s import Obj

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
DUPLICATE = "FieldValueDuplicate"
NOT_FOUND = "FieldValueNotFound"
FORBIDDEN = "FieldValueForbidden"
NOT_SUPPORTED = "FieldValueNotSupported"
TOO_LONG = "FieldValueTooLong"

_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    DUPLICATE: "Duplicate value",
    NOT_FOUND: "Not found",
    FORBIDDEN: "Forbidden",
    NOT_SUPPORTED: "Unsupported value",
    TOO_LONG: "Too long",
}
_NO_VALUE = {REQUIRED, FORBIDDEN, TOO_LONG}

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '"
    + _LABEL_FMT
    + "')"
)
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '"
    + _SUBDOMAIN_FMT
    + "')"
)


@dataclass(frozen=True)
class FieldError:
    """One validation failure: `type` is the cause type (FieldValueRequired, ...), `field` the JSON path."""

    type: str
    field: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        """`ErrorBody()`: the type, the offending value when it is shown, then the detail."""
        text = _TEXT[self.type]
        if self.type not in _NO_VALUE:
            text += f": {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, None, detail)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, field, value, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, field, value)


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(NOT_FOUND, field, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, None, detail)


def not_supported(field: str, value: Any, valid: list[str]) -> FieldError:
    return FieldError(NOT_SUPPORTED, field, value, "supported values: " + ", ".join(json.dumps(v) for v in valid))


def invalid_status(kind: str, name: str, errors: list[FieldError]) -> Obj:
    """The 422 `Status` of `errors.NewInvalid(kind, name, errors)` as the API server serialises it."""
    messages = list(dict.fromkeys(str(e) for e in errors))
    if not messages:
        message = f"{kind} {json.dumps(name)} is invalid"
    elif len(messages) == 1:
        message = f"{kind} {json.dumps(name)} is invalid: {messages[0]}"
    else:
        message = f"{kind} {json.dumps(name)} is invalid: [{', '.join(messages)}]"
    causes = [{"reason": e.type, "message": e.body(), "field": e.field} for e in errors]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "details": {"name": name, "kind": kind, "causes": causes},
        "code": 422,
    }


def dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label: the messages for an invalid RFC 1123 label (container, volume and port names)."""
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not re.fullmatch(_LABEL_FMT, value):
        errors.append(LABEL_MESSAGE)
    return errors


def dns1123_subdomain(value: str) -> list[str]:
    """IsDNS1123Subdomain: the messages for an invalid RFC 1123 subdomain (pod names)."""
    errors = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not re.fullmatch(_SUBDOMAIN_FMT, value):
        errors.append(SUBDOMAIN_MESSAGE)
    return errors


def go_value(value: Any) -> str:
    """The offending value as Go's `%q` / `%v` prints it (JSON for structures)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
