"""Expectations over a terminal's cleaned output, shared by kubectl's pexpect `Session` and the API driver's
`StreamTerminal`.

A subclass reads its source in chunks (`_read`), appends the cleaned text to `_text`, sets `_eof` when the
source has ended, and says the exit code once it has (`_ended_code`, kept in `_exit_code`); `close` stops the
source (setting `_stopped` if it had to end it) and closes the raw transcript `_log`. Expectations consume
`_text` in order, like pexpect: each search starts where the previous match ended. Every wait has a deadline
and, when it fails, says what was last seen.
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kdbgtest.base import cancel
from kdbgtest.base.errors import StepFailed, StepTimeout

TAIL_LINES = 20
SETTLE = 0.05  # seconds a regex match at the very end of the output waits for the rest of the line
T = TypeVar("T")


class ExpectingTerminal(abc.ABC):
    """Cleaned output consumed by `expect_text` / `expect_regex`; see the module docstring."""

    def __init__(self, name: str, transcript: Path) -> None:
        self.name = name
        self.transcript = transcript  # the raw output, unmodified
        self._text = ""
        self._cursor = 0
        self._eof = False
        self._exit_code: int | None = None
        self._stopped = False  # close() had to stop the program
        transcript.parent.mkdir(parents=True, exist_ok=True)
        self._log = transcript.open("w", encoding="utf-8", newline="")

    @abc.abstractmethod
    def _read(self, timeout: float) -> None:
        """Read one chunk (or nothing within `timeout`) into `_text`; set `_eof` when the source has ended."""

    @abc.abstractmethod
    def _ended_code(self) -> int:
        """The exit code, once `_eof` is set."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the program if it still runs (setting `_stopped`) and close the transcript. Idempotent."""

    # -- what was seen ---------------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """Everything printed so far, cleaned of escape sequences."""
        return self._text

    @property
    def exit_code(self) -> int | None:
        """The exit code once the program has ended (for kubectl, 128+N for a signal N), else None."""
        return self._exit_code

    @property
    def ended_by_itself(self) -> bool:
        """After close(): whether the program had ended before close() would have had to stop it."""
        return not self._stopped

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last `lines` lines of the cleaned text."""
        return "\n".join(self._text.splitlines()[-lines:])

    # -- expectations ----------------------------------------------------------------------------------------

    def expect_text(self, literal: str, timeout: float) -> str:
        """Wait for `literal`; return the text consumed, up to and including it."""

        def find() -> tuple[int, str] | None:
            at = self._text.find(literal, self._cursor)
            return None if at < 0 else (at + len(literal), "")

        start = self._cursor
        self._wait(find, f"the text {literal!r}", timeout)
        return self._text[start : self._cursor]

    def expect_regex(self, pattern: str | re.Pattern[str], timeout: float) -> dict[str, str]:
        """Wait for a match of `pattern` (MULTILINE: `^`/`$` match at line ends); return its named groups.

        A match that ends where the output so far ends is accepted only when the output pauses (see `_wait`),
        so `^\\d+$` does not capture `1` of a `12` that arrives in two pieces.
        """
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern

        def find() -> tuple[int, re.Match[str]] | None:
            match = regex.search(self._text, self._cursor)
            return None if match is None else (match.end(), match)

        match = self._wait(find, f"the regex {regex.pattern!r}", timeout, settle=True)
        return {k: v for k, v in match.groupdict().items() if v is not None}

    # -- internals -------------------------------------------------------------------------------------------

    def _wait(
        self,
        find: Callable[[], tuple[int, T] | None],
        what: str,
        timeout: float,
        *,
        settle: bool = False,
        poll: float | None = None,
    ) -> T:
        """Read until `find` returns (new cursor, value); raise StepTimeout/StepFailed with the last lines.

        With `settle`, a match that ends exactly where the output so far ends (a regex `$` or `\\d+` may have
        matched half a line) is only accepted once no more output arrives within `SETTLE` seconds. With `poll`,
        `find` is asked again at least that often even without output (for a state that output does not show).
        """
        deadline = time.monotonic() + timeout
        while True:
            cancel.check()  # `-n N`: a cancelled run stops here, between reads of at most `cancel.SLICE`
            found = find()
            at_end = found is not None and found[0] == len(self._text)
            if at_end and settle and not self._eof and time.monotonic() < deadline:
                size = len(self._text)
                self._read(SETTLE)
                if len(self._text) != size:
                    continue
            if found is not None:
                self._cursor, value = found
                return value
            if self._eof:
                code = self._ended_code()
                raise StepFailed(f"{self.name} ended with exit code {code} while waiting for {what}{self._seen()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(f"timed out after {timeout:g}s waiting for {what}{self._seen()}")
            self._read(cancel.slice_of(remaining if poll is None else min(remaining, poll)))

    def _require_running(self, action: str) -> None:
        """StepFailed naming `action` if the program has already ended."""
        if self._eof:
            code = self._ended_code()
            raise StepFailed(f"cannot {action}: {self.name} already ended with exit code {code}{self._seen()}")

    def _seen(self) -> str:
        lines = self._text.splitlines()[-TAIL_LINES:]
        if not lines:
            return "; it printed nothing"
        body = "\n".join("  | " + line for line in lines)
        return f"; the last {len(lines)} lines seen:\n{body}"
