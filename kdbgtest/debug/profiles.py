"""kubectl debug's profiles (`--profile`), applied to pods as JSON objects as kubectl 1.37 does (profiles.go).

A profile edits the first container of the pod whose name matches (init, then regular, then ephemeral
containers), plus pod-level fields that depend on the debugging style:

- legacy: ephemeral nothing; copy: labels removed (keep flags ignored); node: host namespaces and /host.
- general: ephemeral and copy + SYS_PTRACE; copy removals and sharing; node: securityContext cleared, host
  namespaces and /host.
- baseline: securityContext cleared (every style); copy removals and sharing.
- restricted: runAsNonRoot, drop ALL, no privilege escalation, RuntimeDefault seccomp (every style); copy
  removals and sharing.
- netadmin: + NET_ADMIN, NET_RAW (every style); copy removals and sharing; node: host namespaces.
- sysadmin: privileged (every style); copy removals and sharing; node: host namespaces and /host.

"Removals" are labels, annotations and liveness/readiness/startup probes (each unless its `--keep-*` flag),
and init containers only with `--keep-init-containers=false`. "Share processes" sets `shareProcessNamespace`
to true only when it is unset. kubectl 1.37's default profile is `general`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from kdbgtest.base.k8s import Obj

Style = Literal["ephemeral", "copy", "node"]
DEFAULT_PROFILE = "general"
HOST_ROOT = "host-root"


@dataclass(frozen=True)
class KeepFlags:
    """The `--keep-*` flags with kubectl's defaults."""

    labels: bool = False
    annotations: bool = False
    liveness: bool = False
    readiness: bool = False
    startup: bool = False
    init_containers: bool = True


def apply(pod: Obj, container: str, style: Style, profile: str, keep: KeepFlags) -> None:
    """Apply `profile` to `pod` (in place) for the debug container named `container`."""
    try:
        step = _PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown profile: {profile}") from None
    step(pod, container, style, keep)


def _legacy(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    if style == "node":
        _mount_root(pod, name)
        _host_namespaces(pod)
    elif style == "copy":
        pod["metadata"].pop("labels", None)


def _general(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    if style == "node":
        _mount_root(pod, name)
        _edit(pod, name, lambda c: c.pop("securityContext", None))
        _host_namespaces(pod)
    elif style == "copy":
        _removals(pod, keep)
        _add_capabilities(pod, name, "SYS_PTRACE")
        _share_processes(pod)
    else:
        _add_capabilities(pod, name, "SYS_PTRACE")


def _baseline(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    _edit(pod, name, lambda c: c.pop("securityContext", None))
    if style == "copy":
        _removals(pod, keep)
        _share_processes(pod)


def _restricted(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    def restrict(c: Obj) -> None:
        c["securityContext"] = {
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
        }

    _edit(pod, name, restrict)
    if style == "copy":
        _removals(pod, keep)
        _share_processes(pod)


def _netadmin(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    _add_capabilities(pod, name, "NET_ADMIN", "NET_RAW")
    _pod_level(pod, style, keep)


def _sysadmin(pod: Obj, name: str, style: Style, keep: KeepFlags) -> None:
    _edit(pod, name, lambda c: c.setdefault("securityContext", {}).__setitem__("privileged", True))
    _pod_level(pod, style, keep)
    if style == "node":
        _mount_root(pod, name)


_PROFILES: dict[str, Callable[[Obj, str, Style, KeepFlags], None]] = {
    "legacy": _legacy,
    "general": _general,
    "baseline": _baseline,
    "restricted": _restricted,
    "netadmin": _netadmin,
    "sysadmin": _sysadmin,
}


# -- the building blocks (profiles.go helpers) -----------------------------------------------------------


def _pod_level(pod: Obj, style: Style, keep: KeepFlags) -> None:
    """What netadmin and sysadmin do to the pod: host namespaces on a node, removals and sharing on a copy."""
    if style == "node":
        _host_namespaces(pod)
    elif style == "copy":
        _removals(pod, keep)
        _share_processes(pod)


def _containers(pod: Obj, kinds: tuple[str, ...]) -> Iterator[Obj]:
    spec = pod["spec"]
    for kind in kinds:
        yield from spec.get(kind) or []


ALL_KINDS = ("initContainers", "containers", "ephemeralContainers")


def _edit(pod: Obj, name: str, change: Callable[[Obj], object], kinds: tuple[str, ...] = ALL_KINDS) -> None:
    """Apply `change` to the first container named `name` (podutils.VisitContainers order)."""
    for container in _containers(pod, kinds):
        if container.get("name") == name:
            change(container)
            return


def _add_capabilities(pod: Obj, name: str, *capabilities: str) -> None:
    def add(c: Obj) -> None:
        caps = c.setdefault("securityContext", {}).setdefault("capabilities", {})
        caps["add"] = [*(caps.get("add") or []), *capabilities]

    _edit(pod, name, add)


def _mount_root(pod: Obj, name: str) -> None:
    """The node's root at /host: a `host-root` hostPath volume, mounted only into a regular container."""
    spec = pod["spec"]
    spec["volumes"] = [*(spec.get("volumes") or []), {"name": HOST_ROOT, "hostPath": {"path": "/"}}]

    def mount(c: Obj) -> None:
        c["volumeMounts"] = [*(c.get("volumeMounts") or []), {"mountPath": "/host", "name": HOST_ROOT}]

    _edit(pod, name, mount, ("containers",))


def _host_namespaces(pod: Obj) -> None:
    pod["spec"].update(hostNetwork=True, hostPID=True, hostIPC=True)


def _share_processes(pod: Obj) -> None:
    pod["spec"].setdefault("shareProcessNamespace", True)


def _removals(pod: Obj, keep: KeepFlags) -> None:
    meta, spec = pod["metadata"], pod["spec"]
    if not keep.labels:
        meta.pop("labels", None)
    if not keep.annotations:
        meta.pop("annotations", None)
    for container in spec.get("containers") or []:
        for probe, kept in (
            ("livenessProbe", keep.liveness),
            ("readinessProbe", keep.readiness),
            ("startupProbe", keep.startup),
        ):
            if not kept:
                container.pop(probe, None)
    if not keep.init_containers:
        spec.pop("initContainers", None)
