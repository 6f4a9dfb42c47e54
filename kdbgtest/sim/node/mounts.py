"""mount(2) and umount2(2) through libc, for the overlays of host-level containers (no subprocess needed)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
from pathlib import Path

MNT_DETACH = 0x2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str, target: Path, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2)."""
    result = _libc.mount(
        source.encode(),
        str(target).encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    _check(result, f"mount {source} on {target}")


def umount(target: Path, *, lazy: bool = False) -> None:
    """umount2(2); EINVAL/ENOENT (not mounted) are ignored."""
    result = _libc.umount2(str(target).encode(), MNT_DETACH if lazy else 0)
    if result != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        _check(result, f"umount {target}")


def make_layer_dirs(image_rootfs: Path, layer: Path) -> tuple[Path, Path, Path]:
    """`layer/merged`, `layer/upper`, `layer/work`; the upper directory has the owner and mode of the image's
    root (the merged root shows the upper's: a container's root must own its `/` as it owns the image's)."""
    merged, upper, work = layer / "merged", layer / "upper", layer / "work"
    for directory in (merged, upper, work):
        directory.mkdir(parents=True, exist_ok=True)
    st = image_rootfs.stat()
    os.chown(upper, st.st_uid, st.st_gid)
    upper.chmod(st.st_mode & 0o7777)
    return merged, upper, work


def writable_rootfs(image_rootfs: Path, layer: Path) -> tuple[Path, bool]:
    """An overlay of `layer/upper` over the read-only `image_rootfs`, mounted at `layer/merged`.

    Falls back to a copy of the image (returned flag False) when overlayfs is unavailable.
    """
    merged, upper, work = make_layer_dirs(image_rootfs, layer)
    options = f"lowerdir={image_rootfs},upperdir={upper},workdir={work}"
    try:
        mount("overlay", merged, "overlay", 0, options)
        return merged, True
    except OSError:
        shutil.rmtree(merged)
        shutil.copytree(image_rootfs, merged, symlinks=True)
        return merged, False
