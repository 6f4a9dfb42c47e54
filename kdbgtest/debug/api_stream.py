"""Attach and exec streams of the API driver: a dialogue terminal over the client's WebSocket; a collector.

The kubernetes client's `WSClient` (subprotocol v5.channel.k8s.io, else v4) carries channels 0 stdin,
1 stdout, 2 stderr, 3 status (a metav1.Status when the command ends) and 4 resize. It is opened in binary mode
and decoded incrementally, so a UTF-8 character split across frames stays whole.

`StreamTerminal` offers what `kdbgtest.debug.dialogue` plays against (the same methods as the pexpect
`Session`): a cleaned text buffer consumed by expectations in order, a raw transcript file, and a deadline on
every wait. It reproduces what kubectl's side of a terminal shows: the lines kubectl prints before attaching,
the container's output, and (via `on_end`) what kubectl prints when the stream ends. Without a TTY, kubectl
runs in a cooked pseudo-terminal that echoes typed lines; the terminal echoes them the same way.

Honest limits: Ctrl-C/Ctrl-Z/Ctrl-\\ without a TTY would signal kubectl itself, which has no equivalent here
(refused as a scenario error); Ctrl-D without a TTY closes stdin only on the v5 protocol.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

from kdbgtest.base import cancel
from kdbgtest.base.errors import ScenarioError, StepTimeout
from kdbgtest.debug import ansi
from kdbgtest.debug.expecting import ExpectingTerminal

STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
# The size kubectl sends from a 24x80 pseudo-terminal. When it attaches to a running TTY it first sends one
# size larger, so that the program redraws its screen (kubectl attach); exec sends the size once.
RESIZE_LARGER, RESIZE_ACTUAL = b'{"Width":81,"Height":25}', b'{"Width":80,"Height":24}'


@dataclass(frozen=True)
class Ended:
    """How a stream ended, read from the status channel as kubectl reads it."""

    code: int  # the exit code kubectl would exit with
    line: str = ""  # what kubectl prints: `command terminated with exit code N`, `error: MESSAGE`, or nothing
    error: str = ""  # for a failure other than an exit code: the status message


def exit_status(raw: bytes) -> Ended:
    """Success is code 0; NonZeroExitCode is N with `command terminated with exit code N`; any other failure
    is 1 with `error: MESSAGE`. A stream that ended without a status counts as success (as in kubectl)."""
    if not raw.strip():
        return Ended(0)
    status = json.loads(raw.decode("utf-8", "replace"))
    if status.get("status") == "Success":
        return Ended(0)
    if status.get("reason") == "NonZeroExitCode":
        causes = (status.get("details") or {}).get("causes") or []
        code = next((int(c["message"]) for c in causes if c.get("reason") == "ExitCode"), 1)
        return Ended(code, f"command terminated with exit code {code}")
    message = str(status.get("message") or "the stream ended with a failure status")
    return Ended(1, f"error: {message}", message)


def default_end(ended: Ended) -> tuple[str, int]:
    """What kubectl prints when the stream ends (CRLF: it is a terminal), and its exit code."""
    return (ended.line + "\r\n" if ended.line else ""), ended.code


def close(ws: Any) -> None:
    """Close a WebSocket and its socket. (websocket-client's `close` returns early, leaving the socket open,
    when the server has already closed the connection.)"""
    ws.close()
    sock = getattr(ws, "sock", None)
    if sock is not None:
        sock.shutdown()


class Channels:
    """Incremental reading of one WebSocket: decoded stdout/stderr chunks, the raw status, and EOF."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.status = b""
        self.lost = False  # the connection broke without a close frame
        self._decoders = {ch: codecs.getincrementaldecoder("utf-8")("replace") for ch in (STDOUT, STDERR)}

    @property
    def open(self) -> bool:
        return bool(self.ws.is_open()) and not self.lost

    def read(self, timeout: float) -> tuple[str, str]:
        """Wait up to `timeout` for frames; return the (stdout, stderr) text they carried."""
        try:
            self.ws.update(timeout=max(timeout, 0.0))
        except (websocket.WebSocketException, OSError):
            self.lost = True
        self.status += self.ws.read_channel(STATUS) or b""
        out, err = (self.ws.read_channel(ch) or b"" for ch in (STDOUT, STDERR))
        final = not self.open
        return self._decoders[STDOUT].decode(out, final), self._decoders[STDERR].decode(err, final)


