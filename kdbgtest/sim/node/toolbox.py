"""The offline cluster's stand-in for `kdbgtest/debug-toolbox` (the image built from images/debug/Dockerfile).

The real image holds the tools people reach for when debugging. The sim has no registry, so it builds the
image from what the host has: the busybox root filesystem (for the basics), the host's `sh`, and each tool's
host binary with the shared libraries `ldd` lists. A tool the host lacks (or has only as a script, like
httpstat) is absent from the image: not even busybox's applet of that name stays, so a check for it fails as
it should. Which tools are missing is logged, written to /etc/kdbgtest-toolbox-missing in the image, and
returned by `missing()`, so a provider can say the toolbox is incomplete.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

from kdbgtest.base import process, tools
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.sim.node import images

log = logging.getLogger(__name__)

REPOSITORY = "docker.io/kdbgtest/debug-toolbox"
# The tools of images/debug/Dockerfile, by the command that runs each one.
TOOLS = (
    "bash", "curl", "wget", "jq", "tcpdump", "strace", "ip", "dig", "nmap", "htop", "vim", "mysql",
    "redis-cli", "grpcurl", "httpstat",
)  # fmt: skip
MISSING_FILE = "etc/kdbgtest-toolbox-missing"
_LIBRARY = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def _host_binary(tool: str) -> Path | None:
    found = shutil.which(tool)
    if found is None:
        return None
    path = Path(found).resolve()
    with path.open("rb") as handle:
        return path if handle.read(4) == b"\x7fELF" else None


def host_tools() -> dict[str, Path | None]:
    """Each tool's host binary (resolved), or None when the host lacks it as a binary."""
    return {tool: _host_binary(tool) for tool in TOOLS}


def missing() -> list[str]:
    """The tools the sim's toolbox image lacks on this host."""
    return [tool for tool, path in host_tools().items() if path is None]


def libraries(binary: Path) -> list[Path]:
    """The shared libraries (and the dynamic loader) `ldd` lists for `binary`; none for a static one."""
    done = process.run(["ldd", str(binary)], timeout=30, check=False)
    return [Path(m[1]) for m in map(_LIBRARY.search, done.stdout.splitlines()) if m]


def _copy(source: Path, root: Path, target: Path) -> None:
    destination = root / target.relative_to("/")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)  # follows symlinks: the library's real content under its listed name


def _install(binary: Path, root: Path, target: Path) -> None:
    _copy(binary, root, target)
    for library in libraries(binary):
        if library.exists():
            _copy(library, root, library)


def populate(root: Path, tools: dict[str, Path | None]) -> None:
    """busybox, the host's sh, then every host tool with its libraries; a missing tool has no file at all.

    busybox's sh would run its own applet of a tool's name (wget, ip) even without the symlink, so /bin/sh
    is the host's shell.
    """
    images.populate_busybox(root)
    shell = _host_binary("sh")
    if shell is not None:
        (root / "bin" / "sh").unlink()
        _install(shell, root, Path("/bin/sh"))
    for tool, binary in tools.items():
        applet = root / "bin" / tool
        if applet.is_symlink():
            applet.unlink()  # busybox's wget or ip is not the real tool
        if binary is None:
            continue
        _install(binary, root, Path("/usr/bin") / tool)
    absent = [tool for tool, binary in tools.items() if binary is None]
    (root / MISSING_FILE).write_text("".join(f"{tool}\n" for tool in absent))


def build(store: images.ImageStore, ref: images.Reference) -> images.Image:
    """The toolbox image for `ref` (any tag), cached by the exact host binaries it was made of."""
    found = host_tools()
    absent = [tool for tool, binary in found.items() if binary is None]
    if absent:
        log.warning("the sim's debug-toolbox image lacks %s (not installed on this host)", ", ".join(absent))
    sha = hashlib.sha256(tools.require("busybox").read_bytes())
    sha.update(str(_host_binary("sh")).encode())
    for tool, binary in sorted(found.items()):
        sha.update(f"{tool}={binary}:{binary.stat().st_mtime_ns if binary else ''}".encode())
    digest = images._digest(b"debug-toolbox", sha.digest())
    try:
        rootfs = store.built_rootfs("debug-toolbox", digest, lambda root: populate(root, found))
    except (KdbgtestError, OSError) as exc:
        raise images.ImageUnavailable(f'failed to pull and unpack image "{ref}": {exc}') from exc
    return images.Image(str(ref), f"sha256:{digest}", rootfs, [], ["sh"], [images.DEFAULT_PATH], "", "")
