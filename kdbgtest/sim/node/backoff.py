"""The kubelet's exponential back-off (client-go `flowcontrol.Backoff`) on a clock `time_scale` speeds up.

Durations are nominal (what the kubelet prints: 10s, 20s ... 5m0s); the clock runs `1/scale` times faster than
wall time, so a scale of 0.1 makes a nominal 10s back-off last one real second. An entry is forgotten when no
event touched it for twice the maximum (10 minutes by default): a container that ran that long starts again
from 10s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    backoff: float  # nominal seconds
    last_update: float  # nominal clock


class Backoff:
    """Per-key back-off, as `flowcontrol.Backoff` without jitter."""

    def __init__(
        self,
        *,
        scale: float = 1.0,
        initial: float = INITIAL,
        maximum: float = MAXIMUM,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._scale = scale
        self._initial = initial
        self._maximum = maximum
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def now(self) -> float:
        """The nominal clock: real monotonic seconds divided by the scale."""
        return self._clock() / self._scale

    def get(self, key: str) -> float:
        """The current nominal back-off of `key` (0 if none)."""
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def next(self, key: str, event_time: float) -> None:
        """Record a failure at nominal `event_time`: start at the initial delay or double, up to the max."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            entry = self._entries[key] = _Entry(self._initial, 0.0)
        else:
            entry.backoff = min(entry.backoff * 2, self._maximum)
        entry.last_update = self.now()

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        """Whether less than the back-off has passed since `event_time` (a container's finish)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            return False
        return self.now() - event_time < entry.backoff

    def in_backoff_since_update(self, key: str) -> bool:
        """Whether less than the back-off has passed since the last failure (image pulls)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(self.now(), entry):
            return False
        return self.now() - entry.last_update < entry.backoff

    def remaining(self, key: str, since: float) -> float:
        """Real seconds until the back-off that started at nominal `since` ends (0 if it already has)."""
        left = since + self.get(key) - self.now()
        return max(0.0, left * self._scale)

    def remaining_since_update(self, key: str) -> float:
        """Real seconds until the back-off that started at the last failure of `key` ends."""
        entry = self._entries.get(key)
        return self.remaining(key, entry.last_update) if entry else 0.0

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > 2 * self._maximum


def go_duration(seconds: float) -> str:
    """Format whole seconds as Go's `time.Duration.String()` does: 10s, 1m20s, 5m0s, 1h0m0s."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
