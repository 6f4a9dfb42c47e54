"""`waiting.wait_for` with `max_interval`: pauses start short and grow by half up to the cap; the deadline and
the last observation are kept as without it."""

from __future__ import annotations

import itertools
import time

import pytest

from kdbgtest.base import waiting
from kdbgtest.base.errors import StepTimeout


def _probe_times(done_after: int, **options: float) -> list[float]:
    stamps: list[float] = []

    def probe() -> tuple[bool, int]:
        stamps.append(time.monotonic())
        return len(stamps) > done_after, len(stamps)

    waiting.wait_for(probe, timeout=10, what="the probe", **options)  # type: ignore[arg-type]
    return [later - earlier for earlier, later in itertools.pairwise(stamps)]


def test_pauses_grow_by_half_up_to_the_cap() -> None:
    gaps = _probe_times(6, interval=0.04, max_interval=0.1)
    expected = [0.04, 0.06, 0.09, 0.1, 0.1, 0.1]
    assert len(gaps) == len(expected)
    for gap, want in zip(gaps, expected, strict=True):
        assert want - 0.005 <= gap < want + 0.1, (gaps, expected)  # generous: a loaded machine sleeps longer
    assert sum(gaps) < 0.49 + 0.3  # never more than the cap


def test_without_a_cap_the_interval_stays_fixed() -> None:
    gaps = _probe_times(3, interval=0.03)
    assert all(0.025 <= gap < 0.07 for gap in gaps), gaps


def test_the_deadline_and_last_observation_hold_with_a_cap() -> None:
    started = time.monotonic()
    with pytest.raises(StepTimeout, match=r"timed out after 0.3s waiting for never; last seen: 'still no'"):
        waiting.wait_for(lambda: (False, "still no"), timeout=0.3, what="never", interval=0.01, max_interval=1.0)
    assert 0.3 <= time.monotonic() - started < 0.6
