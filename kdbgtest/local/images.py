"""The images a local cluster offers, built from local binaries as docker-save archives and imported into containerd.

The same images the offline sim offers: `busybox:1.36` and `busybox:1.37` (Debian's static busybox with a link per
applet), `kdbgtest/distroless-app:1` (one static binary, no shell) and the pause image under the name containerd's
`pinned_images.sandbox` uses. The root filesystems are made by the sim's image builders, so a scenario sees the
same files on both clusters. Archives are deterministic (uid 0, mtime 0) and written in the docker-save layout
that `ctr images import`, `docker load` and `kind load image-archive` accept.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.sim import facade as sim_images  # the one allowed import of the sim (see that module)

DEFAULT_PATH = sim_images.DEFAULT_PATH


@dataclass(frozen=True)
class ImageSpec:
    """One image: the name it is imported under, how its root filesystem is made, and its config."""

    repo_tag: str
    populate: Callable[[Path], None]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""

    @property
    def file_name(self) -> str:
        return self.repo_tag.replace("/", "_").replace(":", "_") + ".tar"


def specs(pause_tag: str) -> tuple[ImageSpec, ...]:
    """Every image a local cluster imports; `pause_tag` is the sandbox image's tag (e.g. 3.10.1)."""
    distroless = sim_images.single_binary("distroless_app.c", "app", ("proc", "sys", "dev", "tmp", "etc"))
    pause = sim_images.single_binary("pause.c", "pause", ("proc", "sys", "dev", "etc"))
    return (
        ImageSpec("docker.io/library/busybox:1.36", sim_images.populate_busybox, cmd=("sh",)),
        ImageSpec("docker.io/library/busybox:1.37", sim_images.populate_busybox, cmd=("sh",)),
        ImageSpec("docker.io/kdbgtest/distroless-app:1", distroless, entrypoint=("/app",)),
        ImageSpec(f"registry.k8s.io/pause:{pause_tag}", pause, entrypoint=("/pause",), user="65535:65535"),
    )


def build_archives(directory: Path, pause_tag: str) -> list[Path]:
    """Write one archive per image into `directory` (reused when present) and return their paths, followed by
    the toolbox and fixture archives `kdbgtest images build` made (imported as they are, when present)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs(pause_tag):
        target = directory / spec.file_name
        if not target.is_file():
            _write_archive(spec, target)
        paths.append(target)
    from kdbgtest.imagebuild import build as image_build
    from kdbgtest.imagebuild import recipes

    built = (image_build.archive_path(recipe) for recipe in recipes.RECIPES.values())
    return paths + [path for path in built if path.is_file()]


def _write_archive(spec: ImageSpec, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="kdbgtest-image-") as work:
        root = Path(work) / "rootfs"
        root.mkdir()
        spec.populate(root)
        # Each tag gets content of its own: two tags of one image ID would make the kubelet report either name.
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc" / "kdbgtest-image").write_text(spec.repo_tag + "\n")
        layer = _layer_tar(root)
    config = {
        "Env": [DEFAULT_PATH],
        "Entrypoint": list(spec.entrypoint) or None,
        "Cmd": list(spec.cmd) or None,
        "User": spec.user,
        "WorkingDir": "",
    }
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    image = {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "created": "1970-01-01T00:00:00Z",
    }
    config_bytes = json.dumps(image, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [spec.repo_tag], "Layers": [layer_name]}]
    partial = target.with_name(f".{target.name}.partial")
    with tarfile.open(partial, "w") as archive:
        _add(archive, config_name, config_bytes)
        _add(archive, layer_name, layer)
        _add(archive, "manifest.json", json.dumps(manifest).encode())
    partial.replace(target)


def _layer_tar(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as layer:
        for path in sorted(root.rglob("*")):
            info = layer.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.mtime = 0
            info.uname = info.gname = ""
            if info.isfile():
                with path.open("rb") as handle:
                    layer.addfile(info, handle)
            else:
                layer.addfile(info)
    return buffer.getvalue()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    archive.addfile(info, io.BytesIO(data))
