"""What a root filesystem gets besides Debian packages: Go commands (`go install`/`go build`, CGO off,
-trimpath, module cache under the build cache) and PyPI wheels unpacked under /opt/pypi/NAME with a wrapper
per console script."""

from __future__ import annotations

import configparser
import hashlib
import sys
import zipfile
from pathlib import Path

from kdbgtest.base import gotoolchain, process
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.imagebuild import pins

GO_TIMEOUT = 1500.0
PIP_TIMEOUT = 300.0


def go_binary() -> Path:
    return gotoolchain.find()


def _go_env(cache: Path) -> dict[str, str]:
    return {
        "GOPATH": str(cache / "go"),
        "GOMODCACHE": str(cache / "go" / "mod"),
        "GOCACHE": str(cache / "go" / "build"),
        "CGO_ENABLED": "0",
        "GOFLAGS": "-trimpath -mod=readonly",
        "GOTOOLCHAIN": "local",
    }


def go_install(module: str, root: Path, cache: Path) -> Path:
    """`go install module` into root/usr/local/bin; returns the binary's path."""
    bindir = root / "usr" / "local" / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    env = {**_go_env(cache), "GOBIN": str(bindir)}
    version = f"-ldflags=-X main.version={module.rsplit('@', 1)[1]}"  # what the project's release builds set
    process.run([str(go_binary()), "install", version, module], env=env, timeout=GO_TIMEOUT)
    return bindir / module.split("@", 1)[0].rsplit("/", 1)[-1]


def go_build(source: Path, target: Path, cache: Path) -> None:
    """`go build -o target .` in the Go main package `source` (a module with its go.sum)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    process.run([str(go_binary()), "build", "-o", str(target), "."], env=_go_env(cache), cwd=source,
                timeout=GO_TIMEOUT)  # fmt: skip


def wheel(pin: pins.Wheel, root: Path, cache: Path) -> list[str]:
    """Download the wheel (checked against its pinned SHA-256), unpack it under /opt/pypi/NAME and write a
    wrapper per console script into /usr/local/bin; returns the scripts' names."""
    dest = cache / "pypi"
    found = _cached_wheel(dest, pin)
    if found is None:
        argv = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                "--dest", str(dest), f"{pin.name}=={pin.version}"]  # fmt: skip
        process.run(argv, timeout=PIP_TIMEOUT)
        found = _cached_wheel(dest, pin)
    if found is None:
        raise KdbgtestError(f"pip downloaded no wheel of {pin.name}=={pin.version} matching sha256:{pin.sha256}")
    target = root / "opt" / "pypi" / pin.name
    with zipfile.ZipFile(found) as archive:
        archive.extractall(target)
    return _wrappers(target, root, pin.name)


def _cached_wheel(dest: Path, pin: pins.Wheel) -> Path | None:
    prefix = f"{pin.name.replace('-', '_')}-{pin.version}-"
    for path in sorted(dest.glob("*.whl")) if dest.is_dir() else []:
        if path.name.startswith(prefix) and hashlib.sha256(path.read_bytes()).hexdigest() == pin.sha256:
            return path
    return None


def _wrappers(target: Path, root: Path, name: str) -> list[str]:
    entry_points = configparser.ConfigParser()
    for path in target.glob("*.dist-info/entry_points.txt"):
        entry_points.read(path)
    scripts = dict(entry_points["console_scripts"]) if entry_points.has_section("console_scripts") else {}
    bindir = root / "usr" / "local" / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    for script, spec in sorted(scripts.items()):
        module, _, function = spec.partition(":")
        wrapper = bindir / script
        wrapper.write_text(
            "#!/usr/bin/python3\nimport sys\n"
            f"sys.path.insert(0, '/opt/pypi/{name}')\n"
            f"from {module.strip()} import {function.strip()}\n"
            f"sys.exit({function.strip()}())\n"
        )
        wrapper.chmod(0o755)
    return sorted(scripts)
