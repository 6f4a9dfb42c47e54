"""Cooperative cancellation (`kdbgtest run -n N`): a worker thread's waits, processes and terminal reads stop
soon after the main thread cancels its run, with the run's interruption, once per thread; cleanup is shielded
from a soft cancellation and not from a hard one. Real threads, real processes, a real pseudo-terminal."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kdbgtest.base import cancel, interrupt, process, waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.debug.session import Session

SOON = 1.5  # seconds within which a cancelled worker must have stopped (SLICE is 0.25; the machine is loaded)


def in_worker(token: cancel.Cancellation, body: Callable[[], object]) -> dict[str, object]:
    """Run `body` in a thread within `token`'s scope; what it returned or raised, and when it ended."""
    seen: dict[str, object] = {}

    def run() -> None:
        with cancel.scope(token):
            try:
                seen["value"] = body()
            except BaseException as exc:  # noqa: BLE001 - the test looks at what was raised
                seen["raised"] = exc
        seen["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    seen["thread"] = thread
    return seen


def cancel_and_join(token: cancel.Cancellation, seen: dict[str, object], signum: int = signal.SIGTERM) -> float:
    """Cancel after the worker got going; the seconds it took to stop."""
    time.sleep(0.3)
    cancelled = time.monotonic()
    token.cancel(interrupt.Interrupted(signum))
    thread = seen["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop"
    ended = seen["ended"]
    assert isinstance(ended, float)
    return ended - cancelled


def test_a_wait_stops_at_once_with_the_runs_interruption() -> None:
    token = cancel.Cancellation()
    seen = in_worker(token, lambda: waiting.wait_for(lambda: (False, "x"), timeout=30, what="never", interval=5))
    took = cancel_and_join(token, seen)
    raised = seen.get("raised")
    assert isinstance(raised, interrupt.Interrupted) and raised.signum == signal.SIGTERM, seen
    assert took < SOON, took


def test_a_process_is_stopped_and_its_group_gone(tmp_path: Path) -> None:
    token = cancel.Cancellation()
    pidfile = tmp_path / "pid"
    script = f"echo $$ > {pidfile}; sleep 60"
    seen = in_worker(token, lambda: process.run(["sh", "-c", script], timeout=60))
    took = cancel_and_join(token, seen, signal.SIGINT)
    raised = seen.get("raised")
    assert isinstance(raised, interrupt.Interrupted) and raised.signum == signal.SIGINT, seen
    assert took < SOON + 3.0, took  # the group gets SIGTERM; `sh` exits at once
    assert live_members(int(pidfile.read_text())) == []


def live_members(group: int) -> list[str]:
    """Processes of process group `group` that still run (zombies waiting for their reaper are ended)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            found.append(entry.name)
    return found


def test_a_terminal_expectation_stops(tmp_path: Path) -> None:
    token = cancel.Cancellation()
    sessions: list[Session] = []

    def body() -> str:
        with Session([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                     transcript=tmp_path / "t.log") as term:  # fmt: skip
            sessions.append(term)
            term.expect_text("up", timeout=30)
            return term.expect_text("never printed", timeout=60)

    seen = in_worker(token, body)
    took = cancel_and_join(token, seen)
    assert isinstance(seen.get("raised"), interrupt.Interrupted), seen
    assert took < SOON + 2.5, took  # the session's close signals the program and awaits its end
    assert sessions and sessions[0].exit_code is not None and not sessions[0].ended_by_itself


def test_raised_once_per_thread_so_cleanup_after_it_waits_normally() -> None:
    token = cancel.Cancellation()

    def body() -> str:
        with contextlib.suppress(interrupt.Interrupted):
            waiting.wait_for(lambda: (False, None), timeout=30, what="never")
        started = time.monotonic()
        with pytest.raises(StepTimeout):
            waiting.wait_for(lambda: (False, None), timeout=0.5, what="a cleanup wait")
        return f"{time.monotonic() - started:.2f}"

    seen = in_worker(token, body)
    cancel_and_join(token, seen)
    assert "raised" not in seen, seen
    assert 0.45 <= float(str(seen["value"])) < 2.0, seen


def test_shielded_cleanup_finishes_and_a_hard_cancel_cuts_it_short() -> None:
    token = cancel.Cancellation()
    phases: list[str] = []

    def body() -> None:
        with interrupt.shielded():
            with pytest.raises(StepTimeout):
                waiting.wait_for(lambda: (False, None), timeout=1.0, what="a shielded wait")
            phases.append("first cleanup finished")
            waiting.wait_for(lambda: (False, None), timeout=30, what="a long shielded wait")

    seen = in_worker(token, body)
    time.sleep(0.2)
    token.cancel(interrupt.Interrupted(signal.SIGINT))
    time.sleep(1.5)
    assert phases == ["first cleanup finished"]
    assert seen["thread"].is_alive()  # type: ignore[attr-defined]
    token.cancel(interrupt.Interrupted(signal.SIGINT), hard=True)
    seen["thread"].join(timeout=5)  # type: ignore[attr-defined]
    raised = seen.get("raised")
    assert isinstance(raised, interrupt.Interrupted) and raised.incomplete, seen


def test_outside_a_scope_nothing_is_checked() -> None:
    token = cancel.Cancellation()
    token.cancel(interrupt.Interrupted(signal.SIGTERM))
    with pytest.raises(StepTimeout):
        waiting.wait_for(lambda: (False, None), timeout=0.2, what="a wait in the main thread")


def test_a_lost_cluster_is_raised_as_itself() -> None:
    token = cancel.Cancellation()
    seen = in_worker(token, lambda: waiting.wait_for(lambda: (False, None), timeout=30, what="never"))
    time.sleep(0.2)
    token.cancel(interrupt.ClusterLost("the API server stopped answering"))
    seen["thread"].join(timeout=5)  # type: ignore[attr-defined]
    raised = seen.get("raised")
    assert isinstance(raised, interrupt.ClusterLost) and raised.message == "the API server stopped answering"


def test_a_session_being_closed_is_still_stopped_when_the_run_is_cancelled(tmp_path: Path) -> None:
    """The cancellation arrives while close() waits out the grace period of a program that ignores SIGTERM:
    close still kills it and reaps it (the interruption is noticed afterwards, not in the middle)."""
    fake = Path(__file__).parents[2] / "data" / "debug" / "fake_attach.py"
    token = cancel.Cancellation()
    sessions: list[Session] = []

    def body() -> None:
        term = Session([sys.executable, str(fake), "--stubborn"], transcript=tmp_path / "t.log")
        sessions.append(term)
        term.expect_text("try pressing enter.", 10)
        waiting.pause(0.3)  # the fake ignores SIGTERM only just after printing that line
        term.close()

    seen = in_worker(token, body)
    waiting.wait_for(lambda: (bool(sessions) and sessions[0].pid > 0, None), timeout=10, what="the session")
    time.sleep(1.0)  # into close()'s grace period (2 s) after SIGTERM
    token.cancel(interrupt.Interrupted(signal.SIGTERM))
    thread = seen["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=30)
    assert sessions[0].exit_code == 128 + 9, seen
    assert live_members(sessions[0].pid) == []
