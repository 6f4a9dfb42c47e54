"""Image references, built-in images, mapped root filesystems, pull errors (fast; needs busybox and gcc)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kdbgtest.sim.node import images
from kdbgtest.sim.node.images import ImageStore, ImageUnavailable, InvalidImageName


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox:1.36", "docker.io/library/busybox:1.36"),
        ("kdbgtest/distroless-app", "docker.io/kdbgtest/distroless-app:latest"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("localhost:5000/team/app:v2", "localhost:5000/team/app:v2"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64),
    ],
)
def test_references_are_normalized_like_containerd(given: str, normalized: str) -> None:
    assert str(images.parse_reference(given)) == normalized


@pytest.mark.parametrize("bad", ["", "Busybox", "busybox:", "a//b", "busybox:-x"])
def test_invalid_references_are_invalid_image_names(bad: str) -> None:
    with pytest.raises(InvalidImageName, match="invalid reference format"):
        images.parse_reference(bad)


def _store(tmp_path: Path, **kwargs: object) -> ImageStore:
    missing = [tool for tool in ("busybox", "gcc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"building the built-in images needs {', '.join(missing)}")
    return ImageStore(tmp_path / "cache", **kwargs)  # type: ignore[arg-type]


def test_busybox_image_has_applets_users_and_is_cached(tmp_path: Path) -> None:
    image = _store(tmp_path).resolve("busybox:1.36")
    assert (image.ref, image.cmd, image.entrypoint) == ("docker.io/library/busybox:1.36", ["sh"], [])
    assert (image.rootfs / "bin" / "sh").resolve() == image.rootfs / "bin" / "busybox"
    assert (image.rootfs / "bin" / "wget").is_symlink() and (image.rootfs / "bin" / "ps").is_symlink()
    passwd = (image.rootfs / "etc" / "passwd").read_text()
    assert "root:x:0:0:" in passwd and ":1000:1000:" in passwd and "nobody:x:65534:65534:" in passwd
    again = _store(tmp_path).resolve("busybox")  # a new store over the same cache: no rebuild
    assert (again.image_id, again.rootfs) == (image.image_id, image.rootfs)
    assert image.image_id.startswith("sha256:") and len(image.image_id) == 71


def test_distroless_and_pause_images_hold_only_their_static_binary(tmp_path: Path) -> None:
    store = _store(tmp_path)
    app = store.resolve("kdbgtest/distroless-app:v1")
    assert app.entrypoint == ["/app"] and app.cmd == []
    assert [p.name for p in app.rootfs.rglob("*") if not p.is_dir()] == ["app"]
    assert b"GLIBC_" not in (app.rootfs / "app").read_bytes()[:64] and (app.rootfs / "app").stat().st_mode & 0o111
    pause = store.resolve("registry.k8s.io/pause:3.10")
    assert [p.name for p in pause.rootfs.rglob("*") if not p.is_dir()] == ["pause"]
    assert pause.user == "65535:65535"


def test_unknown_image_fails_like_a_pull(tmp_path: Path) -> None:
    with pytest.raises(ImageUnavailable) as caught:
        ImageStore(tmp_path / "cache").resolve("nginx:1.25")
    assert str(caught.value) == (
        'failed to pull and unpack image "docker.io/library/nginx:1.25": '
        "kdbgtest sim cannot provide this image offline; map a root filesystem directory to it "
        "(see docs: KDBGTEST_SIM_IMAGES=REF=DIR)"
    )


def test_mapped_root_filesystems_from_argument_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rootfs = tmp_path / "nginx-root"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "bin" / "sh").write_text("")
    monkeypatch.setenv(images.ENV_VAR, f"example.com/tools=/nonexistent,nginx:1.25={rootfs}")
    store = ImageStore(tmp_path / "cache", mapped={"quay.io/x/y": rootfs})
    nginx = store.resolve("docker.io/library/nginx:1.25")
    assert (nginx.rootfs, nginx.cmd) == (rootfs, ["sh"])
    assert store.resolve("quay.io/x/y:any-tag").rootfs == rootfs  # mapped without a tag: every tag
    with pytest.raises(ImageUnavailable, match=r"nginx:1\.26"):  # mapped with a tag: that tag only
        store.resolve("nginx:1.26")
    with pytest.raises(ImageUnavailable, match="is not a directory"):
        store.resolve("example.com/tools:v1")
    monkeypatch.setenv(images.ENV_VAR, "no-equals-sign")
    with pytest.raises(images.KdbgtestError, match="KDBGTEST_SIM_IMAGES"):
        ImageStore(tmp_path / "cache")
