"""Images of the offline cluster: root filesystem directories the sim builds from local binaries.

There is no registry and no network. `ImageStore.resolve` maps an image reference, normalised as containerd
does (`busybox` -> `docker.io/library/busybox:latest`), to a read-only rootfs directory in the cache:

- `busybox` (any tag): Debian's static busybox with a symlink per applet, /etc/passwd (root, user 1000,
  nobody 65534) and /etc/group; command `sh`.
- `kdbgtest/distroless-app` (any tag): only the static binary `/app` (from `sim/images/distroless_app.c`);
  entrypoint `["/app"]`; no shell.
- `registry.k8s.io/pause` (any tag): only the static binary `/pause` (from `sim/images/pause.c`).
- `kdbgtest/debug-toolbox`, `kdbgtest/redis`, `kdbgtest/mariadb`, `kdbgtest/dnsmasq`, `kdbgtest/grpc-app` (any
  tag): the archives `kdbgtest images build` made from pinned Debian packages (`sim/node/toolbox.py`).

Any other image can be mapped to a root filesystem directory you prepared, either with the `mapped` argument
or with the environment variable `KDBGTEST_SIM_IMAGES=ref=dir,ref2=dir2` (for example
`KDBGTEST_SIM_IMAGES=nginx:1.25=/srv/rootfs/nginx`). A mapped reference with a tag matches that tag only;
one without a tag matches every tag. A mapped image's command is `sh` if it has /bin/sh. Everything else
fails like a pull from an unreachable registry (`ImageUnavailable`), which the kubelet reports as
ErrImagePull / ImagePullBackOff.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import private_dirs, process, tools
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.sim.node import idmap

ENV_VAR = "KDBGTEST_SIM_IMAGES"
DEFAULT_CACHE = Path("/var/lib/kdbgtest/images")  # shared by every sim; 0700, only its owner may change it
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SOURCES = Path(__file__).resolve().parent.parent / "images"
_LAYOUT_VERSION = "kdbgtest-sim-image-v2"  # v2: owned by the nodes' uid range (idmap.py)

# docker/distribution reference grammar (simplified, as containerd applies it).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?)"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


class ImageUnavailable(Exception):
    """The image cannot be provided; the message reads like containerd's pull error."""


class InvalidImageName(ImageUnavailable):
    """The reference does not parse (the kubelet's InvalidImageName)."""


@dataclass(frozen=True)
class Image:
    """A resolved image: its read-only root filesystem and its config (as an OCI image config says)."""

    ref: str
    image_id: str
    rootfs: Path
    entrypoint: list[str]
    cmd: list[str]
    env: list[str]
    workdir: str
    user: str


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: `repository` (with domain), `tag` and/or `digest`."""

    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        tail = f":{self.tag}" if self.tag else ""
        return self.repository + tail + (f"@{self.digest}" if self.digest else "")


def parse_reference(image: str) -> Reference:
    """Normalise like containerd: default domain docker.io, `library/` for official images, tag `latest`."""
    match = _REFERENCE.match(image)
    if match is None or not image:
        raise InvalidImageName(
            f'Failed to apply default image tag "{image}": couldn\'t parse image reference "{image}": '
            "invalid reference format"
        )
    domain, path = match["domain"], match["path"]
    if domain is not None and "." not in domain and ":" not in domain and domain != "localhost":
        domain, path = None, f"{domain}/{path}"  # "foo/bar": foo is a path component, not a registry
    if domain is None or domain in ("index.docker.io", "registry-1.docker.io"):
        domain = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    tag = match["tag"] or (None if match["digest"] else "latest")
    return Reference(f"{domain}/{path}", tag, match["digest"])


def mappings_from_env(value: str | None) -> dict[str, Path]:
    """Parse `ref=dir,ref2=dir2` (the KDBGTEST_SIM_IMAGES format)."""
    result: dict[str, Path] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        ref, sep, directory = item.strip().rpartition("=")
        if not sep or not ref or not directory:
            raise KdbgtestError(f"{ENV_VAR}: entry {item!r} is not of the form ref=directory; fix it")
        result[ref] = Path(directory)
    return result


class ImageStore:
    """Resolves references to images, building the built-in ones once into `cache_dir` (shared on disk)."""

    def __init__(self, cache_dir: Path = DEFAULT_CACHE, mapped: Mapping[str, Path] | None = None) -> None:
        # Another user able to write here could swap the root filesystem of every container the sim starts.
        self.cache_dir = private_dirs.ensure_private(cache_dir, hint="remove it (a cache) or use another one")
        self._mapped = {**mappings_from_env(os.environ.get(ENV_VAR)), **(mapped or {})}
        self._resolved: dict[str, Image] = {}
        self._lock = threading.Lock()

    def resolve(self, image: str) -> Image:
        """The image for reference `image`, built on first use; `ImageUnavailable` if it cannot be had."""
        ref = parse_reference(image)
        with self._lock:
            if str(ref) not in self._resolved:
                self._resolved[str(ref)] = self._build(ref)
            return self._resolved[str(ref)]

    def mapped_dirs(self) -> list[Path]:
        """The root filesystem directories mapped to references (the runtime must be able to see them)."""
        return list(self._mapped.values())

    def _build(self, ref: Reference) -> Image:
        mapped = self._mapped_dir(ref)
        if mapped is not None:
            return _mapped_image(ref, mapped)
        builder = _BUILTIN.get(ref.repository)
        if builder is None:
            raise ImageUnavailable(
                f'failed to pull and unpack image "{ref}": kdbgtest sim cannot provide this image offline; '
                f"map a root filesystem directory to it (see docs: {ENV_VAR}=REF=DIR)"
            )
        try:
            return builder(self, ref)
        except (KdbgtestError, OSError) as exc:
            raise ImageUnavailable(f'failed to pull and unpack image "{ref}": {exc}') from exc

    def _mapped_dir(self, ref: Reference) -> Path | None:
        for key, directory in self._mapped.items():
            want = parse_reference(key)
            any_tag = ":" not in key.rsplit("/", 1)[-1] and "@" not in key
            if want.repository == ref.repository and (any_tag or str(want) == str(ref)):
                return directory
        return None

    def built_rootfs(self, kind: str, digest: str, populate: Callable[[Path], None]) -> Path:
        """`cache_dir/kind/digest/rootfs`, made by `populate(tmpdir)` then renamed into place atomically."""
        final = self.cache_dir / kind / digest
        if (final / "rootfs").is_dir():
            return final / "rootfs"
        final.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.cache_dir / ".lock"):
            if not (final / "rootfs").is_dir():
                work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
                try:
                    (work / "rootfs").mkdir()
                    populate(work / "rootfs")
                    idmap.shift_tree(work / "rootfs")
                    work.rename(final)
                except BaseException:
                    shutil.rmtree(work, ignore_errors=True)
                    raise
        return final / "rootfs"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _digest(*parts: bytes) -> str:
    sha = hashlib.sha256(_LAYOUT_VERSION.encode())
    for part in parts:
        sha.update(hashlib.sha256(part).digest())
    return sha.hexdigest()


def _mapped_image(ref: Reference, directory: Path) -> Image:
    if not directory.is_dir():
        raise ImageUnavailable(
            f'failed to pull and unpack image "{ref}": mapped root filesystem {directory} is not a directory'
        )
    listing = sorted(f"{p.relative_to(directory)}:{p.lstat().st_size}" for p in directory.rglob("*"))
    digest = _digest(str(directory.resolve()).encode(), "\n".join(listing).encode())
    cmd = ["sh"] if (directory / "bin" / "sh").exists() else []
    return Image(str(ref), f"sha256:{digest}", directory.resolve(), [], cmd, [DEFAULT_PATH], "", "")


# ---- built-in images -------------------------------------------------------------------------------------

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:Linux User,,,:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
tty:x:5:
user:x:1000:
nogroup:x:65534:
"""


