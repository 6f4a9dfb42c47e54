"""The pins file of an image (`images/<dir>/pins.txt`), read by the builder here and by the image's Dockerfile.

One entry a line, `#` starts a comment:

    bash=5.2.15-2+b7                       a Debian package at an exact version
    go github.com/x/y/cmd/y@v1.2.3         a Go command built with `go install` (CGO off, -trimpath)
    pypi httpstat==1.3.2 sha256:HEX        a PyPI wheel (pure Python), checked against its SHA-256

Debian packages above the line `# --- dependencies` are the ones asked for; the ones below it are their
dependency closure, pinned too (`kdbgtest images build NAME --repin` rewrites that part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kdbgtest.base.errors import KdbgtestError

MARKER = "# --- dependencies"
_DEB = re.compile(r"^([a-z0-9][a-z0-9+.-]+)=([0-9][A-Za-z0-9.+~:-]*)$")
_GO = re.compile(r"^go\s+(\S+@v\S+)$")
_PYPI = re.compile(r"^pypi\s+([A-Za-z0-9_.-]+)==(\S+)\s+sha256:([0-9a-f]{64})$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str


@dataclass
class Pins:
    """What a pins file says: Debian packages (asked for, and their closure), Go commands, wheels."""

    path: Path
    requested: dict[str, str] = field(default_factory=dict)  # name -> version ("" when not pinned yet)
    closure: dict[str, str] = field(default_factory=dict)
    go: list[str] = field(default_factory=list)
    wheels: list[Wheel] = field(default_factory=list)

    def debs(self) -> dict[str, str]:
        """Every pinned Debian package, asked for or not."""
        return {**self.closure, **self.requested}


def load(path: Path) -> Pins:
    """Parse `path`; a bad line raises a one-line error naming path:line and the expected form."""
    pins = Pins(path)
    below = False
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.strip().startswith(MARKER):
            below = True
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if match := _DEB.match(line):
            (pins.closure if below else pins.requested)[match[1]] = match[2]
        elif not below and _NAME.match(line):
            pins.requested[line] = ""  # asked for, version to be pinned by --repin
        elif match := _GO.match(line):
            pins.go.append(match[1])
        elif match := _PYPI.match(line):
            pins.wheels.append(Wheel(match[1], match[2], match[3]))
        else:
            raise KdbgtestError(
                f"{path}:{number}: cannot read {line!r}; write `package=version`, `go MODULE/PATH@vX.Y.Z` or "
                "`pypi NAME==VERSION sha256:HEX`"
            )
    return pins


def rewrite(pins: Pins, resolved: dict[str, str]) -> None:
    """Write the resolved versions back: the asked-for lines get theirs, the closure below the marker is
    replaced by the other resolved packages."""
    lines = pins.path.read_text().splitlines()
    out: list[str] = []
    for raw in lines:
        if raw.strip().startswith(MARKER):
            break
        line = raw.split("#", 1)[0].strip()
        name = line.split("=", 1)[0]
        if line and name in pins.requested and name in resolved:
            comment = raw[len(raw.split("#", 1)[0]) :]
            out.append(f"{name}={resolved[name]}" + (f"  {comment}" if comment else ""))
        else:
            out.append(raw)
    out.append(f"{MARKER} (the closure of the packages above, written by `kdbgtest images build --repin`)")
    out.extend(f"{name}={version}" for name, version in sorted(resolved.items()) if name not in pins.requested)
    pins.path.write_text("\n".join(out) + "\n")
