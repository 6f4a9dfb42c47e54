"""Private directories on a real filesystem: created 0700, refused when another user owns them or may write to
them (or to a parent that is not sticky), refused when a symlink; a sticky shared parent like /tmp is fine."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kdbgtest.base import private_dirs
from kdbgtest.base.errors import ClusterError

NOBODY = 65534

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_directories_are_created_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "cache"
    assert private_dirs.ensure_private(target, hint="h") == target
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3
    private_dirs.ensure_private(target, hint="h")  # again: fine


@needs_root
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(ClusterError, match=rf"^refusing {theirs}: it is owned by uid {NOBODY}\b.*; do this$"):
        private_dirs.ensure_private(theirs, hint="do this")
    with pytest.raises(ClusterError, match=f"its parent {theirs} is owned by uid {NOBODY}"):
        private_dirs.ensure_private(theirs / "inside", hint="h")
    assert not (theirs / "inside").exists()


def test_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ClusterError, match=r"it is writable by others \(mode 0777\)"):
        private_dirs.check(shared, hint="h")
    with pytest.raises(ClusterError, match=rf"its parent {shared} is writable by others"):
        private_dirs.ensure_private(shared / "state", hint="h")
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot replace what is ours in it
    assert private_dirs.ensure_private(shared / "state", hint="h") == shared / "state"
    assert private_dirs.ensure_shared_safely(shared, hint="h") == shared


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ClusterError, match="it is a symlink"):
        private_dirs.check(tmp_path / "link", hint="h")
