"""Output paths, checked before a run starts so that no result is lost to a path that cannot be written.

Each problem is one `UnwritableOutput` sentence naming the option and the fix, e.g.
`--junit out: cannot write a file there (it is a directory); pass a file path, e.g. one inside that directory`.
Nothing is created here: a missing parent directory is fine when the nearest existing one is writable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from kdbgtest.base.errors import KdbgtestError


class UnwritableOutput(KdbgtestError):
    """An output path (report file or directory) that the run could not write."""


def check_file(option: str, path: Path) -> None:
    """`path` can be written as a file: not a directory, not read-only, below a directory that can hold it."""
    where = "cannot write a file there"
    if path.is_dir():
        _fail(option, path, where, "it is a directory", "pass a file path, e.g. one inside that directory")
    if path.exists() and not os.access(path, os.W_OK):
        _fail(option, path, where, "it is read-only", "pass a writable file")
    _check_parent(option, path, where, "pass a file in a writable directory")


def check_directory(option: str, path: Path, files: Iterable[str] = ()) -> None:
    """`path` is, or can be created as, a writable directory; `files` (relative names written in it) are not
    directories there."""
    where, fix = "cannot write there", "pass a writable directory"
    if path.exists():
        if not path.is_dir():
            _fail(option, path, where, "a file of that name is in the way", fix)
        if not os.access(path, os.W_OK | os.X_OK):
            _fail(option, path, where, f"{path} is not writable", fix)
        for name in files:
            if (path / name).is_dir():
                _fail(option, path, where, f"{path / name} is a directory, where a report file goes", fix)
        return
    _check_parent(option, path, where, fix)


def check_distinct(paths: dict[str, Path | None]) -> None:
    """No two options (`--junit`, `--json`) name the same file: the second would overwrite the first."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = path.absolute()
        if key in seen:
            raise UnwritableOutput(f"{seen[key]} and {option} both name {path}; give each its own file")
        seen[key] = option


def _check_parent(option: str, path: Path, where: str, fix: str) -> None:
    existing = path.absolute().parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        _fail(option, path, where, f"{existing} is not a directory", fix)
    if not os.access(existing, os.W_OK | os.X_OK):
        _fail(option, path, where, f"{existing} is not writable", fix)


def _fail(option: str, path: Path, where: str, problem: str, fix: str) -> None:
    raise UnwritableOutput(f"{option} {path}: {where} ({problem}); {fix}")