def collect(ws: Any, timeout: float, what: str) -> tuple[str, str, bytes]:
    """Read a non-interactive stream to its end: (stdout, stderr, raw status). Raises StepTimeout."""
    channels = Channels(ws)
    deadline = time.monotonic() + timeout
    out: list[str] = []
    err: list[str] = []
    try:
        while channels.open:
            cancel.check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "".join(out)[-2000:]
                raise StepTimeout(f"timed out after {timeout:g}s waiting for {what} to end; output so far: {seen!r}")
            chunk_out, chunk_err = channels.read(cancel.slice_of(min(remaining, 1.0)))
            out.append(chunk_out)
            err.append(chunk_err)
    finally:
        close(ws)
    return "".join(out), "".join(err), channels.status


class StreamTerminal(ExpectingTerminal):
    """An attach/exec WebSocket as a dialogue terminal (see the module docstring)."""

    def __init__(
        self,
        ws: Any,
        *,
        name: str,
        transcript: Path,
        tty: bool,
        preface: str = "",
        press_enter: bool = False,
        redraw: bool = False,
        on_end: Callable[[Ended], tuple[str, int]] = default_end,
    ) -> None:
        super().__init__(name, transcript)
        self._channels = Channels(ws)
        self._tty = tty
        self._on_end = on_end
        self._cleaner = ansi.Cleaner()
        self._append(preface)
        if tty:
            for size in (RESIZE_LARGER, RESIZE_ACTUAL) if redraw else (RESIZE_ACTUAL,):
                ws.write_channel(RESIZE, size)
        self._hint_pressed = press_enter
        if press_enter:  # kubectl's session presses Enter once after the prompt hint (session.py)
            self.send_line("")

    # -- expectations (expect_text and expect_regex come from ExpectingTerminal) ----------------------------

    def expect_end(self, timeout: float) -> int:
        self._wait(lambda: (len(self._text), True) if self._eof else None, "the session to end", timeout)
        return self._ended_code()

    def wait_for_hint(self, timeout: float) -> bool:
        """The driver printed the hint and pressed Enter when it attached: nothing to wait for."""
        return self._hint_pressed

    def wait_for_raw_mode(self, timeout: float) -> bool:
        """No local terminal echoes here: typed text goes straight to the stream."""
        return not self._eof

    # -- input ----------------------------------------------------------------------------------------------

    def send_line(self, line: str) -> None:
        self._require_running(f"type {line!r}")
        if self._tty:
            self._channels.ws.write_channel(STDIN, (line + "\r").encode())
        else:  # kubectl's cooked terminal: echoed locally, sent with a newline
            self._append(line + "\r\n")
            self._channels.ws.write_channel(STDIN, (line + "\n").encode())

    def send_control(self, char: str) -> None:
        self._require_running(f"press Ctrl-{char.upper()}")
        if self._tty:
            self._channels.ws.write_channel(STDIN, bytes([ord(char.upper()) & 0x1F]))
        elif char == "d":
            self._channels.ws.close_channel(STDIN)
        else:
            raise ScenarioError(
                f"Ctrl-{char.upper()} in a session without a TTY signals kubectl itself; the API driver "
                "cannot do that: use tty: true or driver: kubectl"
            )

    # -- ending ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the stream (kdbgtest stops the session if it still runs) and the transcript. Idempotent."""
        if self._log.closed:
            return
        if not self._eof:
            self._stopped = True
        close(self._channels.ws)
        self._log.close()

    # -- internals ------------------------------------------------------------------------------------------

    def _read(self, timeout: float) -> None:
        out, err = self._channels.read(min(timeout, 1.0))
        self._append(out + err)
        if not self._channels.open and not self._eof:
            end, code = self._on_end(exit_status(self._channels.status))
            self._append(end)
            self._append_clean(self._cleaner.flush())
            self._exit_code, self._eof = code, True

    def _append(self, raw: str) -> None:
        if raw:
            self._log.write(raw)
            self._log.flush()
            self._append_clean(self._cleaner.feed(raw))

    def _append_clean(self, clean: str) -> None:
        self._text += clean

    def _ended_code(self) -> int:
        assert self._exit_code is not None  # set together with _eof
        return self._exit_code
