"""Ages as people write them on the command line (`90s`, `30m`, `1h`, `2d`) and as kdbgtest prints them.

Here rather than in runner/leftovers so that parsing the options needs no Kubernetes code (start-up time).
"""

from __future__ import annotations

import re

LEFTOVER_AGE = 3600.0  # the default of --older-than / --warn-leftovers-older-than: 1h
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """`90s`, `30m`, `1h`, `2d` or `0` as seconds; ValueError with the accepted forms otherwise."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if found is None or (found.group(2) == "" and float(found.group(1)) != 0):
        raise ValueError(f"{text!r} is not an age; write e.g. 90s, 30m, 1h or 2d (0: any age)")
    return float(found.group(1)) * _UNITS.get(found.group(2) or "s", 1)


def describe_age(seconds: float) -> str:
    """`45s`, `12m`, `3h`, `2d`."""
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit]:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{int(seconds)}s"
