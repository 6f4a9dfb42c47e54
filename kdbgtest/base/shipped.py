"""Files kdbgtest ships beside its code: the scenario JSON Schema, the kind configs of `clusters/` and the image
Dockerfiles of `images/`.

An installed wheel carries them as package data in `kdbgtest/_data/` (copied there by setup.py at build time);
a checkout or an editable install reads them where they live in the repository.
"""

from __future__ import annotations

from pathlib import Path

from kdbgtest.base.errors import KdbgtestError

PACKAGE = Path(__file__).resolve().parents[1]
NAMES = ("schema", "clusters", "images")


def path(name: str) -> Path:
    """The directory of shipped files `name` (one of `NAMES`)."""
    if name not in NAMES:
        raise ValueError(f"not a shipped directory: {name!r}")
    for candidate in (PACKAGE / "_data" / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise KdbgtestError(f"this kdbgtest installation lacks its {name}/ files; reinstall it from a wheel")
