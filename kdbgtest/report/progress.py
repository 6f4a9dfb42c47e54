"""What a long wait is waiting for, on stderr (a `waiting.Progress` hook the `kdbgtest` command installs).

On a terminal, a status line rewritten in place once a wait has lasted a second, and erased when it ends:

    waiting for pod app to be crashloop: 12s of 120s

Elsewhere (a CI log), one line per `log_every` seconds of a wait, so a quiet job is not mistaken for a hung one:

    kdbgtest: still waiting for the sim API server to answer (10s of 60s)

Only carriage returns and spaces move the cursor: no escape sequences, whatever NO_COLOR says.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

TTY_AFTER = 1.0  # a terminal shows waits longer than this
LOG_EVERY = 10.0  # elsewhere, a line per this many seconds of a wait


class StatusLine:
    """The `waiting.Progress` hook of the console front end."""

    def __init__(
        self, stream: TextIO | None = None, *, terminal: bool | None = None, log_every: float = LOG_EVERY
    ) -> None:
        self.stream = stream or sys.stderr
        self.terminal = _isatty(self.stream) if terminal is None else terminal
        self.log_every = log_every
        self._width = 0  # characters of the status line on screen
        self._text = ""
        self._logged = ("", 0)  # (what, how many log_every periods) last written to a log

    def waiting(self, what: str, elapsed: float, timeout: float) -> None:
        if self.terminal:
            if elapsed >= TTY_AFTER:
                self._show(f"waiting for {what}: {elapsed:.0f}s of {timeout:g}s")
            return
        periods = int(elapsed // self.log_every)
        if periods >= 1 and (what, periods) != self._logged:
            self._logged = (what, periods)
            self._write(f"kdbgtest: still waiting for {what} ({elapsed:.0f}s of {timeout:g}s)\n")

    def done(self) -> None:
        if self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width, self._text = 0, ""
        self._logged = ("", 0)

    def _show(self, text: str) -> None:
        text = text[: max(shutil.get_terminal_size().columns - 1, 20)]
        if text == self._text:
            return
        self._text = text
        self._write("\r" + text + " " * max(self._width - len(text), 0))
        self._width = max(self._width, len(text))

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: progress is not worth failing a run for
            pass


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
