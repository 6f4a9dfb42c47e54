"""The API server watch against a real HTTP server on loopback: any answer (401 too) is alive; once the server
is gone, the main thread gets `ClusterLost` (woken from a blocking wait) with when it stopped answering; a
server that never answered is never declared dead; `check_now` after a failure decides at once."""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdbgtest.base import interrupt, waiting
from kdbgtest.runner import liveness


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def _kubeconfig(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        f"apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {{server: '{url}'}}\n"
        "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user: {token: t}\n"
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_any_http_answer_is_alive_and_a_closed_port_is_refused(
    server: http.server.ThreadingHTTPServer,
) -> None:
    assert liveness.answers(_url(server)) is None
    assert liveness.answers(f"http://127.0.0.1:{_free_port()}") == "connection refused"


def test_server_url_is_read_for_the_context(tmp_path: Path) -> None:
    assert liveness.server_url(_kubeconfig(tmp_path, "https://10.0.0.1:6443"), None) == "https://10.0.0.1:6443"
    assert liveness.server_url(_kubeconfig(tmp_path, "https://x"), "no-such-context") is None


def test_a_server_that_goes_away_interrupts_the_main_thread(
    server: http.server.ThreadingHTTPServer, tmp_path: Path
) -> None:
    url = _url(server)
    with (
        pytest.raises(interrupt.ClusterLost) as caught,
        liveness.watching(_kubeconfig(tmp_path, url), None) as watch,
    ):
        assert watch is not None
        liveness.check_now()  # it answers: nothing happens
        waiting.wait_for(lambda: (watch.armed, None), timeout=60, what="a first answer", interval=0.05)
        server.shutdown()
        server.server_close()
        stopped = time.monotonic()
        threading.Event().wait(60)  # a blocking wait, as a run's kubectl call would be
    took = time.monotonic() - stopped
    assert took < 30, f"declared dead only after {took:.1f}s"
    assert caught.value.exit_code == 2
    assert re.fullmatch(
        rf"the cluster's API server {re.escape(url)} stopped answering at \d\d:\d\d:\d\d UTC "
        r"\(connection refused; last answer at \d\d:\d\d:\d\d UTC\)",
        caught.value.message,
    ), caught.value.message


def test_the_watch_is_armed_before_the_run_begins(server: http.server.ThreadingHTTPServer, tmp_path: Path) -> None:
    """The server killed right after the run's first requests, before the watch thread's first probe (a busy
    machine delays threads): a failure then is still judged, so the run stops as lost (a chaos test saw exit 1
    and every later scenario tried when the watch had never been armed)."""
    with liveness.watching(_kubeconfig(tmp_path, _url(server)), None) as watch:
        assert watch is not None and watch.armed
        server.shutdown()
        server.server_close()
        with pytest.raises(interrupt.ClusterLost):
            liveness.check_now()  # the main thread after its step failed


def test_check_now_after_a_failure_declares_a_dead_server_at_once(
    server: http.server.ThreadingHTTPServer,
) -> None:
    watch = liveness.Watch(_url(server))  # not started: only `check` probes
    watch.check()
    server.shutdown()
    server.server_close()
    with pytest.raises(interrupt.ClusterLost):
        watch.check()
    watch.check()  # raised once only: a second caller (the SIGUSR1 handler) stays quiet


def test_a_server_never_reached_is_never_declared_dead() -> None:
    watch = liveness.Watch(f"http://127.0.0.1:{_free_port()}")
    for _ in range(liveness.MIN_FAILURES + 2):
        watch.check()  # a proxy-only cluster, say: kdbgtest cannot judge it, so it stays out of the way
    assert watch.lost is None


def test_a_worker_thread_is_told_even_after_the_main_thread_was(
    server: http.server.ThreadingHTTPServer,
) -> None:
    """`-n N`: a worker whose step failed against the dead server asks too, after the main thread has had its
    one `ClusterLost`; it gets a copy, so its scenario stops as lost instead of failing its step."""
    watch = liveness.Watch(_url(server))
    watch.check()
    server.shutdown()
    server.server_close()
    with pytest.raises(interrupt.ClusterLost):
        watch.check()  # the main thread
    seen: list[BaseException] = []

    def worker() -> None:
        try:
            watch.check()
        except interrupt.ClusterLost as exc:
            seen.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=30)
    assert len(seen) == 1 and isinstance(seen[0], interrupt.ClusterLost)
    assert watch.lost is not None and seen[0] is not watch.lost and seen[0].message == watch.lost.message
