"""Docker-save image archives of one layer (what `docker load`, `kind load image-archive` and `ctr images import`
accept), written from a root filesystem directory deterministically (mtime 0, no user names), and read back.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Config:
    """The parts of an OCI image config kdbgtest sets."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    env: tuple[str, ...] = (DEFAULT_PATH,)
    workdir: str = ""


def write(root: Path, target: Path, repo_tag: str, config: Config) -> str:
    """Write `root` as the one layer of image `repo_tag` into `target` (atomically); returns the image ID."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as layer:
        diff_id = _layer(root, layer)
        image = {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": list(config.env),
                "Entrypoint": list(config.entrypoint) or None,
                "Cmd": list(config.cmd) or None,
                "User": config.user,
                "WorkingDir": config.workdir,
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "created": "1970-01-01T00:00:00Z",
        }
        config_bytes = json.dumps(image, sort_keys=True).encode()
        image_id = hashlib.sha256(config_bytes).hexdigest()
        layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
        manifest = [{"Config": f"{image_id}.json", "RepoTags": [repo_tag], "Layers": [layer_name]}]
        partial = target.with_name(f".{target.name}.partial")
        with tarfile.open(partial, "w") as archive:
            _add(archive, f"{image_id}.json", config_bytes)
            layer.seek(0, os.SEEK_END)
            info = _info(layer_name, layer.tell())
            layer.seek(0)
            archive.addfile(info, layer)
            _add(archive, "manifest.json", json.dumps(manifest).encode())
        partial.replace(target)
    return f"sha256:{image_id}"


def _layer(root: Path, out: Any) -> str:
    """Tar `root` (sorted, mtime 0) into the open file `out`; returns its diff ID."""
    as_root = os.geteuid() == 0
    with tarfile.open(fileobj=out, mode="w") as layer:
        for path in sorted(root.rglob("*")):
            info = layer.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.mtime = 0
            info.uname = info.gname = ""
            if not as_root:
                info.uid = info.gid = 0  # an unprivileged build could not give files their owners
            if info.isfile():
                with path.open("rb") as handle:
                    layer.addfile(info, handle)
            else:
                layer.addfile(info)
    out.seek(0)
    sha = hashlib.sha256()
    while chunk := out.read(1 << 20):
        sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    return info


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    archive.addfile(_info(name, len(data)), io.BytesIO(data))


@dataclass(frozen=True)
class Loaded:
    """An archive's image: its ID, tag and config."""

    image_id: str
    repo_tag: str
    config: Config


def read(path: Path) -> Loaded:
    """The image ID, tag and config of the archive at `path` (one image, as `write` makes)."""
    with tarfile.open(path) as archive:
        manifest = json.loads(_member(archive, "manifest.json"))[0]
        image = json.loads(_member(archive, manifest["Config"]))
    c = image["config"]
    config = Config(
        tuple(c.get("Entrypoint") or ()), tuple(c.get("Cmd") or ()), c.get("User", ""),
        tuple(c.get("Env") or ()), c.get("WorkingDir", ""),
    )  # fmt: skip
    return Loaded("sha256:" + manifest["Config"].removesuffix(".json"), manifest["RepoTags"][0], config)


def extract(path: Path, root: Path) -> None:
    """Unpack the one layer of the archive at `path` into the directory `root` (owners and modes kept)."""
    with tarfile.open(path) as archive:
        manifest = json.loads(_member(archive, "manifest.json"))[0]
        member = archive.getmember(manifest["Layers"][0])
        handle = archive.extractfile(member)
        assert handle is not None
        with tarfile.open(fileobj=handle, mode="r:") as layer:
            layer.extractall(root, filter=_inside_only)


def _inside_only(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's `tar` filter (refusing absolute paths and anything landing outside `dest`) with the modes
    kept: /tmp stays 1777 and set-uid programs stay set-uid."""
    return tarfile.tar_filter(member, dest).replace(mode=member.mode, deep=False)


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(name)
    assert handle is not None
    return handle.read()
