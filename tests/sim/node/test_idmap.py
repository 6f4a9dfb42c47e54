"""Ownership shifted into the nodes' uid range: what a node's root must own, it owns (real chown, as root)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kdbgtest.sim.node import idmap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to other uids needs root")


def test_ids_inside_the_range_move_and_others_stay() -> None:
    assert [idmap.host_id(i) for i in (0, 1000, 65535)] == [idmap.HOST_BASE, idmap.HOST_BASE + 1000,
                                                           idmap.HOST_BASE + 65535]  # fmt: skip
    assert idmap.host_id(65536) == 65536 and idmap.host_id(idmap.HOST_BASE) == idmap.HOST_BASE
    mapping = idmap.oci_mappings()["uidMappings"][0]
    assert (mapping["containerID"], mapping["hostID"], mapping["size"]) == (0, idmap.HOST_BASE, idmap.SIZE)


def test_shift_tree_keeps_relative_owners_modes_and_links(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "home" / "user").mkdir(parents=True)
    os.chown(root / "home" / "user", 1000, 1000)
    tool = root / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o4755)  # chown clears set-uid; shift must put it back
    (root / "link").symlink_to("/nowhere")  # a dangling link is changed itself, never followed
    idmap.shift_tree(root)
    idmap.shift_tree(root)  # idempotent: already shifted ids stay
    owners = {p.name: (os.lstat(p).st_uid, os.lstat(p).st_gid) for p in [root, *root.rglob("*")]}
    base = idmap.HOST_BASE
    assert owners == {"rootfs": (base, base), "home": (base, base), "user": (base + 1000, base + 1000),
                      "tool": (base, base), "link": (base, base)}  # fmt: skip
    assert stat.S_IMODE(tool.stat().st_mode) == 0o4755
