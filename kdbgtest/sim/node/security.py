"""securityContext (pod and container) -> a container process's identity and privileges (kubelet+containerd).

Capabilities start from containerd's default set; `add`/`drop` apply with containerd's rules (ALL first, then
individual names). `privileged` grants every capability and keeps privilege escalation possible.
`runAsNonRoot` is checked as the kubelet's `verifyRunAsNonRoot` does, with its messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.sim.node import spec

Obj = dict[str, Any]

# containerd's default set, and every capability in bit order: one definition, in the runtime's spec module.
DEFAULT_CAPS = spec.DEFAULT_CAPABILITIES
_ALL_CAPS = spec.ALL_CAPABILITIES


class ContainerConfigError(Exception):
    """The container cannot be created from its spec (waiting reason CreateContainerConfigError)."""


@dataclass(frozen=True)
class Identity:
    """What the runtime needs to start the container's process."""

    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=lambda: list(DEFAULT_CAPS))
    privileged: bool = False
    no_new_privileges: bool = False
    readonly_rootfs: bool = False


def all_capabilities() -> list[str]:
    """Every capability this process may grant (containerd's `cap.Current()`: the bounding set)."""
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        last = len(_ALL_CAPS) - 1
    bounding = (1 << (last + 1)) - 1
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapBnd:"):
                bounding = int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return [cap for bit, cap in enumerate(_ALL_CAPS[: last + 1]) if bounding >> bit & 1]


def effective(pod: Obj, container: Obj) -> Obj:
    """The container's securityContext with the pod-level user/group/nonroot settings filled in."""
    pod_sc = pod.get("spec", {}).get("securityContext") or {}
    sc = dict(container.get("securityContext") or {})
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot"):
        if sc.get(key) is None and pod_sc.get(key) is not None:
            sc[key] = pod_sc[key]
    return sc


def resolve(pod: Obj, container: Obj, image_user: str, rootfs: Path) -> Identity:
    """Compute the identity, or raise ContainerConfigError with the kubelet's message."""
    sc = effective(pod, container)
    image_uid, image_gid, username = _image_user(image_user, rootfs)
    _verify_non_root(pod, container, sc, image_uid, username)
    if image_uid is None:  # a named user: the runtime resolves it in the rootfs
        image_uid, named_gid = resolve_name(image_user, rootfs)
        image_gid = named_gid if image_gid is None else image_gid
    uid = sc["runAsUser"] if sc.get("runAsUser") is not None else image_uid
    gid = sc["runAsGroup"] if sc.get("runAsGroup") is not None else (image_gid or 0)
    privileged = bool(sc.get("privileged"))
    return Identity(
        uid=uid,
        gid=gid,
        additional_gids=_supplemental_groups(pod),
        capabilities=all_capabilities() if privileged else capabilities(sc.get("capabilities")),
        privileged=privileged,
        no_new_privileges=not privileged and sc.get("allowPrivilegeEscalation") is False,
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
    )


def capabilities(caps: Obj | None) -> list[str]:
    """containerd's add/drop over its default set ("ALL" first, then single names)."""
    if not caps:
        return list(DEFAULT_CAPS)
    add = [_cap_name(c) for c in caps.get("add") or []]
    drop = [_cap_name(c) for c in caps.get("drop") or []]
    result = list(DEFAULT_CAPS)
    if "CAP_ALL" in add:
        result = all_capabilities()
    if "CAP_ALL" in drop:
        result = []
    for cap in add:
        if cap != "CAP_ALL" and cap not in result:
            result.append(cap)
    return [c for c in result if c not in drop]


def pod_ref(pod: Obj) -> str:
    """The kubelet's `format.Pod`: NAME_NAMESPACE(UID)."""
    meta = pod.get("metadata", {})
    return f"{meta.get('name')}_{meta.get('namespace')}({meta.get('uid', '')})"


def _cap_name(name: str) -> str:
    upper = name.upper()
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def _verify_non_root(pod: Obj, container: Obj, sc: Obj, image_uid: int | None, username: str) -> None:
    if not sc.get("runAsNonRoot"):
        return
    where = f"(pod: {_quote(pod_ref(pod))}, container: {container['name']})"
    if sc.get("runAsUser") is not None:
        if sc["runAsUser"] == 0:
            raise ContainerConfigError(f"container's runAsUser breaks non-root policy {where}")
        return
    if image_uid is None and username:
        raise ContainerConfigError(
            f"container has runAsNonRoot and image has non-numeric user ({username}), "
            f"cannot verify user is non-root {where}"
        )
    if image_uid == 0:
        raise ContainerConfigError(f"container has runAsNonRoot and image will run as root {where}")


def _image_user(user: str, rootfs: Path) -> tuple[int | None, int | None, str]:
    """(uid, gid, username) from an image's USER: `uid`, `uid:gid`, `name` ("" means root)."""
    if not user:
        return 0, 0, ""
    name, _, group = user.partition(":")
    gid = int(group) if group.isdigit() else None
    if name.isdigit():
        return int(name), gid, ""
    entry = _passwd(rootfs).get(name)
    # The kubelet only sees the image config: a named user's uid is unknown to its non-root check.
    return None, gid if gid is not None else (entry[1] if entry else None), name


def resolve_name(user: str, rootfs: Path) -> tuple[int, int]:
    """The runtime's resolution of a named image user through the rootfs' /etc/passwd (0, 0 if unknown)."""
    name = user.partition(":")[0]
    return _passwd(rootfs).get(name, (0, 0))


def _passwd(rootfs: Path) -> dict[str, tuple[int, int]]:
    try:
        lines = (rootfs / "etc" / "passwd").read_text().splitlines()
    except OSError:
        return {}
    users: dict[str, tuple[int, int]] = {}
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
            users[parts[0]] = (int(parts[2]), int(parts[3]))
    return users


def _supplemental_groups(pod: Obj) -> list[int]:
    pod_sc = pod.get("spec", {}).get("securityContext") or {}
    groups = [int(g) for g in pod_sc.get("supplementalGroups") or []]
    if pod_sc.get("fsGroup") is not None and int(pod_sc["fsGroup"]) not in groups:
        groups.append(int(pod_sc["fsGroup"]))
    return groups


def _quote(text: str) -> str:
    """Go's %q for plain ASCII text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
