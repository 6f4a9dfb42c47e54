"""`GET pods/NAME/log`: text/plain from the node the pod runs on; the kubelet's refusals become 400s."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from kdbgtest.base import k8s
from kdbgtest.sim.apiserver import containers, rest, status
from kdbgtest.sim.contracts import LogsUnavailable

POLL = 1.0  # seconds between checks that a following client is still there


async def _first(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The first chunk (None when the log is empty); the node's refusal surfaces here as a Status."""
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None
    except LogsUnavailable as err:
        raise status.bad_request(str(err)) from err


async def _relay(request: web.Request, response: web.StreamResponse, chunks: AsyncIterator[bytes]) -> None:
    """Copy chunks to the client; a quiet `follow` notices within POLL seconds that the client left."""
    while True:
        pending = asyncio.ensure_future(anext(chunks))
        while not (await asyncio.wait({pending}, timeout=POLL))[0]:
            if request.transport is None or request.transport.is_closing():
                pending.cancel()
                return
        try:
            chunk = pending.result()
        except StopAsyncIteration:
            return
        await response.write(chunk)


async def log_handler(request: web.Request) -> web.StreamResponse:
    pod = k8s.as_pod(rest.store(request).get("pods", request.match_info["namespace"], request.match_info["name"]))
    container = containers.resolve(pod, request.query.get("container", ""))
    node_name = pod["spec"].get("nodeName")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    if not node_name:
        await response.prepare(request)  # not scheduled yet: an empty log, as the API server answers
        return response
    node = request.app[rest.NODES].get(node_name)
    if node is None:
        raise status.internal(f"node {node_name} is not running")
    tail = rest.int_param(request, "tailLines")
    chunks = aiter(
        node.logs(
            pod["metadata"]["namespace"],
            pod["metadata"]["name"],
            container,
            previous=rest.flag(request, "previous"),
            follow=rest.flag(request, "follow"),
            tail_lines=tail,
            timestamps=rest.flag(request, "timestamps"),
        )
    )
    first = await _first(chunks)
    await response.prepare(request)
    try:
        if first:
            await response.write(first)
        await _relay(request, response, chunks)
    except ConnectionResetError:
        pass  # the client stopped following
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            with contextlib.suppress(LogsUnavailable, RuntimeError):
                await close()
    return response
