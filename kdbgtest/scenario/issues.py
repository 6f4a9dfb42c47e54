"""Problems found in scenario files, each tied to a `file:line:col` position.

A `ScenarioIssue` is one sentence about one place. `ScenarioIssues` is the `ScenarioError` raised when a
caller wants an exception rather than a list; its message is every issue, one per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.base import errors


@dataclass(frozen=True, order=True)
class ScenarioIssue:
    """One mistake in a scenario file. `line` and `col` are 1-based, as editors show them."""

    path: Path
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        message = one_line(self.message)
        if self.line <= 0:  # about the file as a whole (unreadable, missing)
            return f"{self.path}: {message}"
        return f"{self.path}:{self.line}:{self.col}: {message}"


# Characters that end a line (for `str.splitlines` and terminals) or are invisible controls, written as escapes
# when a message quotes them from a file.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, 0x85)} | {
    0x09: "\\t",
    0x0A: "\\n",
    0x0D: "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(message: str) -> str:
    """`message` on one line: line breaks and control characters it quotes from a file become escapes (`\\n`)."""
    return message.translate(_CONTROLS)


class ScenarioIssues(errors.ScenarioError):
    """One or more scenario files are invalid; the message lists every issue, one per line."""

    def __init__(self, issues: Iterable[ScenarioIssue]) -> None:
        self.issues = sorted(issues)
        super().__init__(render(self.issues))


def render(issues: Iterable[ScenarioIssue]) -> str:
    """The issues as `file:line:col: message` lines, in file and line order."""
    return "\n".join(str(issue) for issue in sorted(issues))


def step_label(section: str, index: int, item: object) -> str:
    """`step 3 'attach-debug'`, `finally step 1 'cleanup'` or `fixture 2` (1-based, as users count)."""
    if section == "fixtures":
        return f"fixture {index + 1}"
    prefix = "finally step" if section == "finally" else "step"
    name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
    return f"{prefix} {index + 1} '{name}'" if isinstance(name, str) else f"{prefix} {index + 1}"


def context_of(loc: tuple[object, ...], data: object) -> str | None:
    """The step (or fixture) a data path lies in, for message prefixes; None at the scenario level."""
    if len(loc) >= 2 and loc[0] in ("steps", "finally", "fixtures") and isinstance(loc[1], int):
        section = data.get(str(loc[0])) if isinstance(data, dict) else None
        item = section[loc[1]] if isinstance(section, list) and loc[1] < len(section) else None
        return step_label(str(loc[0]), loc[1], item)
    return None
