"""The API calls of the API driver, through the kubernetes Python client, with kubectl's error texts.

Answers are read as raw JSON, never as the client's models: those are strict (pydantic) and reject objects a
real API server may send (e.g. a node without `kubeProxyVersion`). Every call has a timeout, every response
goes back to the connection pool, every WebSocket is closed by its reader (`api_stream`). An API error
becomes a `Failure` carrying kubectl's text (`api_errors`); a server that does not answer, a `ClusterError`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client import exceptions
from kubernetes.stream import stream

from kdbgtest.base import cancel, k8s
from kdbgtest.base.errors import ClusterError, ScenarioError
from kdbgtest.base.k8s import Obj
from kdbgtest.debug import api_errors, api_impersonate, stuck
from kdbgtest.scenario import model

CALL_TIMEOUT = 30.0
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
WATCH_SLICE = 1  # seconds a watch lasts in a cancellable scope (`-n N`) before it is re-opened


class Failure(Exception):
    """kubectl would stop here, printing `text` on stderr and exiting 1. `detail` is the error alone (what
    kubectl shows of it inside another message)."""

    def __init__(self, text: str, detail: str = "") -> None:
        super().__init__(text)
        self.text = text
        self.detail = detail or text


class Api:
    """CoreV1 calls against the cluster of `kubeconfig` (and `context`)."""

    def __init__(self, kubeconfig: Path, context: str | None, identity: model.Identity | None = None) -> None:
        self.api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), context=context
        )
        self.impersonating = False
        if identity is not None:
            if len(identity.groups) > 1:
                raise ScenarioError(
                    "the API driver impersonates one group at most (its client sends each header once); "
                    f"give `as.groups` one group, or use the kubectl driver for {identity.groups}"
                )
            self.impersonating = True
            self.api_client.set_default_header("Impersonate-User", identity.user)
            for group in identity.groups:
                self.api_client.set_default_header("Impersonate-Group", group)
        self.core = client.CoreV1Api(self.api_client)
        self.warnings: list[str] = []  # the server's Warning headers (kubectl prints each as `Warning: TEXT`)

    def close(self) -> None:
        self.api_client.close()

    # -- objects --------------------------------------------------------------------------------------------

    def read_pod(self, name: str, namespace: str) -> Obj:
        pod: Obj = json.loads(self.call(self.core.read_namespaced_pod, name, namespace))
        return pod

    def read_node(self, name: str) -> None:
        self.call(self.core.read_node, name)

    def create_pod(self, namespace: str, pod: Obj) -> None:
        self.call(self.core.create_namespaced_pod, namespace, pod)

    def delete_pod_now(self, name: str, namespace: str) -> None:
        """Delete with grace period 0 (kubectl's `--replace`: `NewDeleteOptions(0)`)."""
        self.call(self.core.delete_namespaced_pod, name, namespace, body=client.V1DeleteOptions(grace_period_seconds=0))

    def add_ephemeral(self, name: str, namespace: str, patch: Obj) -> None:
        """PATCH the `ephemeralcontainers` subresource with a strategic merge patch, as kubectl does. A 404
        without a name (the subresource is missing) gives kubectl's `ephemeral containers are disabled` text."""
        try:
            response = self.core.patch_namespaced_pod_ephemeralcontainers(
                name,
                namespace,
                patch,
                _content_type=STRATEGIC_MERGE,
                _preload_content=False,
                _request_timeout=CALL_TIMEOUT,
            )
        except exceptions.ApiException as exc:
            raise Failure(
                api_errors.ephemeral_disabled(exc) or api_errors.render(exc), api_errors.message(exc)
            ) from None
        except OSError as exc:
            raise ClusterError(f"the API server did not answer: {exc}") from None
        self._note_warnings(response)
        response.release_conn()  # type: ignore[attr-defined]  # not a V1Pod: a raw response (_preload_content)

    def logs(self, pod: str, namespace: str, container: str) -> str:
        return self.call(self.core.read_namespaced_pod_log, pod, namespace, container=container)

    # -- streams --------------------------------------------------------------------------------------------

    def attach(self, pod: str, namespace: str, container: str, *, stdin: bool, tty: bool) -> Any:
        """The attach WebSocket (kubectl's query: stdout always, stderr only without a TTY)."""
        return self.websocket(
            self.core.connect_get_namespaced_pod_attach,
            pod,
            namespace,
            container=container,
            stdin=stdin,
            stdout=True,
            stderr=not tty,
            tty=tty,
        )

    def exec(self, pod: str, namespace: str, container: str, command: list[str], *, interactive: bool) -> Any:
        """The exec WebSocket: `-i -t` when interactive (then without stderr, as kubectl asks)."""
        return self.websocket(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=command,
            stdin=interactive,
            stdout=True,
            stderr=not interactive,
            tty=interactive,
        )

    def wait_container(
        self, pod: str, namespace: str, container: str, remaining: Callable[[str], float], warn: Callable[[str], None]
    ) -> bool:
        """Watch the pod until `container` runs (False) or terminated (True), like kubectl's waitForContainer;
        a waiting message goes to `warn`. `remaining(what)` is the time left (it raises when there is none).
        A container that cannot start (`stuck.NEVER_STARTS`) raises `stuck.CannotStart` at once."""
        last = "no event"
        while True:
            cancel.check()  # `-n N`: each watch lasts at most WATCH_SLICE seconds in a cancellable scope
            left = remaining(f"container {container} of pod {pod} to start (last seen: {last})")
            events = watch.Watch().stream(  # type: ignore[no-untyped-call]
                self.core.list_namespaced_pod,
                namespace,
                field_selector=f"metadata.name={pod}",
                timeout_seconds=max(int(left if cancel.current() is None else min(left, WATCH_SLICE)), 1),
                _request_timeout=left + 5,
                deserialize=False,
            )
            with contextlib.closing(events):
                for state in _states(events, container):
                    cancel.check()
                    if "running" in state or "terminated" in state:
                        return "terminated" in state
                    message = (state.get("waiting") or {}).get("message")
                    if message:
                        warn(f"Warning: container {container}: {message}")
                        last = message
                    why = stuck.state_stuck(state)
                    if why is not None:
                        raise stuck.CannotStart(
                            f"pod {pod}: container {container}: {why}; kubectl would wait for it until its timeout"
                        )

    # -- plumbing -------------------------------------------------------------------------------------------

    def call(self, method: Any, *args: Any, **kwargs: Any) -> str:
        """One API call, its answer as text; the connection goes back to the pool."""
        response = self._guarded(method, *args, _preload_content=False, _request_timeout=CALL_TIMEOUT, **kwargs)
        self._note_warnings(response)
        try:
            return str(response.data.decode("utf-8", "replace"))
        finally:
            response.release_conn()

    def _note_warnings(self, response: Any) -> None:
        headers = getattr(response, "headers", None)
        if headers is not None:
            values = headers.getlist("Warning") if hasattr(headers, "getlist") else [headers.get("Warning") or ""]
            for value in values:
                self.warnings += warning_texts(value)

    def websocket(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """A WebSocket (binary: decoded by `api_stream`), not preloaded; with the impersonation headers when
        acting as another user (`api_impersonate`)."""
        opener = api_impersonate.stream if self.impersonating else stream
        return self._guarded(opener, method, *args, binary=True, _preload_content=False, **kwargs)

    def _guarded(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except exceptions.ApiException as exc:
            raise Failure(api_errors.render(exc), api_errors.message(exc)) from None
        except OSError as exc:
            raise ClusterError(f"the API server did not answer: {exc}") from None


_WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"')


def warning_texts(header: str) -> list[str]:
    """The texts of a `Warning` header (`299 - "text", 299 - "other"`), unescaped, as client-go reads them."""
    return [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _WARNING.finditer(header)]


def _states(events: Any, container: str) -> Iterator[k8s.ContainerState]:
    """The container's state in each watch event; a DELETED pod is kubectl's NotFound."""
    for event in events:
        if event["type"] == "DELETED":
            raise Failure('Error from server (NotFound): pods "" not found')
        state = container_state(event["object"], container)
        if state is not None:
            yield state


def container_state(pod: k8s.Pod, name: str) -> k8s.ContainerState | None:
    """The state of container `name` in init, regular or ephemeral statuses (kubectl's lookup order)."""
    for found in k8s.container_statuses(pod):
        if found.get("name") == name:
            return found.get("state") or {}
    return None