def populate_busybox(root: Path) -> None:
    """A busybox root filesystem: /bin/busybox, one symlink per applet, users, groups and the usual dirs."""
    busybox = tools.require("busybox")
    dirs = ("bin", "etc", "tmp", "root", "proc", "sys", "dev", "home/user", "var", "usr/bin", "usr/sbin")
    for name in dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)
    os.chown(root / "home" / "user", 1000, 1000)
    shutil.copy2(busybox, root / "bin" / "busybox")
    listing = process.run([str(busybox), "--list"], timeout=10).stdout.split()
    for applet in listing:
        if applet != "busybox" and not (root / "bin" / applet).exists():
            (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for name in ("hosts", "hostname", "resolv.conf"):
        (root / "etc" / name).touch()


def _busybox(store: ImageStore, ref: Reference) -> Image:
    binary = tools.require("busybox").read_bytes()
    digest = _digest(b"busybox", binary)
    rootfs = store.built_rootfs("busybox", digest, populate_busybox)
    return Image(str(ref), f"sha256:{digest}", rootfs, [], ["sh"], [DEFAULT_PATH], "", "")


def compile_static(source: Path, output: Path) -> None:
    """`gcc -static -O2 source -o output` (gcc is needed once per image cache)."""
    gcc = tools.require("gcc")
    process.run([str(gcc), "-static", "-O2", "-o", str(output), str(source)], timeout=120)


def _single_binary(source: str, target: str, dirs: tuple[str, ...]) -> Callable[[Path], None]:
    def populate(root: Path) -> None:
        for name in dirs:
            (root / name).mkdir(parents=True, exist_ok=True)
        compile_static(_SOURCES / source, root / target)

    return populate


def _distroless(store: ImageStore, ref: Reference) -> Image:
    source = (_SOURCES / "distroless_app.c").read_bytes()
    digest = _digest(b"distroless-app", source)
    populate = _single_binary("distroless_app.c", "app", ("proc", "sys", "dev", "tmp", "etc"))
    rootfs = store.built_rootfs("distroless-app", digest, populate)
    return Image(str(ref), f"sha256:{digest}", rootfs, ["/app"], [], [DEFAULT_PATH], "", "")


def _pause(store: ImageStore, ref: Reference) -> Image:
    source = (_SOURCES / "pause.c").read_bytes()
    digest = _digest(b"pause", source)
    populate = _single_binary("pause.c", "pause", ("proc", "sys", "dev", "etc"))
    rootfs = store.built_rootfs("pause", digest, populate)
    return Image(str(ref), f"sha256:{digest}", rootfs, ["/pause"], [], [DEFAULT_PATH], "", "65535:65535")


def _built_archive(store: ImageStore, ref: Reference) -> Image:
    from kdbgtest.sim.node import toolbox  # imports `kdbgtest images build` archives; see that module

    return toolbox.build(store, ref)


_BUILT_ARCHIVES = (  # kdbgtest/imagebuild/recipes.py
    "docker.io/kdbgtest/debug-toolbox", "docker.io/kdbgtest/redis", "docker.io/kdbgtest/mariadb",
    "docker.io/kdbgtest/dnsmasq", "docker.io/kdbgtest/grpc-app",
)  # fmt: skip
_BUILTIN: dict[str, Callable[[ImageStore, Reference], Image]] = {
    "docker.io/library/busybox": _busybox,
    "docker.io/kdbgtest/distroless-app": _distroless,
    "registry.k8s.io/pause": _pause,
    **dict.fromkeys(_BUILT_ARCHIVES, _built_archive),
}
