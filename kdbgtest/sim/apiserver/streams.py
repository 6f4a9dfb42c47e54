"""`pods/exec` and `pods/attach` over WebSockets (the `channel.k8s.io` protocols, v5 and v4).

Binary frames start with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error/status (a metav1.Status as
JSON), 4 resize (`{"Width":W,"Height":H}`), 255 close (v5 only: `[255, 0]` closes stdin). Problems found
before the upgrade (no such pod or container, completed pod) are plain HTTP Status answers; problems the node
reports (`StreamError`) arrive after the upgrade, on channel 3, as with the API server's WebSocket translator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from kdbgtest.base import k8s
from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import containers, rest, status
from kdbgtest.sim.contracts import ContainerStream, StreamError

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
CLOSE_WAIT = 1.0  # seconds to wait for the client's close frame (the Python client never sends one)
SPDY_REFUSED = (
    "this API server (the kdbgtest offline cluster) streams exec and attach over WebSockets only "
    "(v5.channel.k8s.io); unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"
)


async def exec_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "exec")


async def attach_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "attach")


def _is_websocket(request: web.Request) -> bool:
    return request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"


def _check(request: web.Request, action: str) -> tuple[k8s.Pod, str]:
    """The pod and container to stream, or the API server's pre-upgrade error."""
    pod = k8s.as_pod(rest.store(request).get("pods", request.match_info["namespace"], request.match_info["name"]))
    container = containers.resolve(pod, request.query.get("container", ""))
    phase = pod.get("status", {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        verb = "exec into" if action == "exec" else "attach to"
        raise status.bad_request(f"cannot {verb} a container in a completed pod; current phase is {phase}")
    if not pod["spec"].get("nodeName"):
        raise status.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    if action == "exec" and not request.query.getall("command", []):
        raise status.bad_request("you must specify at least 1 command")
    if not any(rest.flag(request, s) for s in ("stdin", "stdout", "stderr")):
        raise status.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return pod, container


async def _open(request: web.Request, action: str, pod: k8s.Pod, container: str) -> ContainerStream:
    node = request.app[rest.NODES].get(pod["spec"]["nodeName"])
    if node is None:
        raise StreamError(
            status.failure(
                500,
                "InternalError",
                f"Internal error occurred: node {pod['spec']['nodeName']} is not running",
            )
        )
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    stdin, tty = rest.flag(request, "stdin"), rest.flag(request, "tty")
    if action == "exec":
        command = request.query.getall("command")
        return await node.exec(ns, name, container, command, stdin=stdin, tty=tty)
    return await node.attach(ns, name, container, stdin=stdin, tty=tty)


async def _serve(request: web.Request, action: str) -> web.StreamResponse:
    pod, container = _check(request, action)
    if not _is_websocket(request):
        raise status.bad_request(SPDY_REFUSED)
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=0, timeout=CLOSE_WAIT)
    await ws.prepare(request)
    request.app[rest.SOCKETS].add(ws)
    try:
        stream = await _open(request, action, pod, container)
    except StreamError as err:
        await _finish(ws, err.status)
        return ws
    await _relay(request, ws, stream)
    return ws


async def _finish(ws: web.WebSocketResponse, result: Obj) -> None:
    body = {"metadata": {}, **result} if "metadata" not in result else result
    with contextlib.suppress(ConnectionResetError):
        await ws.send_bytes(bytes([ERROR]) + json.dumps(body, separators=(",", ":")).encode())
    await ws.close()


async def _relay(request: web.Request, ws: web.WebSocketResponse, stream: ContainerStream) -> None:
    """Pump output to the client and client frames to the container until one side ends."""
    wanted = {ch for ch, name in ((STDOUT, "stdout"), (STDERR, "stderr")) if rest.flag(request, name)}
    output = asyncio.ensure_future(_pump_output(ws, stream, wanted))
    client = asyncio.ensure_future(_pump_input(ws, stream))
    try:
        done, _ = await asyncio.wait({output, client}, return_when=asyncio.FIRST_COMPLETED)
        if output in done:
            await _finish(ws, await stream.result())
        else:
            await stream.detach()
    finally:
        for task in (output, client):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await task


async def _pump_output(ws: web.WebSocketResponse, stream: ContainerStream, wanted: set[int]) -> None:
    async for channel, data in stream.output():
        if channel in wanted and data:
            await ws.send_bytes(bytes([channel]) + data)


async def _pump_input(ws: web.WebSocketResponse, stream: ContainerStream) -> None:
    """Until the client closes: stdin data, resizes and (v5) the stdin close signal."""
    async for msg in ws:
        # The channel byte leads binary and text frames alike (the Python client sends text frames).
        raw = msg.data.encode() if msg.type == WSMsgType.TEXT else msg.data
        if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT) or not raw:
            continue
        channel, data = raw[0], raw[1:]
        if channel == STDIN and data:
            await stream.write_stdin(data)
        elif channel == RESIZE:
            await _resize(stream, data)
        elif channel == CLOSE and ws.ws_protocol == V5 and data[:1] == bytes([STDIN]):
            await stream.close_stdin()


async def _resize(stream: ContainerStream, data: bytes) -> None:
    try:
        size = json.loads(data)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return  # the API server ignores malformed resize messages too
    await stream.resize(width, height)
