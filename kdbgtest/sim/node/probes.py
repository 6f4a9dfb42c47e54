"""Container probes (startup, readiness, liveness) as the kubelet's prober runs them.

exec probes run in the container (`runc exec`); tcpSocket and httpGet probes run in the pod's network
namespace (a small Python script under `nsenter --net`). Periods and delays are Kubernetes seconds, shortened
by `time_scale` like every other kubelet delay of the sim. Results and events use the kubelet's words.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kdbgtest.base import async_process, tools

Obj = dict[str, Any]
Runner = Callable[[list[str], float], Awaitable[tuple[int, str]]]  # (argv, timeout) -> (exit code, output)


@dataclass(frozen=True)
class Timing:
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Obj) -> Timing:
        return cls(
            float(probe.get("initialDelaySeconds", 0)),
            float(probe.get("periodSeconds", 10)),
            float(probe.get("timeoutSeconds", 1)),
            int(probe.get("successThreshold", 1)),
            int(probe.get("failureThreshold", 3)),
        )


# Runs in the pod's network namespace (nsenter --net) with this Python: prints the kubelet's failure text.
_NET_PROBE = """
import http.client, socket, sys
kind, host, port, path, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
dial = f"dial tcp {host}:{port}"
try:
    if kind == "tcp":
        socket.create_connection((host, port), timeout=timeout).close()
        sys.exit(0)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.request("GET", path, headers={"User-Agent": "kube-probe/1.34", "Accept": "*/*"})
    code = conn.getresponse().status
    if 200 <= code < 400:
        sys.exit(0)
    print(f"HTTP probe failed with statuscode: {code}")
    sys.exit(1)
except ConnectionRefusedError:
    reason = f"{dial}: connect: connection refused"
except (socket.timeout, TimeoutError):
    reason = f"{dial}: i/o timeout"
except OSError as exc:
    reason = f"{dial}: connect: {exc.strerror or exc}"
url = f"http://{host}:{port}{path}"
print(reason if kind == "tcp" else f'Get "{url}": {reason}')
sys.exit(1)
"""


async def check(probe: Obj, pod_ip: str, netns: str | None, in_container: Runner, timeout: float) -> tuple[bool, str]:
    """Run a probe once: (success, the failure message the kubelet would print)."""
    if "exec" in probe:
        code, output = await in_container(list(probe["exec"].get("command") or []), timeout)
        return code == 0, output.strip()
    for kind, key in (("tcp", "tcpSocket"), ("http", "httpGet")):
        if key in probe:
            target = probe[key]
            host = target.get("host") or pod_ip
            argv = [kind, host, str(target["port"]), target.get("path", "/"), str(timeout)]
            code, output = await in_netns(netns, argv, timeout)
            return code == 0, output.strip()
    return True, ""  # grpc probes are not simulated: treated as passing


async def in_netns(netns: str | None, argv: list[str], timeout: float) -> tuple[int, str]:
    """The network probe script with `argv` in network namespace `netns`; (exit code, output)."""
    prefix = [str(tools.require("nsenter")), f"--net={netns}", "--"] if netns else []
    command = [*prefix, sys.executable, "-c", _NET_PROBE, *argv]
    try:
        done = await async_process.run(command, timeout=timeout + 5, check=False, merge_stderr=True)
    except async_process.ProcessTimeout:
        return 1, "probe timed out"
    return done.returncode, done.stdout


class Prober:
    """The probes of one container instance; calls back when readiness/started change or liveness fails."""

    def __init__(
        self,
        container: Obj,
        scale: float,
        run: Callable[[Obj, float], Awaitable[tuple[bool, str]]],
        event: Callable[[str, str, str], None],
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        """`changed` is called when `ready` or `started` changes."""
        self.container = container
        self.scale = scale
        self.run = run
        self.event = event
        self.started = "startupProbe" not in container
        self.ready = "readinessProbe" not in container and self.started
        self.changed = changed

    async def startup(self) -> bool:
        """Until the startup probe succeeds (True) or fails for good (False: restart the container)."""
        probe = self.container.get("startupProbe")
        if probe is None:
            return True
        ok = await self._until(probe, "Startup", want=True)
        if ok:
            self.started = True
            self.ready = "readinessProbe" not in self.container
            self.changed()
        return ok

    async def readiness(self) -> None:
        probe = self.container.get("readinessProbe")
        if probe is None:
            return
        timing = Timing.of(probe)
        await asyncio.sleep(timing.initial_delay * self.scale)
        successes = failures = 0
        while True:
            ok, message = await self.run(probe, timing.timeout)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if not ok:
                self.event("Warning", "Unhealthy", f"Readiness probe failed: {message}")
            ready = self.ready
            if successes >= timing.success_threshold:
                ready = True
            elif failures >= timing.failure_threshold:
                ready = False
            if ready != self.ready:
                self.ready = ready
                self.changed()
            await asyncio.sleep(timing.period * self.scale)

    async def liveness(self) -> str:
        """Returns the probe kind ("liveness") once it has failed `failureThreshold` times in a row."""
        probe = self.container.get("livenessProbe")
        if probe is None:
            await asyncio.Event().wait()  # never fails
        assert probe is not None
        await self._until(probe, "Liveness", want=False)
        return "liveness"

    async def _until(self, probe: Obj, kind: str, *, want: bool) -> bool:
        """Probe until success (want=True: True) or `failureThreshold` consecutive failures (False)."""
        timing = Timing.of(probe)
        await asyncio.sleep(timing.initial_delay * self.scale)
        failures = 0
        while True:
            ok, message = await self.run(probe, timing.timeout)
            if ok and want:
                return True
            failures = 0 if ok else failures + 1
            if not ok:
                self.event("Warning", "Unhealthy", f"{kind} probe failed: {message}")
            if failures >= timing.failure_threshold:
                return False
            await asyncio.sleep(timing.period * self.scale)
