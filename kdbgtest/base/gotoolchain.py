"""Go for the builds that need it (the toolbox's Go commands, the real local cluster).

`go` from PATH or /usr/local/go when it is new enough, else the pinned toolchain that the Go module proxy
serves (the same zip `go` itself fetches for GOTOOLCHAIN), checked against its recorded SHA-256 and unpacked
under the user's cache. So a fresh machine needs no Go install: only the module proxy, which CI reaches.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from kdbgtest.base import process
from kdbgtest.base.errors import ToolMissing

VERSION = "go1.26.8"
MINIMUM = (1, 26)  # k8s.io/kubernetes v1.37's go.mod asks for go 1.26 (and GOTOOLCHAIN=local forbids switching)
PLATFORM = "linux-amd64"
SHA256 = "30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7"  # v0.0.1-go1.26.8.linux-amd64.zip
DEFAULT_PROXY = "https://proxy.golang.org"
DOWNLOAD_TIMEOUT = 600.0
_VERSION = re.compile(r"go(\d+)\.(\d+)")


def find() -> Path:
    """A `go` binary at least MINIMUM: the machine's, else the pinned toolchain (fetched once)."""
    for candidate in (shutil.which("go"), "/usr/local/go/bin/go"):
        if candidate and Path(candidate).is_file() and _new_enough(Path(candidate)):
            return Path(candidate)
    return fetch()


def _new_enough(go: Path) -> bool:
    done = process.run([str(go), "env", "GOVERSION"], timeout=30, check=False)
    found = _VERSION.match(done.stdout.strip())
    return done.returncode == 0 and found is not None and (int(found[1]), int(found[2])) >= MINIMUM


def home() -> Path:
    """Where the pinned toolchain is unpacked."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kdbgtest" / "go" / VERSION


def fetch() -> Path:
    """Download, check and unpack the pinned toolchain unless it is there; return its `go`."""
    go = home() / "bin" / "go"
    if go.is_file():
        return go
    if PLATFORM != "linux-amd64" or os.uname().machine != "x86_64":
        raise ToolMissing(f"go >= {MINIMUM[0]}.{MINIMUM[1]} is not installed; install it from https://go.dev/dl/")
    home().parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home().parent, prefix=".fetch-") as scratch:
        archive = Path(scratch) / "toolchain.zip"
        url = f"{_proxy()}/golang.org/toolchain/@v/v0.0.1-{VERSION}.{PLATFORM}.zip"
        _download(url, archive)
        unpacked = Path(scratch) / "unpacked"
        _unpack(archive, unpacked, prefix=f"golang.org/toolchain@v0.0.1-{VERSION}.{PLATFORM}/")
        unpacked.rename(home())  # atomic: a half-unpacked toolchain is never at home()
    return go


def _proxy() -> str:
    """The first real proxy of GOPROXY (as `go` reads it), else proxy.golang.org."""
    for entry in re.split(r"[,|]", os.environ.get("GOPROXY", "")):
        if entry.startswith(("https://", "http://")):
            return entry.rstrip("/")
    return DEFAULT_PROXY


def _download(url: str, target: Path) -> None:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, target.open("wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except OSError as error:
        raise ToolMissing(f"go is not installed and {url} could not be fetched ({error}); install Go "
                          f">= {MINIMUM[0]}.{MINIMUM[1]} from https://go.dev/dl/") from None  # fmt: skip
    if digest.hexdigest() != SHA256:
        raise ToolMissing(f"{url} has SHA-256 {digest.hexdigest()}, not the pinned {SHA256}; refusing it")


def _unpack(archive: Path, target: Path, *, prefix: str) -> None:
    """Extract the zip's files under `prefix` into `target`, keeping their Unix modes (zipfile drops them)."""
    with zipfile.ZipFile(archive) as zipped:
        for entry in zipped.infolist():
            relative = entry.filename.removeprefix(prefix)
            if entry.is_dir() or relative == entry.filename or ".." in Path(relative).parts:
                continue
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(entry) as source, path.open("wb") as out:
                shutil.copyfileobj(source, out)
            path.chmod((entry.external_attr >> 16) & 0o755 or 0o644)
