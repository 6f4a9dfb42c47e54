"""Kubeconfig files for a sim cluster: cluster, user and context all named `kdbg-sim-NAME`, plus a user and
context `kdbgtest-alice` (bob, carol) for each named user of `kdbgtest.sim.users` (not the default).

The sim writes its own kubeconfig in its state directory. A user-chosen path (even ~/.kube/config, only when
asked explicitly) is merged into, never clobbered: entries of other clusters are kept, and `remove` takes out
only the sim's own entries again.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from kdbgtest.base import named_users
from kdbgtest.base.errors import ClusterError
from kdbgtest.sim import users

Config = dict[str, Any]

_SECTIONS = ("clusters", "users", "contexts")
_TOP_LEVEL = {"apiVersion", "kind", "preferences", "current-context", "extensions", *_SECTIONS}


def entry_name(cluster: str) -> str:
    """The name of the sim's cluster, user and context entries."""
    return f"kdbg-sim-{cluster}"


def build(cluster: str, server: str, ca_pem: bytes, token: str) -> Config:
    """A complete kubeconfig whose current context is the sim cluster `cluster`."""
    name = entry_name(cluster)
    ca_data = base64.b64encode(ca_pem).decode()
    named = {u: named_users.kubeconfig_entry(u) for u in named_users.NAMES}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": name, "user": {"token": token}}]
        + [{"name": entry, "user": {"token": users.token_for(token, u)}} for u, entry in named.items()],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]
        + [{"name": entry, "context": {"cluster": name, "user": entry}} for entry in named.values()],
        "current-context": name,
    }


def write(path: Path, config: Config) -> None:
    """Write `config` to `path` atomically with mode 0600 (it holds a credential)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(config, out, default_flow_style=False, sort_keys=False)
    tmp.replace(path)


def load(path: Path) -> Config:
    """Parse the kubeconfig at `path`; an empty file is an empty config."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot read kubeconfig {path}: {exc}; fix or move the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClusterError(f"kubeconfig {path} is not a YAML mapping; fix or move the file")
    return data


def check_mergeable(path: Path) -> Config:
    """The kubeconfig at `path` (empty if missing); ClusterError if the file is not a kubeconfig."""
    existing = load(path) if path.exists() else {}
    unknown = sorted(set(existing) - _TOP_LEVEL)
    if unknown or existing.get("kind", "Config") != "Config":
        raise ClusterError(
            f"{path} does not look like a kubeconfig (kind {existing.get('kind')!r}, keys {unknown}); "
            "the sim merges only into kubeconfig files: pass another --kubeconfig"
        )
    return existing


def merge(path: Path, config: Config) -> bool:
    """Merge the sim's entries of `config` into the kubeconfig at `path` and make its context current.

    Entries with the same names are replaced; everything else is kept. Returns whether `path` was created.
    """
    created = not path.exists()
    existing = {} if created else check_mergeable(path)
    merged = dict(existing) or {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for section in _SECTIONS:
        ours = {item["name"] for item in config[section]}
        kept = [item for item in existing.get(section) or [] if item.get("name") not in ours]
        merged[section] = kept + config[section]
    merged["current-context"] = config["current-context"]
    write(path, merged)
    return created


def remove(path: Path, cluster: str, *, delete_if_empty: bool) -> None:
    """Take the sim cluster's entries out of the kubeconfig at `path` (no-op if the file is gone).

    With `delete_if_empty`, a file left with no entries at all is deleted (it was created by the sim).
    """
    if not path.exists():
        return
    config = load(path)
    name = entry_name(cluster)
    ours = {name, *(named_users.kubeconfig_entry(u) for u in named_users.NAMES)}
    for section in _SECTIONS:
        if config.get(section):
            config[section] = [item for item in config[section] if item.get("name") not in ours]
    if config.get("current-context") == name:
        config["current-context"] = ""
    if delete_if_empty and not any(config.get(section) for section in _SECTIONS):
        path.unlink()
        return
    write(path, config)
