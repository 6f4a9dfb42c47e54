"""Fixture waits awaited together (runner/together.py), with real threads and real processes: results in
order, overlapping in time, the first failure named and the others stopped, programs counted for the
scenario, and a cancelled run stopping them all."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from kdbgtest.base import cancel, interrupt, process, waiting
from kdbgtest.base.errors import StepTimeout
from kdbgtest.runner import together


def waits_for(seconds: float, value: str) -> Callable[[], str]:
    def call() -> str:
        with pytest.raises(StepTimeout):
            waiting.wait_for(lambda: (False, None), timeout=seconds, what=value, interval=0.05)
        return value

    return call


def never(what: str) -> Callable[[], str]:
    return lambda: waiting.wait_for(lambda: (False, "x"), timeout=60, what=what, describe=str)


def test_results_in_order_and_awaited_at_the_same_time() -> None:
    started = time.monotonic()
    seen = together.run([("one", waits_for(1.0, "a")), ("two", waits_for(0.2, "b")), ("three", waits_for(0.6, "c"))],
                        failed=lambda label: pytest.fail(label))  # fmt: skip
    took = time.monotonic() - started
    assert seen == ["a", "b", "c"]
    assert took < 1.7, took  # the sum would be 1.8 s


def test_the_first_failure_is_named_and_stops_the_others() -> None:
    def fails() -> str:
        time.sleep(0.3)
        raise StepTimeout("fixture two never got ready")

    named: list[str] = []
    started = time.monotonic()
    with pytest.raises(StepTimeout, match="fixture two never got ready"):
        together.run([("one", never("one")), ("two", fails), ("three", never("three"))], failed=named.append)
    assert named == ["two"]
    assert time.monotonic() - started < 2.0
    assert not [t for t in threading.enumerate() if t.name.startswith("kdbgtest-together")]


def test_programs_the_helpers_start_are_counted_for_the_scenario() -> None:
    def true() -> str:
        return process.run(["true"], timeout=10).stdout

    with process.counting() as counted:
        together.run([("one", true), ("two", true), ("three", true)], failed=lambda label: None)
    assert counted["true"] == 3


def test_a_cancelled_run_stops_every_helper() -> None:
    token = cancel.Cancellation()
    raised: list[BaseException] = []

    def worker() -> None:
        with cancel.scope(token):
            try:
                together.run([("one", never("one")), ("two", never("two"))], failed=lambda label: None)
            except BaseException as exc:  # noqa: BLE001 - the test looks at it
                raised.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)
    token.cancel(interrupt.Interrupted(signal.SIGTERM))
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], interrupt.Interrupted) and raised[0].signum == signal.SIGTERM
    assert not [t for t in threading.enumerate() if t.name.startswith("kdbgtest-together")]
