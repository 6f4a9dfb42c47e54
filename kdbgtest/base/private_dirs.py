"""Directories only this user may change: where the sim keeps its state, tokens and shared image cache.

A directory another user owns, or may write to, lets that user swap what root later runs or reads (an image's
root filesystem, a kubeconfig, a pid file). `ensure_private` creates a directory (and any missing parent) with
mode 0700 and refuses one that is unsafe: not a directory, a symlink, owned by another user, or writable by
group or others; every existing parent must be owned by root or by us and not writable by others, unless it is
sticky like /tmp.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from kdbgtest.base.errors import ClusterError


def _who(uid: int) -> str:
    try:
        import pwd

        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _shared_problem(directory: Path, info: os.stat_result) -> str | None:
    """Why a directory others may rename or replace entries in is not safe to keep ours in, or None."""
    if info.st_uid not in (0, os.geteuid()):
        return f"{directory} is owned by {_who(info.st_uid)}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        return f"{directory} is writable by others (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def unsafe_parent(path: Path) -> str | None:
    """Why an existing parent of `path` lets someone else replace it, or None."""
    for parent in path.parents:
        try:
            info = parent.stat()
        except FileNotFoundError:
            continue
        problem = _shared_problem(parent, info)
        if problem is not None:
            return f"its parent {problem}"
    return None


def unsafe(path: Path) -> str | None:
    """Why the existing directory `path` (or a parent) is not ours alone, or None."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return unsafe_parent(path)
    if stat.S_ISLNK(info.st_mode):
        return "it is a symlink"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if info.st_uid != os.geteuid():
        return f"it is owned by {_who(info.st_uid)}, not by {_who(os.geteuid())}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by others (mode {stat.S_IMODE(info.st_mode):04o})"
    return unsafe_parent(path)


def check(path: Path, *, hint: str) -> None:
    """ClusterError naming the problem and `hint` (what to do) if `path` is unsafe."""
    problem = unsafe(path)
    if problem is not None:
        raise ClusterError(f"refusing {path}: {problem}; {hint}")


def _make(path: Path, hint: str) -> None:
    """Create the missing directories down to `path` with mode 0700, once its existing parents are safe."""
    problem = unsafe_parent(path)
    if problem is not None:
        raise ClusterError(f"refusing {path}: {problem}; {hint}")
    for directory in [*reversed(path.parents), path]:
        if not directory.exists() and not directory.is_symlink():
            with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent start: checked below
                directory.mkdir(mode=0o700)


def ensure_private(path: Path, *, hint: str) -> Path:
    """Create `path` and its missing parents as 0700 directories, then `check` it; returns `path`."""
    _make(path, hint)
    check(path, hint=hint)
    return path


def ensure_shared_safely(path: Path, *, hint: str) -> Path:
    """Like `ensure_private`, for a directory that may be a shared one such as /tmp (a parent of a state
    directory someone chose): it must be owned by root or us and not writable by others unless sticky."""
    _make(path, hint)
    info = path.stat()
    problem = _shared_problem(path, info) if stat.S_ISDIR(info.st_mode) else f"{path} is not a directory"
    if problem is not None:
        raise ClusterError(f"refusing {path}: {problem}; {hint}")
    return path
