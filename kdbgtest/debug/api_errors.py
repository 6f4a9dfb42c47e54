"""API errors rendered as kubectl prints them (kubectl `cmdutil.CheckErr` and `StandardErrorMessage`).

- 422 Invalid with causes: `The Pod "x" is invalid: FIELD: MESSAGE`, or with several causes the prefix on its
  own line followed by `* FIELD: MESSAGE` lines;
- any other Status with a reason: `Error from server (REASON): MESSAGE`; without one:
  `Error from server: MESSAGE`;
- the subresource missing (404 whose details carry no name) while adding an ephemeral container:
  `error: ephemeral containers are disabled for this cluster (error from server: "MESSAGE")`;
- a failure without a Status (connection refused, TLS, a refused WebSocket upgrade): `error: TEXT`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kdbgtest.base.k8s import Obj

_EMBEDDED_STATUS = re.compile(r"(\{\"kind\":\"Status\".*\})")


def status_of(exc: Any) -> Obj | None:
    """The metav1.Status an `ApiException` carries in its body (or, for a WebSocket upgrade, its reason)."""
    for text in (getattr(exc, "body", None), getattr(exc, "reason", None)):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not isinstance(text, str):
            continue
        # The Status inside an upgrade failure's text: as JSON, or inside a bytes repr with escaped quotes.
        embedded = [_EMBEDDED_STATUS.search(t) for t in (text, text.replace('\\"', '"'))]
        for candidate in (text, *(found.group(1) for found in embedded if found)):
            try:
                status = json.loads(candidate) if candidate else None
            except ValueError:
                continue
            if isinstance(status, dict) and status.get("kind") == "Status":
                return status
    return None


def render(exc: Any) -> str:
    """kubectl's one (or more) line(s) for an API failure."""
    status = status_of(exc)
    if status is None:
        return f"error: {getattr(exc, 'reason', None) or exc}"
    reason, message = status.get("reason") or "", status.get("message") or ""
    details = status.get("details") or {}
    if getattr(exc, "status", None) == 0 and "Handshake status" in str(getattr(exc, "reason", "")):
        return f"error: unable to upgrade connection: {message}"  # kubectl's words for a refused exec/attach
    if reason == "Invalid":
        return _invalid(details, message)
    if reason:
        return f"Error from server ({reason}): {message}"
    return f"Error from server: {message}"


def message(exc: Any) -> str:
    """The error alone, as Go's `err.Error()` gives it: a Status's message, else the failure's text."""
    status = status_of(exc)
    if status is not None and status.get("message"):
        return str(status["message"])
    return str(getattr(exc, "reason", None) or exc)


def ephemeral_disabled(exc: Any) -> str | None:
    """kubectl's message when a 404 on the ephemeralcontainers subresource means the feature is off."""
    status = status_of(exc)
    if status is None or status.get("reason") != "NotFound" or (status.get("details") or {}).get("name"):
        return None
    message = _go_quote(status.get("message", ""))
    return f"error: ephemeral containers are disabled for this cluster (error from server: {message})"


def _invalid(details: Obj, message: str) -> str:
    kind, name = details.get("kind") or "", details.get("name") or ""
    prefix = f"The {kind} {_go_quote(name)} is invalid" if kind or name else "The request is invalid"
    causes: list[str] = []
    for cause in details.get("causes") or []:
        line = f"{cause.get('field', '')}: {cause.get('message', '')}"
        if line not in causes:
            causes.append(line)
    if not causes:
        return f"Error from server (Invalid): {message}"
    if len(causes) == 1:
        return f"{prefix}: {causes[0]}"
    return f"{prefix}: \n" + "\n".join(f"* {line}" for line in causes)


def _go_quote(text: str) -> str:
    """Go's %q for the printable text kubectl quotes (names, messages)."""
    return json.dumps(text, ensure_ascii=False)
