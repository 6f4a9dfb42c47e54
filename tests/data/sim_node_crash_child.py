"""For tests/sim/node/test_cleanup.py: start a node, a pod and containers, then wait to be killed.

Usage: python sim_node_crash_child.py STATE_DIR IMAGE_CACHE. Prints READY once everything runs.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from kdbgtest.sim.node import images, runc, sandbox


async def main(state: Path, cache: Path) -> None:
    store = images.ImageStore(cache)
    rootfs = store.resolve("busybox").rootfs
    runtime = runc.Runc(state / "runc")
    node = sandbox.NodeSandbox("crash-node", state, runtime, store)
    await node.start()
    pod = sandbox.PodSandbox(node, "crash-pod")
    await pod.start()
    ns = {k: pod.ns_path(k) for k in ("network", "ipc", "uts")}
    app = runc.ContainerConfig(id="pod-app", rootfs=rootfs, args=["sleep", "600"], namespaces=ns)
    await runtime.run(app, node.dir / "pods" / "pod-app", pid_parent=node.pid)
    host = runc.ContainerConfig(id="host-level", rootfs=rootfs, args=["sleep", "600"])
    await runtime.run(host, state / "bundles" / "host-level")
    print("READY", flush=True)
    await asyncio.sleep(600)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
