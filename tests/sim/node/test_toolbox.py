"""The sim's kdbgtest/debug-toolbox is the archive `kdbgtest images build toolbox` made: unpacked into the image
cache once per image ID, every promised tool runs from its root filesystem (chroot, so a missing library
fails), and an image whose archive is not built fails like an unreachable registry, naming the fix."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kdbgtest.imagebuild import archive, recipes
from kdbgtest.imagebuild import build as image_build
from kdbgtest.sim.node import backoff, images, pulling, toolbox

pytestmark = pytest.mark.sim

VERSION_FLAGS = {"strace": "-V", "ip": "-V", "dig": "-v", "grpcurl": "-version", "iftop": "-h"}
TOOLBOX = recipes.RECIPES["toolbox"]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> images.Image:
    if os.geteuid() != 0:
        pytest.skip("unpacking sim images needs root (file ownership)")
    if not image_build.archive_path(TOOLBOX).is_file():
        pytest.skip("the toolbox archive is not built here; run `kdbgtest images build toolbox` (./dev does)")
    return images.ImageStore(tmp_path_factory.mktemp("images")).resolve("kdbgtest/debug-toolbox:1")


def test_the_image_is_the_built_archive(image: images.Image) -> None:
    loaded = archive.read(image_build.archive_path(TOOLBOX))
    assert image.image_id == loaded.image_id
    assert image.cmd == ["bash"] and image.entrypoint == []
    versions = (image.rootfs / "etc" / "kdbgtest-image-versions").read_text()
    assert "deb tcpdump=" in versions and "go github.com/fullstorydev/grpcurl/cmd/grpcurl@v" in versions
    assert (image.rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777  # modes survive the import


@pytest.mark.parametrize("tool", toolbox.TOOLS)
def test_every_tool_runs_inside_the_image(image: images.Image, tool: str) -> None:
    flag = VERSION_FLAGS.get(tool, "--version")
    done = subprocess.run(
        [shutil.which("chroot") or "/usr/sbin/chroot", str(image.rootfs), "/bin/sh", "-c", f'exec {tool} {flag}'],
        capture_output=True, text=True, timeout=30, env={"PATH": images.DEFAULT_PATH[5:]}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "error while loading shared libraries" not in done.stderr
    assert done.stdout or done.stderr


def test_another_tag_is_the_same_image(image: images.Image) -> None:
    again = images.ImageStore(image.rootfs.parents[2]).resolve("kdbgtest/debug-toolbox:other-tag")
    assert again.rootfs == image.rootfs and again.image_id == image.image_id


def test_an_unbuilt_image_fails_like_a_pull_naming_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(image_build.ARCHIVES_ENV, str(tmp_path / "none"))
    assert toolbox.missing() == list(recipes.RECIPES)
    with pytest.raises(images.ImageUnavailable) as caught:
        images.ImageStore(tmp_path / "images").resolve("kdbgtest/redis:1")
    assert str(caught.value).startswith('failed to pull and unpack image "docker.io/kdbgtest/redis:1": ')
    assert str(caught.value).endswith("build it: kdbgtest images build redis")


def test_built_archives_are_on_the_node_before_any_pull(image: images.Image, tmp_path: Path) -> None:
    """As after `ctr images import` on kind or the local cluster: pull policy Never runs the toolbox, and the
    kubelet's event says it is already present; another tag of it is not on the node."""
    puller = pulling.Puller(images.ImageStore(tmp_path), backoff.Backoff(), 1.0, imported=toolbox.imported)
    events: list[tuple[str, str, str]] = []
    found = asyncio.run(puller.ensure("kdbgtest/debug-toolbox:1", "Never", "pod-uid", lambda *e: events.append(e)))
    assert found.image_id == image.image_id
    assert events == [("Normal", "Pulled", 'Container image "kdbgtest/debug-toolbox:1" already present on machine')]
    with pytest.raises(pulling.PullFailed) as refused:
        asyncio.run(puller.ensure("kdbgtest/debug-toolbox:2", "Never", "pod-uid", lambda *e: events.append(e)))
    assert refused.value.reason == "ErrImageNeverPull"
    assert not toolbox.imported("kdbgtest/debug-toolbox@sha256:" + "0" * 64)
