"""The one interactive session class: a program in a real pseudo-terminal, driven through pexpect.

Every wait has an explicit timeout. Everything the program prints goes, unmodified, to the transcript file;
assertions see the cleaned text (`kdbgtest.debug.ansi`). Expectations consume the cleaned text in order, like
pexpect: each search starts where the previous match ended.

kubectl's prompt hint: when kubectl attaches to a TTY it prints `If you don't see a command prompt, try
pressing enter.` to stderr, because the shell's first prompt was printed before anyone was attached. The
session presses Enter exactly once, as soon as that line is read, whatever call was reading at the time;
`wait_for_hint` lets a caller block until that has happened (the kubectl driver does so before a dialogue,
see `dialogue.py`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import pexpect

from kdbgtest.base import cancel, process, waiting
from kdbgtest.base.errors import StepTimeout, ToolMissing
from kdbgtest.debug import ansi
from kdbgtest.debug.expecting import ExpectingTerminal

PROMPT_HINT = "If you don't see a command prompt, try pressing enter."
ENTER = "\r"  # what the Enter key sends; the terminal driver turns it into a newline for cooked-mode readers
_TERMINATE_GRACE = 2.0  # seconds between SIGTERM and SIGKILL in close()
_READ_SIZE = 65536
_RAW_POLL = 0.02  # seconds between looks at the terminal's echo flag while waiting for raw mode


class Session(ExpectingTerminal):
    """`argv` running in a pseudo-terminal of 24x80, with a raw transcript file and a cleaned text buffer."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        transcript: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        press_enter_on_hint: bool = True,
    ) -> None:
        self.argv = [str(a) for a in argv]
        super().__init__(Path(self.argv[0]).name, transcript)
        self._cleaner = ansi.Cleaner()
        self._hint_pending = press_enter_on_hint
        self._hint_pressed = False
        process.started(self.argv[0])
        try:
            self._child = pexpect.spawn(
                self.argv[0],
                self.argv[1:],
                env={**os.environ, **(env or {})},
                cwd=str(cwd) if cwd else None,
                dimensions=(24, 80),
                encoding="utf-8",
                codec_errors="replace",
            )
        except pexpect.ExceptionPexpect as exc:
            self._log.close()
            raise ToolMissing(f"cannot start {self.argv[0]}: {exc}") from None
        self._child.logfile_read = self._log
        _no_fixed_sleeps(self._child)

    # -- what was seen ---------------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return int(self._child.pid)

    @property
    def hint_pressed(self) -> bool:
        """Whether kubectl's prompt hint was seen and answered with Enter."""
        return self._hint_pressed

    # -- expectations ----------------------------------------------------------------------------------------

    def expect_end(self, timeout: float) -> int:
        """Wait for the program to close its terminal and exit; return its exit code."""
        deadline = time.monotonic() + timeout
        self._wait(lambda: (len(self._text), True) if self._eof else None, "the program to end", timeout)
        return self._reap(max(deadline - time.monotonic(), 0.5))

    def wait_for_hint(self, timeout: float) -> bool:
        """Wait until kubectl's prompt hint was answered (True) or the program ended without one (False)."""

        def find() -> tuple[int, bool] | None:
            if self._hint_pressed or self._eof:
                return self._cursor, self._hint_pressed
            return None

        return self._wait(find, f"kubectl's {PROMPT_HINT!r} (did the container start?)", timeout)

    def wait_for_raw_mode(self, timeout: float) -> bool:
        """Wait until the program has switched its terminal to raw mode (echo off), or ended; True if raw.

        kubectl does so once it streams a TTY (`kubectl exec -it`, `debug -it`, `attach -it`). Text typed before
        then is echoed by the terminal itself, so it would show twice and an `expect` could match the echo
        instead of the program's answer; a person would wait for the prompt. StepTimeout when time runs out.
        """

        def find() -> tuple[int, bool] | None:
            if self._eof or not self._child.getecho():
                return self._cursor, not self._eof
            return None

        return self._wait(find, f"{self.name} to switch its terminal to raw mode", timeout, poll=_RAW_POLL)

    # -- input -------------------------------------------------------------------------------------------

    def send_line(self, line: str) -> None:
        """Type `line` and press Enter."""
        self._require_running(f"type {line!r}")
        self._child.send(line + ENTER)

    def send_control(self, char: str) -> None:
        """Press Ctrl plus `char` (`c`, `d`, `z`, `\\`, `l`)."""
        self._require_running(f"press Ctrl-{char.upper()}")
        self._child.sendcontrol(char)

    # -- ending ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the program if it still runs (SIGTERM to its process group, then SIGKILL), close the files.

        Safe to call more than once.
        """
        if self._log.closed:
            return
        with cancel.shielded():  # `-n N`: a cancelled run does not cut the stopping of the program short
            self._close()

    def _close(self) -> None:
        try:
            if self._child.isalive():
                self._stopped = True
                self._signal(signal.SIGTERM)
                if not self._gone_within(_TERMINATE_GRACE):
                    self._signal(signal.SIGKILL)
                    self._gone_within(_TERMINATE_GRACE)
            self._drain()
            self._child.close(force=True)
            if self._exit_code is None:
                self._exit_code = _exit_code(self._child.exitstatus, self._child.signalstatus)
        finally:
            self._append(self._cleaner.flush())
            self._log.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------------

    def _read(self, timeout: float) -> None:
        """Read one chunk (or nothing within `timeout`); note EOF; answer kubectl's prompt hint once."""
        try:
            chunk = self._child.read_nonblocking(_READ_SIZE, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self._eof = True
            self._append(self._cleaner.flush())
            return
        self._append(self._cleaner.feed(chunk))

    def _append(self, clean: str) -> None:
        start = max(len(self._text) - len(PROMPT_HINT), 0)
        self._text += clean
        if self._hint_pending and PROMPT_HINT in self._text[start:] and not self._eof:
            self._hint_pending = False
            self._hint_pressed = True
            self._child.send(ENTER)

    def _drain(self) -> None:
        """Collect output still buffered in the terminal after the program ended (without blocking)."""
        while not self._eof:
            try:
                self._append(self._cleaner.feed(self._child.read_nonblocking(_READ_SIZE, timeout=0)))
            except (pexpect.TIMEOUT, pexpect.EOF, OSError):
                break

    def _reap(self, timeout: float) -> int:
        """The exit code of a program whose terminal has closed, waiting up to `timeout` for it to exit."""
        if self._exit_code is None:
            waiting.wait_for(
                lambda: (not self._child.isalive(), None),
                timeout=timeout,
                what=f"{self.name} to exit after closing its terminal",
                interval=0.02,
            )
            self._exit_code = _exit_code(self._child.exitstatus, self._child.signalstatus)
        return self._exit_code

    def _gone_within(self, seconds: float) -> bool:
        try:
            waiting.wait_for(lambda: (not self._child.isalive(), None), timeout=seconds, what="exit", interval=0.02)
        except StepTimeout:
            return False
        return True

    def _signal(self, sig: signal.Signals) -> None:
        """Signal the program's process group (it leads its own session), or the program if that is gone."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def _ended_code(self) -> int:
        return self._reap(_TERMINATE_GRACE)


def _no_fixed_sleeps(child: pexpect.spawn) -> None:
    """Turn off pexpect's fixed sleeps: 50 ms before every send and 100 ms after closing the terminal. The
    session waits for what the terminal shows instead: typing starts once kubectl has switched the terminal to
    raw mode (`wait_for_raw_mode`), and `close` has seen the program exit (or signalled it and awaited its end)
    before it closes the terminal, so there is nothing left to give time to. (The pauses of pexpect's own
    terminate stay: they only run for a program that survived SIGKILL.)"""
    child.delaybeforesend = None
    child.delayafterclose = 0.0
    child.ptyproc.delayafterclose = 0.0  # the close that pexpect delegates to reads this one


def _exit_code(status: int | None, sig: int | None) -> int:
    """A shell-style exit code: the status, or 128 + the signal number that killed the program."""
    if status is not None:
        return int(status)
    return 128 + int(sig or 0)
