"""`?watch=true`: a stream of `{"type":..., "object":...}` lines, including the watch-list form
(`sendInitialEvents=true`: ADDED for current objects, then a BOOKMARK annotated
`k8s.io/initial-events-end`)."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from kdbgtest.base.k8s import Obj
from kdbgtest.sim.apiserver import rest, selectors, status, tables
from kdbgtest.sim.apiserver.store import Watch, WatchEvent

DEFAULT_TIMEOUT = 1800.0  # the API server's minRequestTimeout
BOOKMARK_EVERY = 60.0
POLL = 1.0  # how often a quiet watch checks whether its client went away
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _invalid_watch_list(message: str) -> status.ApiError:
    cause = {
        "reason": "FieldValueForbidden",
        "message": f"Forbidden: {message}",
        "field": "sendInitialEvents",
    }
    return status.ApiError(
        status.failure(
            422,
            "Invalid",
            f'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: {message}',
            {"kind": "ListOptions", "group": "meta.k8s.io", "causes": [cause]},
        )
    )


class _Stream:
    """One watch response: renders events (as objects or one-row Tables) and writes them as JSON lines."""

    def __init__(self, request: web.Request, resource: str, predicate: selectors.Predicate) -> None:
        self.request, self.resource, self.predicate = request, resource, predicate
        self.table = tables.wants_table(request.headers.get("Accept", ""))
        self.include = request.query.get("includeObject", "Metadata")
        self.response = web.StreamResponse(headers={"Content-Type": "application/json"})

    async def send(self, type_: str, obj: Obj) -> None:
        if self.table and type_ in ("ADDED", "MODIFIED", "DELETED"):
            obj = tables.table(self.resource, [obj], obj["metadata"].get("resourceVersion", ""), self.include)
        else:
            obj.setdefault("apiVersion", "v1")
            obj.setdefault("kind", rest.KINDS[self.resource])
        line = json.dumps({"type": type_, "object": obj}, separators=(",", ":")) + "\n"
        await self.response.write(line.encode())

    async def bookmark(self, resource_version: str, initial_end: bool = False) -> None:
        meta: Obj = {"resourceVersion": resource_version, "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        await self.send("BOOKMARK", {"kind": rest.KINDS[self.resource], "apiVersion": "v1", "metadata": meta})

    async def relay(self, event: WatchEvent) -> None:
        """Send a store event as this watcher sees it: selector transitions become ADDED/DELETED."""
        now = self.predicate(event.obj)
        before = event.prev is not None and self.predicate(event.prev)
        if event.type != "MODIFIED":
            if now:
                await self.send(event.type, dict(event.obj))
        elif now:
            await self.send("MODIFIED" if before else "ADDED", dict(event.obj))
        elif before:
            await self.send("DELETED", dict(event.obj))

    def gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()


def _open(
    request: web.Request, resource: str, namespace: str | None, predicate: selectors.Predicate
) -> tuple[Watch, list[Obj], str]:
    """Subscribe before reading current state, so nothing falls between the two."""
    store = rest.store(request)
    watch_list = rest.flag(request, "sendInitialEvents")
    if watch_list and request.query.get("resourceVersionMatch") != "NotOlderThan":
        raise _invalid_watch_list("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
    if watch_list and not rest.flag(request, "allowWatchBookmarks"):
        raise _invalid_watch_list("sendInitialEvents requires setting allowWatchBookmarks to true")
    since = request.query.get("resourceVersion", "")
    if watch_list or since in ("", "0"):
        watch = store.watch(resource, namespace, None)
        current = [obj for obj in store.list_objects(resource, namespace) if predicate(obj)]
        return watch, current, store.resource_version
    try:
        start = int(since)
    except ValueError:
        raise status.bad_request(f'invalid resource version "{since}"') from None
    return store.watch(resource, namespace, start), [], since


async def serve(request: web.Request, resource: str, namespace: str | None) -> web.StreamResponse:
    """Answer a watch request until `timeoutSeconds` pass, the client leaves or the server stops."""
    predicate = selectors.combined(resource, request.query.get("labelSelector"), request.query.get("fieldSelector"))
    stream = _Stream(request, resource, predicate)
    try:
        watch, initial, start_rv = _open(request, resource, namespace, predicate)
    except status.ApiError as err:
        if err.code != 410:
            raise
        await stream.response.prepare(request)
        await stream.send("ERROR", err.status)
        return stream.response
    try:
        await stream.response.prepare(request)
        for obj in initial:
            await stream.send("ADDED", obj)
        if rest.flag(request, "sendInitialEvents"):
            await stream.bookmark(start_rv, initial_end=True)
        await _follow(stream, watch, float(rest.int_param(request, "timeoutSeconds") or DEFAULT_TIMEOUT))
    except ConnectionResetError:
        pass  # the client went away: nothing to answer
    finally:
        watch.close()
    return stream.response


async def _follow(stream: _Stream, watch: Watch, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    next_bookmark = time.monotonic() + BOOKMARK_EVERY
    bookmarks = rest.flag(stream.request, "allowWatchBookmarks")
    while not stream.gone():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(watch.queue.get(), min(remaining, POLL))
        except TimeoutError:
            if bookmarks and time.monotonic() >= next_bookmark:
                next_bookmark = time.monotonic() + BOOKMARK_EVERY
                await stream.bookmark(watch.store.resource_version)
            continue
        if event is None:
            return
        await stream.relay(event)
