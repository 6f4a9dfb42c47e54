"""Helpers for the runtime tests: a Runc + ImageStore in a temporary state directory, checked for leaks."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.sim.node import cgroups, cleanup, images
from kdbgtest.sim.node.runc import ContainerConfig, Process, Runc

TOOLS = ("runc", "busybox", "nsenter", "unshare", "setsid", "gcc")


def skip_reason() -> str | None:
    """Why real containers cannot run here, or None."""
    if os.geteuid() != 0:
        return "not running as root (runc needs root)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return f"missing {', '.join(missing)}" if missing else None


@dataclass
class Rt:
    """What a runtime test works with."""

    state: Path
    runc: Runc
    images: images.ImageStore

    def config(self, cid: str, args: list[str], image: str = "busybox:1.36", **extra: Any) -> ContainerConfig:
        return ContainerConfig(id=cid, rootfs=self.images.resolve(image).rootfs, args=args, **extra)

    async def run(self, cid: str, args: list[str], **extra: Any) -> Process:
        pid_parent = extra.pop("pid_parent", None)
        cfg = self.config(cid, args, **extra)
        return await self.runc.run(cfg, self.state / "bundles" / cid, pid_parent=pid_parent)


async def drain(process: Process) -> tuple[str, str]:
    """All of a process's stdout and stderr."""
    out: dict[int, bytes] = {1: b"", 2: b""}
    async for fd, data in process.output():
        out[fd] += data
    return out[1].decode(), out[2].decode()


async def run_to_end(rt: Rt, cid: str, args: list[str], **extra: Any) -> tuple[int, str, str]:
    """Run a container to completion, delete it; (exit code, stdout, stderr)."""
    process = await rt.run(cid, args, **extra)
    out, err = await asyncio.wait_for(drain(process), 20)
    code = await asyncio.wait_for(process.wait(), 20)
    await rt.runc.delete(cid)
    return code, out, err


async def read_until(output: AsyncIterator[tuple[int, bytes]], needle: str, timeout: float = 10) -> str:
    """Read chunks until `needle` appears; everything read so far."""
    seen = ""

    async def loop() -> str:
        nonlocal seen
        async for _, data in output:
            seen += data.decode(errors="replace")
            if needle in seen:
                return seen
        raise AssertionError(f"output ended before {needle!r}; got {seen!r}")

    try:
        return await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"no {needle!r} within {timeout}s; got {seen!r}") from None


def image_cache(factory: pytest.TempPathFactory) -> Path:
    """One image cache per test session (built images are reused across tests)."""
    cache = factory.getbasetemp() / "image-cache"
    cache.mkdir(exist_ok=True)
    return cache


def runtime(factory: pytest.TempPathFactory, scenario: Callable[[Rt], Awaitable[None]]) -> None:
    """Run `scenario(rt)` in a fresh state directory; afterwards nothing may be left (else the test fails)."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(f"real containers cannot run here: {reason}")
    state = factory.mktemp("state")

    async def main() -> None:
        bundles = state / "bundles"  # where `Rt.run` puts bundles: visible to runc in node views
        bundles.mkdir(mode=0o755)
        rt = Rt(state, Runc(state / "runc", visible=[bundles]), images.ImageStore(image_cache(factory)))
        try:
            await scenario(rt)
        finally:
            for cid in await rt.runc.list_ids():
                await rt.runc.delete(cid)
            await rt.runc.close()

    try:
        asyncio.run(main())
    finally:
        left = cleanup.leaks(state)
        left += [str(p) for p in cgroups.detect().dirs(f"/kdbgtest-sim/{_cgroup_tag(state)}") if p.exists()]
        cleanup.remove_all(state)
    assert left == [], f"the scenario left {left}"


def _cgroup_tag(state: Path) -> str:
    marker = state / "runc" / ".kdbgtest-cgroup"
    return marker.read_text().strip().rsplit("/", 1)[-1] if marker.exists() else "(no runc root)"
