"""A pod container's spec + its image -> the runtime's ContainerConfig (what kubelet and containerd compute).

Namespaces follow the CRI: network/IPC/UTS from the pod sandbox (or the sim node's for hostNetwork/hostIPC);
PID new per container, the sandbox's with shareProcessNamespace, the node's with hostPID, the target
container's for an ephemeral container with `targetContainerName`.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdbgtest.sim.node import command, images, seccomp, security, spec, volumes

Obj = dict[str, Any]
# The runtime applies `linux.seccomp` once its ContainerConfig has a `seccomp` field (OCI format).
RUNTIME_HAS_SECCOMP = any(f.name == "seccomp" for f in dataclasses.fields(spec.ContainerConfig))


class TargetNotFound(Exception):
    """An ephemeral container's target is not running (the kubelet's `unable to find target container`)."""


@dataclass(frozen=True)
class Namespaces:
    """Where the pod's namespaces are: None = a new one; a /proc/PID/ns/KIND path to join."""

    network: str | None
    ipc: str | None
    uts: str | None
    pid: str | None  # the pod-wide PID namespace (shareProcessNamespace / hostPID), None = per container


def new_id() -> str:
    """A container id as containerd makes them: 64 hex digits."""
    return secrets.token_hex(32)


def pid_mode_is_container(pod: Obj) -> bool:
    pod_spec = pod.get("spec", {})
    return not pod_spec.get("hostPID") and not pod_spec.get("shareProcessNamespace")


def build(
    pod: Obj,
    container: Obj,
    image: images.Image,
    *,
    cid: str,
    namespaces: Namespaces,
    pod_volumes: dict[str, Path],
    target_pid: int | None = None,
    lookup: command.Lookup | None = None,
    hostname: str = "",
    etc_hosts: str | None = None,
    termination_log: Path | None = None,
) -> spec.ContainerConfig:
    """The runtime config; raises ContainerConfigError, ConfigError, NoCommand or VolumeError."""
    ident = security.resolve(pod, container, image.user, image.rootfs)
    env = command.environment(pod, container, image.env, lookup=lookup, hostname=hostname)
    argv = command.argv(container, image.entrypoint, image.cmd, env)
    binds = volumes.mounts(container, pod_volumes)
    if termination_log is not None and container.get("terminationMessagePath"):
        binds.append(volumes.BindMount(termination_log, container["terminationMessagePath"], read_only=False))
    ns: dict[str, str | None] = {"network": namespaces.network, "ipc": namespaces.ipc, "uts": namespaces.uts}
    ns["pid"] = f"/proc/{target_pid}/ns/pid" if target_pid is not None else namespaces.pid
    cfg = spec.ContainerConfig(
        id=cid,
        rootfs=image.rootfs,
        args=argv,
        env=[f"{k}={v}" for k, v in env.items()],
        cwd=container.get("workingDir") or image.workdir or "/",
        tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")),
        uid=ident.uid,
        gid=ident.gid,
        additional_gids=ident.additional_gids,
        capabilities=ident.capabilities,
        privileged=ident.privileged,
        no_new_privileges=ident.no_new_privileges,
        readonly_rootfs=ident.readonly_rootfs,
        mounts=[_mount(b) for b in binds],
        namespaces=ns,
        hostname=hostname or None,
        etc_hosts=etc_hosts,
        etc_resolv=_resolv(pod),
    )
    if not RUNTIME_HAS_SECCOMP:
        return cfg
    extra: dict[str, Any] = {"seccomp": seccomp.oci(pod, container, ident.privileged)}
    return dataclasses.replace(cfg, **extra)


def _mount(bind: volumes.BindMount) -> spec.Mount:
    return spec.Mount(str(bind.source), bind.destination, "bind", ["rbind", "ro" if bind.read_only else "rw"])


def _resolv(pod: Obj) -> str:
    namespace = pod.get("metadata", {}).get("namespace", "default")
    return (
        f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )


def hosts_file(pod: Obj, pod_ip: str, host_network: bool) -> str:
    """The kubelet-managed /etc/hosts."""
    name = pod.get("metadata", {}).get("name", "")
    if host_network:
        return "# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n"
    return (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        f"{pod_ip}\t{name}\n"
    )
