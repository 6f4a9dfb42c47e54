"""seccompProfile -> the OCI `linux.seccomp` of a container.

RuntimeDefault is containerd's default profile, approximated: containerd allows a long list of syscalls and
returns EPERM for the rest; the sim allows everything but the syscalls that profile leaves out for a
container without extra capabilities (module loading, kexec, keyrings, mount, namespaces, bpf, ...). A filter
is installed either way, so /proc/self/status says `Seccomp: 2` as on a real node. Unconfined (the kubelet's
default when no profile is set) installs nothing. Localhost profiles are not simulated (RuntimeDefault).
"""

from __future__ import annotations

import platform
from typing import Any

Obj = dict[str, Any]

# Syscalls containerd's default profile does not allow to a container without CAP_SYS_ADMIN & co.
DENIED = [
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
    "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module", "ioperm",
    "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
    "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
    "pivot_root", "process_vm_readv", "process_vm_writev", "query_module", "quotactl", "quotactl_fd",
    "reboot", "request_key", "setdomainname", "sethostname", "setns", "settimeofday", "stime", "swapoff",
    "swapon", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
    "vm86old",
]  # fmt: skip

_ARCHES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def profile_type(pod: Obj, container: Obj) -> str:
    """The effective seccompProfile type: the container's, else the pod's, else Unconfined."""
    for sc in (container.get("securityContext") or {}, pod.get("spec", {}).get("securityContext") or {}):
        kind = (sc.get("seccompProfile") or {}).get("type")
        if kind:
            return str(kind)
    return "Unconfined"


def oci(pod: Obj, container: Obj, privileged: bool) -> Obj | None:
    """`linux.seccomp` for the container, None when it runs unconfined (or privileged, as containerd does)."""
    if privileged or profile_type(pod, container) == "Unconfined":
        return None
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": _ARCHES.get(platform.machine(), []),
        "syscalls": [{"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    }
