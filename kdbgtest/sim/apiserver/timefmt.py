"""Ages as the server-side printers write them (apimachinery `duration.HumanDuration`)."""

from __future__ import annotations

from datetime import UTC, datetime

from kdbgtest.sim.apiserver import objects


def human_duration(seconds: float) -> str:
    """`5s`, `2m3s`, `15m`, `3h20m`, `2d4h` ... exactly as kubectl shows AGE."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return f"{minutes}m" if secs % 60 == 0 else f"{minutes}m{secs % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d" if hours % 24 == 0 else f"{days}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        return f"{years}y" if days % 365 == 0 else f"{years}y{days % 365}d"
    return f"{years}y"


def since(stamp: str | None) -> str:
    """Age of an RFC 3339 timestamp, `<unknown>` when unset."""
    if not stamp:
        return "<unknown>"
    try:
        when = objects.parse_time(stamp)
    except ValueError:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return human_duration((datetime.now(UTC) - when).total_seconds())
