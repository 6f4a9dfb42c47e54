"""The sim server process: `python -m kdbgtest.sim.daemon --state-dir DIR`.

Reads `DIR/cluster.json`, generates the cluster's credentials, builds the store, starts one node agent per
node, serves the API over HTTPS on a free port, then publishes `ready.json` and the kubeconfig. On SIGTERM or
SIGINT it stops every node (containers, sandboxes) and exits. Everything it logs goes to `DIR/daemon.log`.
`kdbgtest.sim.cluster.SimCluster` is the way to start and stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import traceback
from collections.abc import Awaitable, Mapping
from pathlib import Path

from aiohttp import web

from kdbgtest.sim import kubeconfig, state, tls, versions
from kdbgtest.sim.apiserver import app as apiserver_app
from kdbgtest.sim.apiserver import store as apiserver_store
from kdbgtest.sim.config import SimConfig
from kdbgtest.sim.contracts import NodeRuntime
from kdbgtest.sim.node import agent, images, runc

log = logging.getLogger("kdbgtest.sim.daemon")

NODE_STOP_TIMEOUT = 20.0  # seconds each node gets to stop its containers and sandbox
HTTP_SHUTDOWN_TIMEOUT = 1.0  # seconds open connections (watches, attach) get on shutdown
STEP_TIMEOUT = 3.0  # seconds for each later shutdown step
SHUTDOWN_DEADLINE = 27.0  # after SIGTERM the process exits by then, whatever hangs (SimCluster waits 30 s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdbgtest.sim.daemon", description=__doc__)
    parser.add_argument("--state-dir", required=True, type=Path, help="the cluster's state directory")
    args = parser.parse_args(argv)
    paths = state.StateDir(args.state_dir.resolve())
    _log_to(paths.log)
    paths.write_pid(os.getpid())
    log.info("sim daemon pid %d starting", os.getpid())
    try:
        config = paths.read_config()
        asyncio.run(serve(config, paths))
    except asyncio.CancelledError:
        log.info("start interrupted by a signal; stopped")
        return 1
    except Exception:
        log.exception("sim daemon failed")
        return 1
    log.info("sim daemon stopped")
    return 0


async def serve(config: SimConfig, paths: state.StateDir) -> None:
    """Run the cluster until SIGTERM/SIGINT, then stop every node and the server."""
    stop = asyncio.Event()
    serving = asyncio.Event()
    main_task = asyncio.current_task()
    assert main_task is not None

    def on_signal() -> None:
        if stop.is_set():
            return
        stop.set()
        _exit_after(SHUTDOWN_DEADLINE)
        if not serving.is_set():
            main_task.cancel()  # interrupt a start in progress; `finally` below still stops what started

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    loop.add_signal_handler(signal.SIGUSR1, _dump_stacks)
    log.info("generating credentials")
    creds = tls.generate(config.name, config.host)
    tls.write(creds, paths.tls)
    store = apiserver_store.Store(config)
    running = versions.ComponentVersions(config)  # changed in place by an upgrade, read by the API and the nodes
    runtime = runc.Runc(paths.root / "runc")
    nodes: dict[str, NodeRuntime] = {}
    runner: web.AppRunner | None = None
    try:
        await _start_nodes(config, store, runtime, running, nodes)
        app = apiserver_app.build_app(config, store, nodes, creds.token, running)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=HTTP_SHUTDOWN_TIMEOUT)
        await runner.setup()
        sock = _listen(config.host, config.port)
        await web.SockSite(runner, sock, ssl_context=_server_tls(paths)).start()
        _publish(config, paths, creds, sock.getsockname()[1])
        serving.set()
        await stop.wait()
        log.info("stopping")
    finally:
        paths.ready.unlink(missing_ok=True)
        store.close_watches()
        await _stop_nodes(nodes)
        await _bounded(runtime.close(), STEP_TIMEOUT, "releasing the nodes' runc views")
        if runner is not None:
            await _bounded(runner.cleanup(), STEP_TIMEOUT, "closing the API server")


async def _start_nodes(
    config: SimConfig,
    store: apiserver_store.Store,
    runtime: runc.Runc,
    running: versions.ComponentVersions,
    nodes: dict[str, NodeRuntime],
) -> None:
    """Create and start every node agent; `nodes` holds each one created so far (to stop them on failure)."""
    image_store = images.ImageStore(images.DEFAULT_CACHE)  # shared by every cluster

    async def start(name: str) -> None:
        node = await agent.create_node(name, store, config, images=image_store, runc=runtime, versions=running)
        nodes[name] = node
        await node.start()
        log.info("node %s started", name)

    async with asyncio.TaskGroup() as group:  # one node failing to start cancels the others' starts
        for name in config.node_names:
            group.create_task(start(name))


async def _stop_nodes(nodes: Mapping[str, NodeRuntime]) -> None:
    """Stop every node (each within a deadline); log, but do not raise, what fails."""

    async def stop(node: NodeRuntime) -> None:
        try:
            await asyncio.wait_for(node.stop(), NODE_STOP_TIMEOUT)
            log.info("node %s stopped", node.name)
        except Exception:
            log.exception("node %s did not stop cleanly; the tasks at this point follow", node.name)
            _dump_stacks()

    await asyncio.gather(*(stop(node) for node in nodes.values()))


async def _bounded(step: Awaitable[None], timeout: float, what: str) -> None:
    """Await a shutdown step within `timeout` seconds; log, but do not raise, a failure or an overrun."""
    try:
        await asyncio.wait_for(step, timeout)
    except Exception:
        log.exception("%s failed or took longer than %gs", what, timeout)


def _exit_after(seconds: float) -> None:
    """Watchdog: if shutdown has not finished within `seconds`, exit anyway (`sim down` removes the rest)."""

    def give_up() -> None:
        log.error("shutdown did not finish within %gs; exiting (sim down removes what is left)", seconds)
        _dump_stacks()
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()


def _dump_stacks() -> None:
    """Log every asyncio task's and thread's stack (on SIGUSR1, and before the watchdog gives up)."""
    with contextlib.suppress(RuntimeError):  # no running loop: called from the watchdog thread
        for task in asyncio.all_tasks():
            out = io.StringIO()
            task.print_stack(file=out)
            log.info("task %s:\n%s", task.get_name(), out.getvalue())
    for ident, frame in sys._current_frames().items():
        log.info("thread %s:\n%s", ident, "".join(traceback.format_stack(frame)))


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host` (`port` 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server_tls(paths: state.StateDir) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(paths.tls / "server.crt", paths.tls / "server.key")
    return ctx


def _publish(config: SimConfig, paths: state.StateDir, creds: tls.Credentials, port: int) -> None:
    """Write the kubeconfig, then ready.json: from then on clients may connect."""
    server = f"https://{config.host}:{port}"
    kubeconfig.write(paths.kubeconfig, kubeconfig.build(config.name, server, creds.ca_pem, creds.token))
    ready = state.Ready(pid=os.getpid(), port=port, server=server, kubeconfig=str(paths.kubeconfig))
    paths.write_ready(ready)
    log.info("serving %s", server)


def _log_to(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
