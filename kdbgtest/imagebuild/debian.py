"""Debian packages into a root filesystem without dpkg or a chroot: apt resolves and downloads (signatures
and hashes checked) into a private state under the cache, each .deb's data is unpacked with merged /usr
(bin, sbin, lib* -> usr/), and the few things maintainer scripts would do are done here (`finish`).

The sources are Debian bookworm's (`KDBGTEST_DEBIAN_MIRROR`, default http://deb.debian.org), checked with the
debian-archive-keyring, whatever distribution the host runs; only apt-get itself comes from the host.
"""

from __future__ import annotations

import io
import lzma
import os
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kdbgtest.base import process, tools
from kdbgtest.base.errors import KdbgtestError

SUITE = "bookworm"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MIRROR_ENV = "KDBGTEST_DEBIAN_MIRROR"
MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # merged into usr/ as bookworm does
APT_TIMEOUT = 900.0
_INST = re.compile(r"^Inst (\S+) \((\S+) .*\[(\S+)\]\)")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    arch: str

    @property
    def file_name(self) -> str:
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


class Apt:
    """apt-get with a state of its own (lists, an empty dpkg status, the .deb cache) under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.debs = root / "debs"
        for sub in ("lists/partial", "debs/partial", "cache", "sources.list.d", "preferences.d"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "status").touch()
        if not KEYRING.is_file():
            raise KdbgtestError(f"{KEYRING} is missing; apt-get install debian-archive-keyring")
        mirror = os.environ.get(MIRROR_ENV, "http://deb.debian.org").rstrip("/")
        signed = f"[signed-by={KEYRING}]"
        (root / "sources.list").write_text(
            f"deb {signed} {mirror}/debian {SUITE} main\n"
            f"deb {signed} {mirror}/debian {SUITE}-updates main\n"
            f"deb {signed} {mirror}/debian-security {SUITE}-security main\n"
        )

    def _argv(self, *args: str) -> list[str]:
        options = {
            "Dir::Etc::SourceList": self.root / "sources.list",
            "Dir::Etc::SourceParts": self.root / "sources.list.d",
            "Dir::Etc::Preferences": self.root / "preferences",
            "Dir::Etc::PreferencesParts": self.root / "preferences.d",
            "Dir::State::Lists": self.root / "lists",
            "Dir::State::status": self.root / "status",
            "Dir::Cache": self.root / "cache",
            "Dir::Cache::archives": self.debs,
            "Debug::NoLocking": "1",
            "APT::Architecture": "amd64",
            "APT::Architectures": "amd64",
            "APT::Install-Recommends": "false",
            "APT::Install-Suggests": "false",
            "APT::Get::AllowUnauthenticated": "false",
        }
        argv = [str(tools.require("apt-get"))]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        return [*argv, "-q", *args]

    def update(self) -> None:
        """Fetch the package lists (apt-get update); cheap when they are current."""
        process.run(self._argv("update"), timeout=APT_TIMEOUT)

    def resolve(self, wanted: dict[str, str]) -> list[Package]:
        """The packages (with dependencies) an install of `wanted` (name -> version, "" for any) needs on an
        empty system, as apt would choose them."""
        specs = [f"{name}={version}" if version else name for name, version in sorted(wanted.items())]
        done = process.run(self._argv("install", "-s", "-y", *specs), timeout=APT_TIMEOUT, check=False)
        if done.returncode != 0:
            raise KdbgtestError(f"apt cannot install the pinned packages: {_last_lines(done.stderr or done.stdout)}")
        found = [Package(m[1], m[2], m[3]) for m in map(_INST.match, done.stdout.splitlines()) if m]
        return sorted(found, key=lambda p: p.name)

    def download(self, packages: list[Package]) -> list[Path]:
        """The .deb files of `packages`, downloaded once into the cache."""
        specs = [f"{p.name}={p.version}" for p in packages]
        process.run(self._argv("install", "--download-only", "-y", *specs), timeout=APT_TIMEOUT)
        paths = [self.debs / p.file_name for p in packages]
        absent = [p.name for p in paths if not p.is_file()]
        if absent:
            raise KdbgtestError(f"apt downloaded no file for {', '.join(absent)} into {self.debs}")
        return paths


def _last_lines(text: str) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-4:] if line)


# ---- unpacking ---------------------------------------------------------------------------------------------


def ar_members(deb: Path) -> dict[str, bytes]:
    """The members of the ar archive `deb` (debian-binary, control.tar.*, data.tar.*)."""
    data = deb.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise KdbgtestError(f"{deb} is not a Debian package (no ar header)")
    members, offset = {}, 8
    while offset + 60 <= len(data):
        header = data[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = data[offset + 60 : offset + 60 + size]
        offset += 60 + size + (size % 2)
    return members


def _tar(members: dict[str, bytes], stem: str) -> tarfile.TarFile:
    for name, blob in members.items():
        if name.startswith(stem):
            if name.endswith(".xz"):
                blob = lzma.decompress(blob)
            elif name.endswith(".gz"):
                blob = zlib.decompress(blob, 16 + zlib.MAX_WBITS)
            elif name.endswith(".zst"):
                raise KdbgtestError(f"{stem} is zstd-compressed, which this builder does not read")
            return tarfile.open(fileobj=io.BytesIO(blob))
    raise KdbgtestError(f"the package has no {stem}")


def merged(name: str) -> PurePosixPath:
    """The path of a package member in a merged-/usr root (`./bin/ip` -> `usr/bin/ip`)."""
    parts = [p for p in PurePosixPath(name).parts if p not in ("/", ".")]
    if parts and parts[0] in MERGED:
        parts.insert(0, "usr")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def inside(root: Path, relative: PurePosixPath, depth: int = 0) -> Path:
    """`relative` under `root` with every symlink on the way resolved as a chroot would (absolute targets
    from `root`), so that nothing written can land outside `root`."""
    if depth > 40:
        raise KdbgtestError(f"too many levels of symbolic links under {root} at {relative}")
    current = root
    parts = list(relative.parts)
    for index, part in enumerate(parts[:-1]):
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            target = PurePosixPath(candidate.readlink())
            base = PurePosixPath() if target.is_absolute() else PurePosixPath(current.relative_to(root))
            rest = PurePosixPath(*parts[index + 1 :])
            joined = PurePosixPath(*(base / target).parts[1 if target.is_absolute() else 0 :]) / rest
            return inside(root, _normal(joined), depth + 1)
        current = candidate
    return current / parts[-1] if parts else root


def _normal(path: PurePosixPath) -> PurePosixPath:
    out: list[str] = []
    for part in path.parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in (".", "/"):
            out.append(part)
    return PurePosixPath(*out)


def unpack(deb: Path, root: Path) -> list[str]:
    """Unpack the data of `deb` into `root` (merged /usr, ownership kept when running as root); returns the
    package's maintainer-script names (postinst, ...) for the caller to know what was skipped."""
    members = ar_members(deb)
    as_root = os.geteuid() == 0
    with _tar(members, "data.tar") as data:
        for member in data.getmembers():
            relative = merged(member.name)
            if str(relative) == ".":
                continue
            target = inside(root, relative)
            _place(data, member, target, root, as_root)
    with _tar(members, "control.tar") as control:
        return sorted(PurePosixPath(m.name).name for m in control.getmembers() if m.isfile())


def _place(data: tarfile.TarFile, member: tarfile.TarInfo, target: Path, root: Path, as_root: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.isdir():
        if target.is_symlink():
            return  # e.g. a package's ./lib64 where the root has lib64 -> usr/lib64
        target.mkdir(exist_ok=True)
    else:
        if target.is_symlink() or target.exists():
            target.unlink()
        if member.issym():
            target.symlink_to(member.linkname)
        elif member.islnk():
            os.link(inside(root, merged(member.linkname)), target)
            return
        elif member.isfile():
            source = data.extractfile(member)
            assert source is not None
            with source, target.open("wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
        else:
            return  # device nodes and fifos: the runtime provides /dev
    if as_root:
        os.lchown(target, member.uid, member.gid)
    if not member.issym():
        target.chmod(member.mode)
    os.utime(target, (0, 0), follow_symlinks=False)


def merged_usr(root: Path) -> None:
    """The merged-/usr top level: usr/bin etc. and the links bin -> usr/bin, lib64 -> usr/lib64."""
    for name in ("bin", "sbin", "lib", "lib64"):
        (root / "usr" / name).mkdir(parents=True, exist_ok=True)
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"usr/{name}")
