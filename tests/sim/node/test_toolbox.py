"""The sim's stand-in for kdbgtest/debug-toolbox: the host's tools with their libraries, the missing ones
absent and listed. Each present tool is run from the image's root filesystem (chroot), so a missing library
fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kdbgtest.sim.node import images, toolbox

pytestmark = pytest.mark.sim

VERSION_FLAGS = {"strace": "-V", "ip": "-V", "dig": "-v"}  # the others take --version


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> images.Image:
    if os.geteuid() != 0 or shutil.which("busybox") is None:
        pytest.skip("building sim images needs root (file ownership) and busybox-static")
    return images.ImageStore(tmp_path_factory.mktemp("images")).resolve("kdbgtest/debug-toolbox:1")


def test_missing_tools_are_exactly_those_the_host_lacks(image: images.Image) -> None:
    lacking = [tool for tool in toolbox.TOOLS if toolbox._host_binary(tool) is None]
    assert toolbox.missing() == lacking
    assert (image.rootfs / toolbox.MISSING_FILE).read_text().split() == lacking
    for tool in lacking:
        assert not (image.rootfs / "usr" / "bin" / tool).exists()
        assert not (image.rootfs / "bin" / tool).is_symlink(), f"busybox's {tool} applet must not stand in"


@pytest.mark.parametrize("tool", toolbox.TOOLS)
def test_every_present_tool_runs_inside_the_image(image: images.Image, tool: str) -> None:
    if tool in toolbox.missing():
        pytest.skip(f"{tool} is not installed on this host, so the sim's toolbox lacks it")
    flag = VERSION_FLAGS.get(tool, "--version")
    done = subprocess.run(
        [shutil.which("chroot") or "/usr/sbin/chroot", str(image.rootfs), f"/usr/bin/{tool}", flag],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout or done.stderr


def test_image_has_a_shell_and_is_cached_by_host_binaries(image: images.Image, tmp_path: Path) -> None:
    assert image.cmd == ["sh"]
    assert (image.rootfs / "bin" / "sh").exists()
    again = images.ImageStore(image.rootfs.parents[2]).resolve("kdbgtest/debug-toolbox:other-tag")
    assert again.rootfs == image.rootfs and again.image_id == image.image_id
