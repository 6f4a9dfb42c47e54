"""The Node status a kubelet posts: conditions, addresses, nodeInfo, capacity (read from the real machine)."""

from __future__ import annotations

import os
import platform
import uuid
from pathlib import Path
from typing import Any

from kdbgtest.sim.node import status

Obj = dict[str, Any]
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
PODS = "110"

_CONDITIONS = [
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
]


def build(name: str, ip: str, version: str, runtime_version: str, since: str, images: list[Obj]) -> Obj:
    """The full status of a ready node `name` at `ip` running kubelet `version` ("1.34") holding `images`
    (`status.images` entries: names and sizeBytes)."""
    stamp = status.now()
    resources = {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_mem_kib()}Ki",
        "pods": PODS,
        "ephemeral-storage": f"{_disk_kib()}Ki",
        "hugepages-2Mi": "0",
    }
    return {
        "conditions": [
            {
                "type": t,
                "status": s,
                "reason": r,
                "message": m,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": since,
            }
            for t, s, r, m in _CONDITIONS
        ],
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "capacity": resources,
        "allocatable": dict(resources),
        "nodeInfo": _node_info(name, version, runtime_version),
        "images": images,
    }


def _node_info(name: str, version: str, runtime_version: str) -> Obj:
    machine = _read("/etc/machine-id") or uuid.uuid5(uuid.NAMESPACE_DNS, name).hex
    return {
        "machineID": machine,
        "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"kdbgtest-sim/{name}")),
        "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "kernelVersion": platform.release(),
        "osImage": _os_image(),
        "containerRuntimeVersion": runtime_version,
        "kubeletVersion": f"v{version}.0",
        "operatingSystem": "linux",
        "architecture": _ARCH.get(platform.machine(), platform.machine()),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip('"')
    return "Linux"


def _mem_kib() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _disk_kib() -> int:
    st = os.statvfs("/var/tmp")
    return st.f_blocks * st.f_frsize // 1024
