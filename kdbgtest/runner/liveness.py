"""Noticing, once, that the cluster's API server stopped answering, and stopping the run there.

Without it a dead server is met step by step: each kubectl call fails with text that reads like a regression
("failed to download openapi"), an interactive step waits out its timeout and cleanup polls for 120 s. The
`Watch` thread asks the server (the kubeconfig's, for the run's context) for `/livez` every half second; any
HTTP answer, even 401, means it is alive. Connections refused, reset or timed out for `DEAD_AFTER` seconds in a
row (and `MIN_FAILURES` probes) mean it is gone: the watch raises `interrupt.ClusterLost` in the main thread
(through SIGUSR1, so that a blocking wait there is woken up), which unwinds the run like Ctrl-C.

The watch only arms itself after one answer (its first probe is made before the run starts): a server that
kdbgtest cannot reach directly (a proxy in the kubeconfig, say) is never declared dead by it.
"""

from __future__ import annotations

import contextlib
import http.client
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import yaml

from kdbgtest.base import interrupt

INTERVAL = 0.5
PROBE_TIMEOUT = 5.0
FIRST_PROBE_TIMEOUT = 1.0  # the probe before the run starts (a server that cannot be reached costs this once)
DEAD_AFTER = 2.0
MIN_FAILURES = 3


def server_url(kubeconfig: Path, context: str | None) -> str | None:
    """The API server URL of `context` (default: the current one) in `kubeconfig`, or None if unreadable."""
    try:
        config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
        name = context or config["current-context"]
        cluster = next(c["context"]["cluster"] for c in config["contexts"] if c["name"] == name)
        server = next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == cluster)
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration):
        return None
    return str(server) if server else None


def answers(url: str, *, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None if the server at `url` answers HTTP at all, else why not (refused, timed out, ...)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # liveness only: no credentials are sent, nothing is trusted
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/livez")
        connection.getresponse().read(1024)
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except (OSError, http.client.HTTPException) as exc:
        return str(exc) or type(exc).__name__
    finally:
        connection.close()
    return None


def _clock(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%H:%M:%S UTC")


class Watch:
    """Probes `url` from a thread; on death, records `lost` and raises it in the main thread once.

    `check` probes from the caller's thread (after a failure: was it the cluster?) with the same verdict."""

    def __init__(self, url: str, *, interval: float = INTERVAL, dead_after: float = DEAD_AFTER) -> None:
        self.url, self.interval, self.dead_after = url, interval, dead_after
        self.lost: interrupt.ClusterLost | None = None
        self._last_answer: float | None = None
        self._first_failure: float | None = None
        self._failures = 0
        self._raised_before = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kdbgtest-api-watch", daemon=True)
        self._main = threading.main_thread().ident

    def start(self) -> None:
        """Probe once here, then from the thread: a server killed before the thread's first probe (a busy
        machine can delay it past the run's first requests) would otherwise leave the watch unarmed for good."""
        self._observe(answers(self.url, timeout=FIRST_PROBE_TIMEOUT))
        self._thread.start()

    @property
    def armed(self) -> bool:
        """Whether the server answered at least once (only then can it be declared dead)."""
        return self._last_answer is not None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=PROBE_TIMEOUT + 1)

    def check(self) -> None:
        """Raise `lost` if the server is gone: probe until it answers or the dead criteria are met (a few
        seconds at most when it refuses); return at once if it answers or was never reached.

        A worker thread of `-n N` raises its own copy even when the main thread was told already: its failed
        step is the dead server's doing, not a test failure."""
        if not self.armed and self._thread.is_alive():
            return  # the watch thread has not reached the server yet: nothing to judge by (and no probe wait)
        while self._observe(answers(self.url)) == "failing":
            self._stop.wait(self.interval)
        if threading.current_thread() is not threading.main_thread():
            with self._lock:
                lost = self.lost
            if lost is not None:
                raise lost.again()
            return
        self.raise_once()

    def raise_once(self) -> None:
        """Raise `lost` if the server was declared dead and it was not raised yet (by `check` or SIGUSR1)."""
        with self._lock:
            lost = self.lost
            if lost is None or self._raised_before:
                return
            self._raised_before = True
        raise lost

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):  # `start` made the first probe
            seen = self._observe(answers(self.url))
            if seen in ("dead", "gone"):
                if seen == "dead" and self._main is not None and not self._stop.is_set():
                    signal.pthread_kill(self._main, signal.SIGUSR1)
                return

    def _observe(self, why: str | None) -> str:
        """Record one probe: `alive`, `failing` (not dead yet), `unarmed` (never answered) or `dead`."""
        now = time.time()
        with self._lock:
            if self.lost is not None:
                return "gone"  # declared already (by the other thread): it raises, this one stops
            if why is None:
                self._last_answer, self._first_failure, self._failures = now, None, 0
                return "alive"
            if self._last_answer is None:
                return "unarmed"
            self._first_failure = self._first_failure or now
            self._failures += 1
            if self._failures < MIN_FAILURES or now - self._first_failure < self.dead_after:
                return "failing"
            self.lost = interrupt.ClusterLost(
                f"the cluster's API server {self.url} stopped answering at {_clock(self._first_failure)} "
                f"({why}; last answer at {_clock(self._last_answer)})"
            )
            return "dead"


_current: list[Watch] = []  # the watch of the run in progress (main thread), if any


def check_now() -> None:
    """After a failure: raise `interrupt.ClusterLost` if the watched cluster stopped answering (no-op when
    nothing is watched)."""
    if _current:
        _current[-1].check()


@contextlib.contextmanager
def watching(kubeconfig: Path, context: str | None) -> Iterator[Watch | None]:
    """Watch the cluster while the block runs (main thread only; elsewhere, or without a readable server URL,
    nothing is watched and None is yielded)."""
    url = server_url(kubeconfig, context)
    if url is None or threading.current_thread() is not threading.main_thread():
        yield None
        return
    watch = Watch(url)

    def handler(signum: int, frame: FrameType | None) -> None:
        watch.raise_once()

    previous = signal.signal(signal.SIGUSR1, handler)
    watch.start()
    _current.append(watch)
    try:
        yield watch
    finally:
        _current.remove(watch)
        watch.stop()
        signal.signal(signal.SIGUSR1, previous)
