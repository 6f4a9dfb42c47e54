"""Which upstream versions make up a local cluster: one directory per Kubernetes release under `clusters/local/`.

    clusters/local/v1.37.2/versions          component = version lines (kubernetes, etcd, containerd, pause)
    clusters/local/v1.37.2/kubernetes/       a wrapper Go module: go.mod (a replace per staging module) + go.sum
    clusters/local/v1.37.2/etcd/             the same for etcd's server module
    clusters/local/v1.37.2/containerd/       and for containerd

`go install k8s.io/kubernetes/cmd/kubelet@v1.37.2` is refused (the release's go.mod has replace directives and
requires its staging modules at v0.0.0), so each binary is built from a small module of our own whose go.mod
pins every staging module. `write_wrappers` derives those replace lines from the release's own go.mod.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import process, tools
from kdbgtest.base.errors import KdbgtestError

DEFAULT_VERSION = "v1.37.2"
COMPONENTS = ("kubernetes", "etcd", "containerd")
_VERSION = re.compile(r"^v?1\.(\d+)\.(\d+)$")
_STAGING = re.compile(r"^\s*(k8s\.io/\S+) => \./staging/src/", re.MULTILINE)


def default_pins_root() -> Path:
    """`clusters/local/` of the source tree kdbgtest runs from."""
    return Path(__file__).resolve().parents[2] / "clusters" / "local"


def normalize(version: str) -> str:
    """`1.37.2` or `v1.37.2` -> `v1.37.2`; anything else is a one-line error."""
    if not _VERSION.match(version):
        raise KdbgtestError(f"expected a Kubernetes release like v1.37.2, got {version!r}")
    return "v" + version.removeprefix("v")


@dataclass(frozen=True)
class Pins:
    """The pinned components of one Kubernetes release, and where their wrapper modules are."""

    root: Path
    kubernetes: str
    etcd: str
    containerd: str
    pause: str

    @property
    def minor(self) -> int:
        return int(self.kubernetes.split(".")[1])

    @property
    def staging(self) -> str:
        """The staging modules' version: v0.37.2 for v1.37.2."""
        return "v0." + self.kubernetes.split(".", 1)[1]

    def module(self, component: str) -> Path:
        return self.root / component

    def fingerprint(self) -> str:
        """Changes whenever a pin or a wrapper module changes (the build cache is keyed on it)."""
        import hashlib

        sha = hashlib.sha256()
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                sha.update(path.relative_to(self.root).as_posix().encode() + b"\0" + path.read_bytes())
        return sha.hexdigest()[:16]


def known_versions(root: Path | None = None) -> list[str]:
    base = root or default_pins_root()
    return sorted(p.name for p in base.glob("v1.*") if (p / "versions").is_file())


def load(version: str = DEFAULT_VERSION, root: Path | None = None) -> Pins:
    """The pins for `version`, or an error that lists the versions that have pins."""
    version = normalize(version)
    base = root or default_pins_root()
    directory = base / version
    if not (directory / "versions").is_file():
        have = ", ".join(known_versions(base)) or "none"
        raise KdbgtestError(
            f"no pins for Kubernetes {version} in {base} (have: {have}); pick one of those, or add them with "
            f"`kdbgtest local pin --kubernetes-version {version}`"
        )
    values = _parse_versions(directory / "versions")
    missing = [k for k in ("kubernetes", "etcd", "containerd", "pause") if k not in values]
    if missing or values["kubernetes"] != version:
        raise KdbgtestError(f"{directory / 'versions'}: needs kubernetes = {version}, etcd, containerd and pause")
    return Pins(directory, values["kubernetes"], values["etcd"], values["containerd"], values["pause"])


def _parse_versions(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise KdbgtestError(f"{path}:{number}: expected `component = version`, got {line!r}")
        values[key.strip()] = value.strip()
    return values


# ---- making pins (a maintainer's job, run once per new release) ------------------------------------------


def write_wrappers(pins: Pins, *, timeout: float = 1800) -> None:
    """Create the three wrapper modules for `pins` with `go mod init/edit/get` (needs the Go module proxy)."""
    go = str(tools.require("go"))
    env = go_env()
    k8s = pins.module("kubernetes")
    _init(go, k8s, "kdbgtest.invalid/local/kubernetes", env)
    info = json.loads(
        process.run(
            [go, "mod", "download", "-json", f"k8s.io/kubernetes@{pins.kubernetes}"], timeout=timeout, env=env, cwd=k8s
        ).stdout
    )
    staging = _STAGING.findall(Path(info["GoMod"]).read_text())
    if not staging:
        raise KdbgtestError(f"k8s.io/kubernetes@{pins.kubernetes}: its go.mod lists no staging modules")
    for module in staging:
        process.run([go, "mod", "edit", f"-replace={module}={module}@{pins.staging}"], timeout=60, env=env, cwd=k8s)
    process.run(
        [go, "get", *(f"{p}@{pins.kubernetes}" for p in KUBERNETES_PACKAGES)], timeout=timeout, env=env, cwd=k8s
    )
    etcd = pins.module("etcd")
    _init(go, etcd, "kdbgtest.invalid/local/etcd", env)
    process.run([go, "get", f"{ETCD_PACKAGE}@{pins.etcd}"], timeout=timeout, env=env, cwd=etcd)
    containerd = pins.module("containerd")
    _init(go, containerd, "kdbgtest.invalid/local/containerd", env)
    process.run(
        [go, "get", *(f"{p}@{pins.containerd}" for p in CONTAINERD_PACKAGES)], timeout=timeout, env=env, cwd=containerd
    )


def _init(go: str, directory: Path, name: str, env: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("go.mod", "go.sum"):
        (directory / stale).unlink(missing_ok=True)
    process.run([go, "mod", "init", name], timeout=60, env=env, cwd=directory)


def go_env(*, readonly: bool = False) -> dict[str, str]:
    """The Go settings every step uses: the local toolchain only, static binaries, modules from the proxy."""
    return {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly" if readonly else "-mod=mod"}


KUBERNETES_PACKAGES = (
    "k8s.io/kubernetes/cmd/kube-apiserver",
    "k8s.io/kubernetes/cmd/kube-controller-manager",
    "k8s.io/kubernetes/cmd/kube-scheduler",
    "k8s.io/kubernetes/cmd/kubelet",
)
ETCD_PACKAGE = "go.etcd.io/etcd/server/v3"
CONTAINERD_PACKAGES = (
    "github.com/containerd/containerd/v2/cmd/containerd",
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
    "github.com/containerd/containerd/v2/cmd/ctr",
)
