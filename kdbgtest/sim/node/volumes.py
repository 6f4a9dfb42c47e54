"""Pod volumes as directories on the sim node, and the bind mounts that put them into containers.

emptyDir lives in the pod's directory; hostPath resolves INSIDE the sim node's root (symlinks included, as
`securejoin` does), never on the real host; configMap/secret/downwardAPI/projected volumes are files written
from the cluster state. Errors carry the kubelet's FailedMount wording.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbgtest.sim.node import command, idmap

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], dict[str, str] | None]
_MAX_LINKS = 40


class VolumeError(Exception):
    """A volume cannot be set up (event FailedMount; the pod stays ContainerCreating)."""


@dataclass(frozen=True)
class BindMount:
    source: Path
    destination: str
    read_only: bool


def secure_join(root: Path, path: str) -> Path:
    """`path` resolved inside `root`: `..` and symlinks (absolute or relative) cannot leave it."""
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            resolved = resolved[:-1]
            continue
        candidate = root.joinpath(*resolved, part)
        if candidate.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                raise VolumeError(f"too many levels of symbolic links resolving {path}")
            target = str(candidate.readlink())
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def prepare(pod: Obj, pod_dir: Path, node_root: Path, lookup: Lookup | None) -> dict[str, Path]:
    """Create every volume of the pod; returns volume name -> host path."""
    result: dict[str, Path] = {}
    for volume in pod.get("spec", {}).get("volumes") or []:
        result[volume["name"]] = _prepare_one(pod, volume, pod_dir, node_root, lookup)
    return result


def _prepare_one(pod: Obj, volume: Obj, pod_dir: Path, node_root: Path, lookup: Lookup | None) -> Path:
    name: str = volume["name"]
    if "hostPath" in volume:
        source: Obj = volume["hostPath"]
        return host_path(source, node_root, name)
    kind = next((k for k in _WRITERS if k in volume), None)
    if kind is None and "emptyDir" not in volume:
        raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : volume type not supported by the sim')
    target = pod_dir / "volumes" / (kind or "emptyDir") / name
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o777)
    if kind is not None:
        files = _WRITERS[kind](pod, volume[kind], lookup, name)
        for rel, data in files.items():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    idmap.shift_tree(target)  # owned by the node's root, as the kubelet's root owns them on a node
    return target


def host_path(source: Obj, node_root: Path, name: str) -> Path:
    """A hostPath inside the node root, with the `type` checks and creation of the kubelet."""
    path = source["path"]
    kind = source.get("type") or ""
    target = secure_join(node_root, path)
    fail = f'MountVolume.SetUp failed for volume "{name}" : hostPath type check failed: {path}'
    if kind == "DirectoryOrCreate":
        _make_dirs(node_root, target)
    elif kind == "FileOrCreate" and not target.exists():
        if not target.parent.is_dir():
            raise VolumeError(f"{fail} is not a file")
        target.touch(mode=0o644)
        idmap.shift(target)
    checks = {"Directory": (Path.is_dir, "directory"), "File": (Path.is_file, "file"),
              "DirectoryOrCreate": (Path.is_dir, "directory"), "FileOrCreate": (Path.is_file, "file"),
              "Socket": (Path.is_socket, "socket"), "CharDevice": (Path.is_char_device, "character device"),
              "BlockDevice": (Path.is_block_device, "block device")}  # fmt: skip
    if kind in checks and not checks[kind][0](target):
        raise VolumeError(f"{fail} is not a {checks[kind][1]}")
    if not kind and not target.exists():
        _make_dirs(node_root, target)  # as runc does for a missing bind source directory
    return target


def _make_dirs(node_root: Path, target: Path) -> None:
    """mkdir -p `target` inside the node root, the new directories owned by the node's root."""
    missing = [p for p in [target, *target.parents] if p.is_relative_to(node_root) and not p.exists()]
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    for path in missing:
        idmap.shift(path)


def mounts(container: Obj, volumes: dict[str, Path]) -> list[BindMount]:
    """The container's volumeMounts (with subPath) as bind mounts."""
    result = []
    for vm in container.get("volumeMounts") or []:
        if vm["name"] not in volumes:
            raise VolumeError(f'cannot find volume "{vm["name"]}" to mount into container "{container["name"]}"')
        source = volumes[vm["name"]]
        if vm.get("subPath"):
            source = secure_join(source, vm["subPath"])
            if not source.exists():
                source.mkdir(parents=True, exist_ok=True)
        result.append(BindMount(source, vm["mountPath"], bool(vm.get("readOnly"))))
    return result


def _items(data: dict[str, str], items: list[Obj] | None) -> dict[str, bytes]:
    if not items:
        return {k: v.encode() for k, v in data.items()}
    return {item["path"]: data[item["key"]].encode() for item in items if item["key"] in data}


def _object_files(kind: str) -> Callable[[Obj, Obj, Lookup | None, str], dict[str, bytes]]:
    def files(pod: Obj, source: Obj, lookup: Lookup | None, name: str) -> dict[str, bytes]:
        ref = source.get("name") or source.get("secretName", "")
        data = lookup(kind, pod["metadata"].get("namespace", "default"), ref) if lookup else None
        if data is None:
            if source.get("optional"):
                return {}
            singular = kind[:-1]
            raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {singular} "{ref}" not found')
        return _items(data, source.get("items"))

    return files


def _downward(pod: Obj, source: Obj, lookup: Lookup | None, name: str) -> dict[str, bytes]:
    return {
        item["path"]: command.field_value(pod, item["fieldRef"]["fieldPath"]).encode()
        for item in source.get("items") or []
        if "fieldRef" in item
    }


def _projected(pod: Obj, source: Obj, lookup: Lookup | None, name: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for part in source.get("sources") or []:
        if "serviceAccountToken" in part:
            token = base64.urlsafe_b64encode(b"kdbgtest-sim-token").decode()
            files[part["serviceAccountToken"].get("path", "token")] = token.encode()
        for kind, key in (("configMap", "configmaps"), ("secret", "secrets")):
            if kind in part:
                files.update(_object_files(key)(pod, {**part[kind], "optional": True}, lookup, name))
        if "downwardAPI" in part:
            files.update(_downward(pod, part["downwardAPI"], lookup, name))
    return files


_WRITERS: dict[str, Callable[[Obj, Obj, Lookup | None, str], dict[str, bytes]]] = {
    "configMap": _object_files("configmaps"),
    "secret": _object_files("secrets"),
    "downwardAPI": _downward,
    "projected": _projected,
}
