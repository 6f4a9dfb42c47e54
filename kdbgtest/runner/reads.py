"""Reads the runner makes to watch a scenario (waits, assertions, cleanup), over one keep-alive connection.

A kubectl process costs ~40 ms to start for a 0.5 ms GET, and the runner polled through hundreds of them per
suite. What kdbgtest tests (debug sessions, `kubectl` steps, creating what a scenario declares) still goes
through kubectl; what it only looks at goes through the kubernetes client's connection pool here:

    reader = Reader(kubeconfig, context)
    pod = reader.get("pod/app", namespace="ns")           # None when it does not exist
    pods = reader.items("pods", namespace="ns", labels="a=b")
    seen = reader.watch_one("pods", "app", "ns", judge, timeout=30, what="pod app to be running")

`get`/`items` know the kinds a scenario's runner looks at (pods, nodes, namespaces, events, service
accounts); any other kind is `Unsupported`, and the caller asks kubectl. Failures are `ClusterError` with the
API server's message. The harness's own objects go through it too: the run's namespace is created
(`create`) and it and the debug steps' pods are deleted (`delete`) here, with kubectl's wording for a
refusal (`Error from server (Forbidden): ...`); fixtures are still created by kubectl, as a user would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3

from kdbgtest.base import cancel, waiting
from kdbgtest.base.errors import ClusterError, StepTimeout
from kdbgtest.base.k8s import Obj

T = TypeVar("T")
CALL_TIMEOUT = 30.0
# A watch is re-opened at least this often (seconds), so an expired deadline is noticed even without events.
WATCH_SLICE = 5
SCOPED_WATCH_SLICE = 1  # in a cancellable scope (`-n N`): a cancelled run is noticed within about a second
RETRY_PAUSE = 0.2  # after a failed list, before the next

# kubectl's names for the kinds read here -> (collection, namespaced)
_KINDS: dict[str, tuple[str, bool]] = {}
for _names, _collection, _namespaced in (
    (("pod", "pods", "po"), "pods", True),
    (("node", "nodes", "no"), "nodes", False),
    (("namespace", "namespaces", "ns"), "namespaces", False),
    (("event", "events", "ev"), "events", True),
    (("serviceaccount", "serviceaccounts", "sa"), "serviceaccounts", True),
):
    for _name in _names:
        _KINDS[_name] = (_collection, _namespaced)


def known(kind: str) -> bool:
    """Whether this reader maps `kind` (kubectl's name for it)."""
    return kind.lower() in _KINDS


def cluster_scoped(kind: str) -> bool:
    """Whether `kind` is a known kind that lives outside namespaces (nodes, namespaces)."""
    found = _KINDS.get(kind.lower())
    return found is not None and not found[1]


class Unsupported(Exception):
    """A kind this reader does not map; ask kubectl."""


class Unreadable(Exception):
    """A kubeconfig the kubernetes client cannot load (kubectl may still use it); read through kubectl."""


class Reader:
    """GETs, lists and watches of core/v1 objects through one pooled HTTPS client."""

    def __init__(self, kubeconfig: Path, context: str | None) -> None:
        from kubernetes import config  # large: imported when a run starts, not for `kdbgtest --help`

        try:
            self.api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(kubeconfig), context=context
            )
        except (config.ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            raise Unreadable(f"the kubernetes client cannot load {kubeconfig}: {exc}") from None
        self._served: set[str] | None = None

    def close(self) -> None:
        self.api.close()

    # -- paths ------------------------------------------------------------------------------------------------

    @staticmethod
    def collection(kind: str, namespace: str | None) -> str:
        """`/api/v1/namespaces/NS/pods` style path of the collection of `kind` (kubectl's name for it)."""
        found = _KINDS.get(kind.lower())
        if found is None:
            raise Unsupported(kind)
        name, namespaced = found
        if namespaced and namespace:
            return f"/api/v1/namespaces/{quote(namespace)}/{name}"
        return f"/api/v1/{name}"

    # -- calls ------------------------------------------------------------------------------------------------

    def get(self, ref: str, *, namespace: str | None = None, timeout: float = CALL_TIMEOUT) -> Obj | None:
        """Object `ref` (KIND/NAME), or None if it does not exist."""
        kind, _, name = ref.partition("/")
        if not name:
            raise Unsupported(ref)
        return self._json(f"{self.collection(kind, namespace)}/{quote(name)}", [], timeout, missing_ok=True)

    def items(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        labels: str | None = None,
        fields: str | None = None,
        timeout: float = CALL_TIMEOUT,
    ) -> list[Obj]:
        """The items of a list of `kind` (all namespaces when `namespace` is None)."""
        query = [(k, v) for k, v in (("labelSelector", labels), ("fieldSelector", fields)) if v]
        found = self._json(self.collection(kind, namespace), query, timeout) or {}
        return [item for item in found.get("items") or [] if isinstance(item, dict)]

    def serves(self, kind: str) -> bool:
        """Whether the server offers `kind` (kubectl's name for a core/v1 kind), from its discovery of /api/v1
        (asked once). The offline cluster, for one, has no service accounts."""
        collection = self.collection(kind, None).rsplit("/", 1)[-1]
        if self._served is None:
            found = self._json("/api/v1", [], CALL_TIMEOUT) or {}
            self._served = {str(r.get("name")) for r in found.get("resources") or [] if isinstance(r, dict)}
        return collection in self._served

    def create(self, kind: str, body: Obj, *, namespace: str | None = None, timeout: float = CALL_TIMEOUT) -> None:
        """POST `body` to the collection of `kind`; a refusal is `ClusterError` in kubectl's words."""
        self._send("POST", self.collection(kind, namespace), [], body, timeout, missing_ok=False)

    def delete(
        self, ref: str, *, namespace: str | None = None, grace: int | None = None, timeout: float = CALL_TIMEOUT
    ) -> bool:
        """DELETE object `ref` (KIND/NAME) without waiting, in the background as kubectl does; False if it did not
        exist (`--ignore-not-found`). `grace`: its grace period in seconds."""
        kind, _, name = ref.partition("/")
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if grace is not None:
            body["gracePeriodSeconds"] = grace
        path = f"{self.collection(kind, namespace)}/{quote(name)}"
        return self._send("DELETE", path, [], body, timeout, missing_ok=True)

    def watch_one(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        judge: Callable[[Obj | None], tuple[bool, T]],
        *,
        timeout: float,
        what: str,
        describe: Callable[[T], str] = str,
    ) -> T:
        """Watch object `name` of `kind` until `judge(obj or None)` says done; return its observation.

        One list gives the object and a resourceVersion; a watch from there delivers every change, each
        judged as it arrives (None once deleted). `StepTimeout` names `what` and the last observation."""
        path = self.collection(kind, namespace)
        selector = ("fieldSelector", f"metadata.name={name}")
        deadline = time.monotonic() + timeout
        seen: T | None = None
        while True:
            cancel.check()
            try:
                listed = self._json(path, [selector], max(min(deadline - time.monotonic(), CALL_TIMEOUT), 1.0)) or {}
            except ClusterError as exc:  # a failed look is something seen, not the end of the wait
                if time.monotonic() >= deadline:
                    last = describe(seen) if seen is not None else str(exc)
                    raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}; last seen: {last}") from None
                waiting.pause(min(RETRY_PAUSE, max(deadline - time.monotonic(), 0.0)))
                continue
            items = [i for i in listed.get("items") or [] if isinstance(i, dict)]
            done, seen = judge(items[0] if items else None)
            if done:
                return seen
            version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
            while True:
                cancel.check()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}; last seen: {describe(seen)}")
                slice_ = WATCH_SLICE if cancel.current() is None else SCOPED_WATCH_SLICE
                query = [selector, ("watch", "true"), ("resourceVersion", version),
                         ("timeoutSeconds", str(max(1, min(slice_, int(left + 0.999)))))]  # fmt: skip
                outcome = self._follow(path, query, left, judge)
                if outcome is None:  # the watch expired (410 Gone) or broke: list again
                    break
                ended, done, seen_now, version = outcome
                if seen_now is not None:
                    seen = seen_now
                if done and seen is not None:
                    return seen
                if not ended:
                    break

    # -- internals --------------------------------------------------------------------------------------------

    def _follow(
        self, path: str, query: list[tuple[str, str]], left: float, judge: Callable[[Obj | None], tuple[bool, T]]
    ) -> tuple[bool, bool, T | None, str] | None:
        """One watch request: (ended normally, done, last observation, resourceVersion), or None to re-list."""
        version = dict(query)["resourceVersion"]
        seen: T | None = None
        try:
            response = self._request(path, query, (min(left, CALL_TIMEOUT), left + 2))
            try:
                if response.status == 410:
                    return None
                if response.status != 200:
                    raise ClusterError(f"watching {path} failed: {_reason(response)}")
                for line in _lines(response):
                    event = json.loads(line)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        return None
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind == "BOOKMARK":
                        continue
                    done, seen = judge(None if kind == "DELETED" else obj)
                    if done:
                        return True, True, seen, version
                    cancel.check()
            finally:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError):  # a broken connection: list again (the deadline holds)
            return None
        return True, False, seen, version

    def _request(
        self,
        path: str,
        query: list[tuple[str, str]],
        timeout: float | tuple[float, float],
        *,
        method: str = "GET",
        body: Obj | None = None,
    ) -> Any:
        """The urllib3 response of one request (its body not read yet)."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        method, url, headers, serialized, _ = self.api.param_serialize(
            method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        return self.api.call_api(method, url, header_params=headers, body=serialized, _request_timeout=timeout).response

    def _call(
        self, method: str, path: str, query: list[tuple[str, str]], timeout: float, body: Obj | None = None
    ) -> tuple[Any, bytes]:
        """One whole request: the response and its body. No answer at all: `ClusterError` naming the request."""
        from kubernetes.client import exceptions

        try:
            response = self._request(path, query, timeout, method=method, body=body)
            try:
                return response, response.data
            finally:
                response.release_conn()
        except (exceptions.ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(f"{method} {path} failed: {type(exc).__name__}: {exc}") from None

    def _send(
        self, method: str, path: str, query: list[tuple[str, str]], body: Obj, timeout: float, *, missing_ok: bool
    ) -> bool:
        """A write; False for a 404 with `missing_ok`. A refusal: `ClusterError` in kubectl's words."""
        response, answer = self._call(method, path, query, timeout, body)
        if response.status == 404 and missing_ok:
            return False
        if response.status >= 300:
            raise ClusterError(_refusal(response.status, answer))
        return True

    def _json(self, path: str, query: list[tuple[str, str]], timeout: float, *, missing_ok: bool = False) -> Obj | None:
        response, body = self._call("GET", path, query, timeout)
        if response.status == 404 and missing_ok:
            return None
        if response.status != 200:
            raise ClusterError(f"GET {path} failed: {_reason(response, body)}")
        data = json.loads(body)
        return data if isinstance(data, dict) else None


def _lines(response: Any) -> Any:
    """The lines of a streamed response, as they arrive."""
    pending = b""
    for chunk in response.stream(amt=65536, decode_content=False):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending


def _refusal(status: int, body: bytes) -> str:
    """kubectl's line for a refused request: `Error from server (Forbidden): namespaces is forbidden: ...`."""
    try:
        found = json.loads(body)
    except (TypeError, ValueError):
        found = {}
    if not isinstance(found, dict):
        found = {}
    reason = str(found.get("reason") or status)
    message = found.get("message") or body[:200].decode("utf-8", "replace")
    return f"Error from server ({reason}): {message}"


def _reason(response: Any, body: bytes | None = None) -> str:
    """`404 pods "x" not found`: the status and the API server's message."""
    try:
        message = json.loads(body if body is not None else response.data).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return f"{response.status} {message or response.reason}"
