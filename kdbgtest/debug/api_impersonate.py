"""Exec and attach WebSockets that impersonate, for the API driver acting as a scenario's `as` user.

The kubernetes client's WebSocket handshake (`ws_client.create_websocket`) forwards only the Authorization
header of a request, so the client's Impersonate-User/-Group default headers would be dropped and the session
would run as the kubeconfig's own user. This module opens the same WebSocket (same URL, TLS options and
subprotocols) with the Impersonate-* headers added, through the library's stream plumbing
(`stream._websocket_request`, kubernetes 35.x), so kubectl's `--as` and the API driver ask the same thing.
"""

from __future__ import annotations

import importlib
import ssl
from io import BytesIO
from typing import Any

import certifi
from kubernetes.client import exceptions
from kubernetes.stream import ws_client
from websocket import WebSocket, WebSocketException

# The module, not the `stream` function the package exports under the same name.
_STREAM_MODULE = importlib.import_module("kubernetes.stream.stream")

IMPERSONATE = "impersonate-"


def _connect(configuration: Any, url: str, headers: dict[str, str]) -> WebSocket:
    """`ws_client.create_websocket`, also sending the Impersonate-* headers."""
    header = [f"authorization: {headers['authorization']}"] if "authorization" in headers else []
    header.append(f"sec-websocket-protocol: {ws_client.V5_CHANNEL_PROTOCOL},{ws_client.V4_CHANNEL_PROTOCOL}")
    header += [f"{k}: {v}" for k, v in headers.items() if k.lower().startswith(IMPERSONATE)]
    if url.startswith("wss://") and configuration.verify_ssl:
        ssl_opts: dict[str, Any] = {
            "cert_reqs": ssl.CERT_REQUIRED,
            "ca_certs": configuration.ssl_ca_cert or certifi.where(),
        }
        if configuration.assert_hostname is not None:
            ssl_opts["check_hostname"] = configuration.assert_hostname
    else:
        ssl_opts = {"cert_reqs": ssl.CERT_NONE}
    if configuration.cert_file:
        ssl_opts["certfile"] = configuration.cert_file
    if configuration.key_file:
        ssl_opts["keyfile"] = configuration.key_file
    if configuration.tls_server_name:
        ssl_opts["server_hostname"] = configuration.tls_server_name
    if configuration.proxy:
        raise ValueError("the API driver cannot impersonate through a proxy; use the kubectl driver")
    sock = WebSocket(sslopt=ssl_opts, skip_utf8_validation=False)
    sock.connect(url, header=header)  # type: ignore[no-untyped-call]
    return sock


class _Client(ws_client.WSClient):
    """A binary `WSClient` whose socket was opened by `_connect` (the parent's fields, set as it sets them)."""

    def __init__(self, configuration: Any, url: str, headers: dict[str, str]) -> None:
        self._connected = False
        self._channels: dict[int, bytes] = {}
        self._closed_channels: set[int] = set()
        self.binary = True
        self.newline = b"\n"
        self._all = BytesIO()  # capture_all=False in the library: nothing reads it
        self.sock = _connect(configuration, url, headers)
        self.subprotocol = getattr(self.sock, "subprotocol", None)
        self._connected = True
        self._returncode = None


def _call(configuration: Any, _method: str, url: str, **kwargs: Any) -> Any:
    """`ws_client.websocket_call` without preloading: a failed handshake is an ApiException whose reason holds
    the server's Status, as the library raises it."""
    headers = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
    try:
        return _open(configuration, url, headers, kwargs)
    except (WebSocketException, OSError, ValueError) as exc:
        raise exceptions.ApiException(status=0, reason=str(exc)) from None


def _open(configuration: Any, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> Any:
    return _Client(configuration, ws_client.get_websocket_url(url, kwargs.get("query_params")), headers)  # type: ignore[no-untyped-call]


def stream(method: Any, *args: Any, **kwargs: Any) -> Any:
    """`kubernetes.stream.stream(method, ..., binary=True, _preload_content=False)` that impersonates."""
    kwargs.pop("binary", None)
    return _STREAM_MODULE._websocket_request(_call, None, method, *args, **kwargs)


__all__ = ["stream"]
