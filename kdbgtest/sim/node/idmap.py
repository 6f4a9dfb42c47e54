"""The user namespace of sim nodes: uid/gid N inside a node is uid/gid `HOST_BASE + N` on the real host.

Root in a node (and every capability a privileged pod holds) counts only inside the node's user namespace; for
the host kernel it is an unprivileged uid that owns nothing outside the node (threat model: sandbox.md). Files a
node's containers must own (the node's root, the built-in images, a container's writable layer, volumes, /etc
files) are `shift`ed into the range when the sim creates them; a file left owned by host root shows as
`nobody` (65534) inside and can only be read, as its mode allows.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

HOST_BASE = 1_000_000_000  # far above any real account, below 2**31 (tools that keep uids signed)
SIZE = 65536  # uids 0..65535 inside: root, the usual users, nobody (65534) and the pause user (65535)


def host_id(inside: int) -> int:
    """The host uid/gid of uid/gid `inside` of a node (ids already in the range stay as they are)."""
    return HOST_BASE + inside if 0 <= inside < SIZE else inside


def oci_mappings() -> dict[str, Any]:
    """`linux.uidMappings` and `linux.gidMappings` of a container in a node's user namespace."""
    mapping = [{"containerID": 0, "hostID": HOST_BASE, "size": SIZE}]
    return {"uidMappings": mapping, "gidMappings": list(mapping)}


def shift(path: Path) -> None:
    """Give `path` (not following a symlink) the host ids of its current owner and group, keeping its mode
    (chown clears set-uid/set-gid bits)."""
    st = os.lstat(path)
    uid, gid = host_id(st.st_uid), host_id(st.st_gid)
    if (uid, gid) == (st.st_uid, st.st_gid):
        return
    os.lchown(path, uid, gid)
    if not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
        path.chmod(stat.S_IMODE(st.st_mode))


def shift_tree(root: Path) -> None:
    """`shift` `root` and everything below it (not crossing into other file systems)."""
    device = os.lstat(root).st_dev
    shift(root)
    for current, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            shift(Path(current, name))
        dirs[:] = [d for d in dirs if os.lstat(Path(current, d)).st_dev == device]
