"""`kdbgtest local build`: compile the pinned components with `go build` into a per-version cache.

Binaries land in `~/.cache/kdbgtest/local/<version>/bin/` (or `$KDBGTEST_LOCAL_CACHE/<version>/bin/`), are reused
while the pins they were built from are unchanged (a `.pins` stamp), and report their release with `--version`
(the version variables are set with -ldflags, as upstream's hack/lib/version.sh does). Go's own module and build
caches make a second build of a changed pin take minutes instead of the first build's tens of minutes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import gotoolchain, process
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.local import pins as pinning

CACHE_ENV = "KDBGTEST_LOCAL_CACHE"
BUILD_TIMEOUT = 3600.0  # one binary, cold, on a busy 2-core machine: kubelet takes ~15 min there
_CONTAINERD_TAGS = "no_btrfs no_devmapper no_zfs"


@dataclass(frozen=True)
class Target:
    """One binary: which wrapper module builds it, from which package, and how."""

    name: str
    component: str
    package: str
    version_check: list[str]  # argv after the binary that prints the version

    def flags(self, pins: pinning.Pins) -> list[str]:
        if self.component == "kubernetes":
            return ["-ldflags", _kubernetes_ldflags(pins)]
        if self.component == "containerd":
            version = f"-X github.com/containerd/containerd/v2/version.Version={pins.containerd}"
            return ["-tags", _CONTAINERD_TAGS, "-ldflags", f"-s -w {version}"]
        return ["-ldflags", "-s -w"]

    def expected_version(self, pins: pinning.Pins) -> str:
        value = getattr(pins, self.component)
        return str(value).removeprefix("v") if self.component == "etcd" else str(value)


TARGETS = (
    Target("etcd", "etcd", pinning.ETCD_PACKAGE, ["--version"]),
    Target("containerd", "containerd", pinning.CONTAINERD_PACKAGES[0], ["--version"]),
    Target("containerd-shim-runc-v2", "containerd", pinning.CONTAINERD_PACKAGES[1], ["-v"]),
    Target("ctr", "containerd", pinning.CONTAINERD_PACKAGES[2], ["--version"]),
    Target("kube-apiserver", "kubernetes", pinning.KUBERNETES_PACKAGES[0], ["--version"]),
    Target("kube-controller-manager", "kubernetes", pinning.KUBERNETES_PACKAGES[1], ["--version"]),
    Target("kube-scheduler", "kubernetes", pinning.KUBERNETES_PACKAGES[2], ["--version"]),
    Target("kubelet", "kubernetes", pinning.KUBERNETES_PACKAGES[3], ["--version"]),
)


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "kdbgtest" / "local"


def bin_dir(pins: pinning.Pins) -> Path:
    return cache_root() / pins.kubernetes / "bin"


def is_built(pins: pinning.Pins) -> bool:
    directory = bin_dir(pins)
    stamp = directory / ".pins"
    return (
        stamp.is_file()
        and stamp.read_text().strip() == pins.fingerprint()
        and all((directory / t.name).is_file() for t in TARGETS)
    )


def build(pins: pinning.Pins, *, progress: Callable[[str], None] = print, force: bool = False) -> Path:
    """Build every binary of `pins` (unless built already) and return the bin directory."""
    directory = bin_dir(pins)
    if is_built(pins) and not force:
        progress(f"local {pins.kubernetes}: binaries are up to date in {directory}")
        return directory
    go = gotoolchain.find()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ".pins").unlink(missing_ok=True)
    started = time.monotonic()
    for number, target in enumerate(TARGETS, 1):
        progress(f"[{number}/{len(TARGETS)}] building {target.name} ({target.package}) ...")
        began = time.monotonic()
        _build_one(go, pins, target, directory)
        progress(f"[{number}/{len(TARGETS)}] {target.name} built in {time.monotonic() - began:.0f}s")
    (directory / ".pins").write_text(pins.fingerprint() + "\n")
    progress(f"local {pins.kubernetes}: {len(TARGETS)} binaries in {directory} ({time.monotonic() - started:.0f}s)")
    return directory


def _build_one(go: Path, pins: pinning.Pins, target: Target, directory: Path) -> None:
    module = pins.module(target.component)
    if not (module / "go.sum").is_file():
        raise KdbgtestError(f"{module}: the wrapper module has no go.sum; recreate it with `kdbgtest local pin`")
    partial = directory / f".{target.name}.partial"
    argv = [str(go), "build", "-trimpath", *target.flags(pins), "-o", str(partial), target.package]
    try:
        process.run(argv, timeout=BUILD_TIMEOUT, env=pinning.go_env(readonly=True), cwd=module)
        _check_version(partial, target, pins)
        partial.replace(directory / target.name)
    finally:
        partial.unlink(missing_ok=True)


def _check_version(binary: Path, target: Target, pins: pinning.Pins) -> None:
    done = process.run([str(binary), *target.version_check], timeout=60, check=False)
    want = target.expected_version(pins)
    if want not in done.output:
        raise KdbgtestError(
            f"{target.name} was built but reports {done.output.strip().splitlines()[:1]} instead of {want}; "
            "the -ldflags version variables did not apply"
        )


def _kubernetes_ldflags(pins: pinning.Pins) -> str:
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={pins.kubernetes}",
            f"-X {package}.gitMajor=1",
            f"-X {package}.gitMinor={pins.minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate=1970-01-01T00:00:00Z",
        ]
    return " ".join(flags)


def disk_usage(path: Path) -> int:
    """Bytes under `path` (for the build report)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
