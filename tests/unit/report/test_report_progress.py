"""The progress hook of the console front end, driven by real `waiting.wait_for` waits (issue 11, item 9)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest

from kdbgtest.base import waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.report.progress import StatusLine


def _after(seconds: float) -> Callable[[], tuple[bool, str]]:
    ready_at = time.monotonic() + seconds

    def probe() -> tuple[bool, str]:
        return time.monotonic() >= ready_at, "not yet"

    return probe


def test_a_log_gets_a_line_per_period_of_a_long_wait() -> None:
    stream = io.StringIO()
    with waiting.showing_progress(StatusLine(stream, terminal=False, log_every=0.3)):
        waiting.wait_for(_after(1.0), timeout=5, what="the thing to be ready", interval=0.05)
        waiting.wait_for(_after(0.1), timeout=5, what="a quick thing", interval=0.05)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines  # at 0.3, 0.6 and 0.9 s; the quick wait says nothing
    assert all(line.startswith("kdbgtest: still waiting for the thing to be ready (") for line in lines)
    assert lines[0].endswith("s of 5s)")


def test_a_terminal_gets_one_line_rewritten_and_erased() -> None:
    stream = io.StringIO()
    with waiting.showing_progress(StatusLine(stream, terminal=True)):
        waiting.wait_for(_after(2.3), timeout=30, what="pod app to be running", interval=0.1)
    text = stream.getvalue()
    assert "\n" not in text and "\x1b" not in text
    first, second = "waiting for pod app to be running: 1s of 30s", "waiting for pod app to be running: 2s of 30s"
    assert text.startswith(f"\r{first}\r{second}")
    assert text.endswith("\r" + " " * len("waiting for pod app to be running: 2s of 30s") + "\r")


def test_without_a_hook_nothing_is_shown_and_a_timeout_still_clears_the_line() -> None:
    stream = io.StringIO()
    hook = StatusLine(stream, terminal=True)
    with waiting.showing_progress(hook), pytest.raises(StepTimeout):
        waiting.wait_for(lambda: (False, "never"), timeout=1.3, what="never", interval=0.1)
    assert stream.getvalue().endswith(" \r") and hook._width == 0
    waiting.wait_for(_after(0.2), timeout=5, what="unobserved", interval=0.05)
    assert "unobserved" not in stream.getvalue()
