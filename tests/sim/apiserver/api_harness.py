"""Runs the API server (with fake local-process nodes) on a real TLS port in a background event loop, so tests
can drive it with the real kubectl and the kubernetes client."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import api_fakenode
from aiohttp import web

from kdbgtest.base import process, tools
from kdbgtest.sim.apiserver import app, store
from kdbgtest.sim.config import SimConfig

T = TypeVar("T")


class ApiServer:
    """One API server: `kubeconfig`, `store` (touch it only through `call`) and the fake `nodes`."""

    def __init__(self, config: SimConfig, tls: Any, workdir: Path) -> None:
        self.config, self.tls, self.workdir = config, tls, workdir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.store: store.Store | None = None
        self.nodes: dict[str, api_fakenode.FakeNode] = {}
        self.kubeconfig = Path()
        self.url = ""

    def start(self) -> ApiServer:
        self.thread.start()
        self.run(self._start())
        self.kubeconfig = self.tls.kubeconfig(self.url, self.workdir / "kubeconfig")
        return self

    async def _start(self) -> None:
        self.store = store.Store(self.config)
        self.nodes = {name: api_fakenode.FakeNode(name, self.store) for name in self.config.node_names}
        for node in self.nodes.values():
            await node.start()
        self.runner = web.AppRunner(app.build_app(self.config, self.store, self.nodes, self.tls.token))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.tls.server_context())
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"https://127.0.0.1:{port}"

    def stop_http(self) -> None:
        """Shut the HTTP server down (idempotent); the fake nodes keep running."""
        if self.runner is not None:
            self.run(self.runner.cleanup())
            self.runner = None

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.stop_http()

        async def _stop_nodes() -> None:
            for node in self.nodes.values():
                await node.stop()

        self.run(_stop_nodes())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop (the store is not thread-safe)."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 30,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> process.Completed:
        argv = [
            str(tools.pinned_kubectl()),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.workdir / "kube-cache"),
            *args,
        ]
        return process.run(argv, timeout=timeout, check=check, stdin=stdin, env=env)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)
