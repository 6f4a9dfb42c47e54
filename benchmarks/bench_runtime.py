"""Latency of the sim's node runtime: container start to first output, exec, node and pod sandboxes.

Run as root: `python benchmarks/bench_runtime.py [--runs N]`. Prints median and p90 in ms.
Everything is made in a temporary state directory and removed at the end (`cleanup.remove_all`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdbgtest.sim.node import cleanup, images, runc, sandbox


async def _first_output(runtime: runc.Runc, cfg: runc.ContainerConfig, bundle: Path, pid_parent: int | None) -> float:
    started = time.perf_counter()
    process = await runtime.run(cfg, bundle, pid_parent=pid_parent)
    output = process.output()
    await anext(output)
    took = time.perf_counter() - started
    async for _ in output:
        pass
    await process.wait()
    await runtime.delete(cfg.id)
    return took


async def _measure(runs: int, what: str, once: Callable[[int], Awaitable[float]]) -> None:
    samples = sorted([await once(i) for i in range(runs)])
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    print(f"{what:<58} median {statistics.median(samples) * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  (n={runs})")


async def bench(state: Path, cache: Path, runs: int) -> None:
    store = images.ImageStore(cache)
    rootfs = store.resolve("busybox:1.36").rootfs
    store.resolve("registry.k8s.io/pause:3.10")
    runtime = runc.Runc(state / "runc")

    def config(cid: str, args: list[str] | None = None, **extra: object) -> runc.ContainerConfig:
        argv = args or ["echo", "hello"]
        return runc.ContainerConfig(id=cid, rootfs=rootfs, args=argv, **extra)  # type: ignore[arg-type]

    async def host_run(i: int) -> float:
        return await _first_output(runtime, config(f"h{i}"), state / "b" / f"h{i}", None)

    await _measure(runs, "busybox container, start -> first output (host level)", host_run)
    node = sandbox.NodeSandbox("bench-node", state, runtime, store)
    started = time.perf_counter()
    await node.start()
    print(f"{'node sandbox start':<58} {(time.perf_counter() - started) * 1000:7.1f} ms")
    try:
        pod = sandbox.PodSandbox(node, "bench-pod")

        async def pod_start(i: int) -> float:
            box = sandbox.PodSandbox(node, f"p{i}")
            begin = time.perf_counter()
            await box.start()
            took = time.perf_counter() - begin
            await box.stop()
            return took

        await _measure(runs, "pod sandbox (pause + pod IP) start", pod_start)
        await pod.start()
        ns = {k: pod.ns_path(k) for k in ("network", "ipc", "uts")}

        async def node_run(i: int) -> float:
            return await _first_output(runtime, config(f"n{i}", namespaces=ns), node.dir / "b" / f"n{i}", node.pid)

        await _measure(runs, "busybox container in a pod, start -> first output", node_run)
        app = await runtime.run(
            config("app", args=["sleep", "600"], namespaces=ns), node.dir / "app", pid_parent=node.pid
        )

        async def exec_once(i: int) -> float:
            begin = time.perf_counter()
            process = await runtime.exec("app", ["echo", "hi"])
            output = process.output()
            await anext(output)
            took = time.perf_counter() - begin
            async for _ in output:
                pass
            await process.wait()
            return took

        await _measure(runs, "exec into a pod container, start -> first output", exec_once)
        app.kill(9)
        await app.wait()
        await runtime.delete("app")
        await pod.stop()
    finally:
        await node.stop()
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kdbgtest-bench-"))
    try:
        asyncio.run(bench(work / "state", work / "images", args.runs))
    finally:
        left = cleanup.leaks(work / "state")
        cleanup.remove_all(work)
        print("leaks after the benchmark:", left or "none")


if __name__ == "__main__":
    main()
