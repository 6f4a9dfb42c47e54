"""Credentials the run knows of never reach a report or a transcript.

The known credentials are those in the run's kubeconfig, for every user in it: bearer tokens (inline or from
`tokenFile`), passwords, client keys (the base64 `client-key-data` as written, and the lines of the decoded or
referenced PEM key), and auth-provider tokens. A step that prints the kubeconfig (`kubectl config view --raw`,
`cat`) would otherwise put them verbatim into the console, JUnit and JSON reports and the artifacts.

`Redactor.event` returns an event with every string in it redacted; `Redactor.files` rewrites the files of an
artifacts directory (transcripts, logs) in place.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

MASK = "[REDACTED]"
MIN_LENGTH = 8  # shorter strings are too likely to occur by chance (and are not real credentials)
_USER_SECRETS = ("token", "password", "client-key-data")
_PROVIDER_SECRETS = ("id-token", "refresh-token", "access-token", "client-secret")

E = TypeVar("E")


def kubeconfig_secrets(path: Path) -> set[str]:
    """Every credential in the kubeconfig at `path` (empty if it cannot be read)."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    found: set[str] = set()
    users = config.get("users") if isinstance(config, dict) else None
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict):
            found |= _user_secrets(user, path.parent)
    return {secret for secret in found if len(secret) >= MIN_LENGTH}


def _user_secrets(user: dict[str, Any], base: Path) -> set[str]:
    found = {str(user[key]) for key in _USER_SECRETS if user.get(key)}
    if user.get("client-key-data"):
        found |= _pem_lines(_b64decode(str(user["client-key-data"])))
    for key in ("tokenFile", "client-key"):
        if user.get(key):
            text = _read(base / str(user[key]))
            found |= {text.strip()} if key == "tokenFile" else _pem_lines(text)
    provider = (user.get("auth-provider") or {}).get("config") or {}
    found |= {str(provider[key]) for key in _PROVIDER_SECRETS if isinstance(provider, dict) and provider.get(key)}
    return {secret for secret in found if secret}


def _b64decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=False).decode("ascii", errors="replace")
    except (binascii.Error, ValueError):
        return ""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _pem_lines(pem: str) -> set[str]:
    """The body lines of a PEM key (each one alone gives part of the key away)."""
    return {line.strip() for line in pem.splitlines() if line.strip() and not line.startswith("-----")}


class Redactor:
    """Replaces known credentials with `MASK` in text, events and files."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_LENGTH}, key=len, reverse=True)
        self._raw = [s.encode() for s in self.secrets]

    @classmethod
    def for_kubeconfig(cls, path: Path) -> Redactor:
        return cls(kubeconfig_secrets(path))

    def text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def value(self, value: Any) -> Any:
        """`value` with every string inside it (lists, dicts, dataclasses) redacted."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return type(value)(self.value(item) for item in value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self.value(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return dataclasses.replace(value, **changes)
        return value

    def event(self, event: E) -> E:
        redacted: E = self.value(event)
        return redacted

    def files(self, directory: Path) -> list[Path]:
        """Rewrite every file under `directory` that holds a credential; the files changed."""
        changed: list[Path] = []
        if not self._raw or not directory.is_dir():
            return changed
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
            data = path.read_bytes()
            redacted = data
            for secret in self._raw:
                redacted = redacted.replace(secret, MASK.encode())
            if redacted != data:
                path.write_bytes(redacted)
                changed.append(path)
        return changed
