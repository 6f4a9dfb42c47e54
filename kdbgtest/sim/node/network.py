"""The sim cluster's network, shaped like kind's: one L2 segment every node and every pod is plugged into.

The segment is a bridge in a network namespace of its own, held by a `sleep` process (recorded in a pid
record under the state directory, so `cleanup.remove_all` finds it); the host's network is never touched.
Each node gets `eth0` with its node IP (172.18.0.N/16, as kind's docker network) and its pod gateway
(10.244.<index>.1/16); each pod gets `eth0` with its pod IP (10.244.<index>.<n>/16) and a default route via
its node. So pods reach pods on every node, and hostNetwork pods reach them too. One network per state
directory, shared by the nodes started in it, gone with the last of them.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from kdbgtest.base import async_process, tools
from kdbgtest.sim.node import procfs, views

BRIDGE = "kind"
COMMAND_TIMEOUT = 20.0


class NetworkError(Exception):
    """The cluster network could not be set up or a sandbox plugged into it (message: `ip`'s error)."""


class ClusterNetwork:
    """The bridge all sandboxes of one sim cluster are attached to."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.record = state_dir / f"network{views.RECORD_SUFFIX}"
        self._holder: async_process.Process | None = None
        self.users = 0

    @property
    def netns(self) -> str:
        if self._holder is None:
            raise RuntimeError("the cluster network is not started")
        return f"/proc/{self._holder.pid}/ns/net"

    async def start(self) -> None:
        busybox, unshare = str(tools.require("busybox")), str(tools.require("unshare"))
        devnull = async_process.DEVNULL
        self._holder = await async_process.spawn(
            [unshare, "--net", "--", busybox, "sleep", "2147483647"], stdin=devnull, stdout=devnull, stderr=devnull
        )
        try:
            await views.until_exec(self._holder.pid, busybox)
            self.state_dir.mkdir(parents=True, exist_ok=True)
            procfs.PidRecord.of(self._holder.pid).save(self.record)
            await _ip(self.netns, ["link add name kind type bridge", "link set kind up", "link set lo up"])
        except BaseException:
            await self.stop()
            raise

    async def attach(self, pid: int, addresses: list[str], gateway: str | None = None) -> None:
        """Give the network namespace of host process `pid` an `eth0` on the bridge, with `addresses`."""
        outside = "v" + secrets.token_hex(6)
        await _ip(self.netns, [
            f"link add name {outside} type veth peer name eth0 netns {pid}",
            f"link set {outside} master {BRIDGE}",
            f"link set {outside} up",
        ])  # fmt: skip
        inside = [f"addr add {address} dev eth0" for address in addresses] + ["link set eth0 up"]
        if gateway is not None:
            inside.append(f"route add default via {gateway}")
        await _ip(f"/proc/{pid}/ns/net", inside)

    async def stop(self) -> None:
        """Kill the holder: the namespace, the bridge and every veth pair on it go with it."""
        holder, self._holder = self._holder, None
        if holder is not None and holder.returncode is None:
            await async_process.stop(holder, grace=0)
        self.record.unlink(missing_ok=True)


_NETWORKS: dict[Path, asyncio.Future[ClusterNetwork]] = {}


async def acquire(state_dir: Path) -> ClusterNetwork:
    """The network of the cluster in `state_dir`, started by its first node."""
    key = state_dir.resolve()
    future = _NETWORKS.get(key)
    if future is None or (future.done() and future.exception() is not None):
        future = _NETWORKS[key] = asyncio.ensure_future(_started(key))
    network = await asyncio.shield(future)
    network.users += 1
    return network


async def release(network: ClusterNetwork) -> None:
    """A node has stopped; the last one stops the network."""
    network.users -= 1
    if network.users <= 0:
        _NETWORKS.pop(network.state_dir, None)
        await network.stop()


async def _started(state_dir: Path) -> ClusterNetwork:
    network = ClusterNetwork(state_dir)
    await network.start()
    return network


async def _ip(netns: str, commands: list[str]) -> None:
    """Run `ip -batch` commands in network namespace `netns`."""
    argv = [str(tools.require("nsenter")), f"--net={netns}", "--", str(tools.require("ip")), "-batch", "-"]
    script = "\n".join(commands).encode() + b"\n"
    done = await async_process.run(argv, timeout=COMMAND_TIMEOUT, check=False, stdin=script)
    if done.returncode != 0:
        raise NetworkError(f"cannot configure the sim network in {netns}: {done.stderr.strip()}")
