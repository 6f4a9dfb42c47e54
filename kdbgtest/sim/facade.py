"""What the rest of kdbgtest may use of the sim besides `SimCluster`, `SimConfig` and `SimStatus` (`kdbgtest.sim`).

The sim's insides (`kdbgtest.sim.apiserver`, `kdbgtest.sim.node`) are imported only from within `kdbgtest.sim`;
an import-linter contract (pyproject.toml, run by `./dev lint`) holds everyone else to this module. Its users:
`cluster/` (to recognise a sim's API server and to know whether its toolbox image is complete) and, by the one
documented exception to "the sim and the local cluster import only `base`", `local/images.py` (the local cluster
offers the sim's images, built by the same code, so a scenario sees the same files on both clusters).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kdbgtest.sim.apiserver import discovery
from kdbgtest.sim.node import images, toolbox

GIT_COMMIT = discovery.GIT_COMMIT  # the sim's /version gitCommit: tells the sim from a real API server
DEFAULT_PATH = images.DEFAULT_PATH  # the PATH an image's config sets


def toolbox_missing() -> list[str]:
    """The images `kdbgtest images build` has not built yet (the toolbox and its fixture images)."""
    return toolbox.missing()


def populate_busybox(root: Path) -> None:
    """Make `root` the busybox image's root filesystem (Debian's static busybox, a link per applet)."""
    images.populate_busybox(root)


def single_binary(source: str, target: str, dirs: tuple[str, ...]) -> Callable[[Path], None]:
    """A root filesystem builder: the C program `kdbgtest/sim/images/<source>` compiled statically to `/<target>`,
    plus the empty directories `dirs` (the distroless app and the pause image)."""
    return images._single_binary(source, target, dirs)
