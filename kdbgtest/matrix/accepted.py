"""Behaviour differences that are understood and accepted, with the reason, from a YAML file (`--accept FILE`).

    - scenario: copy-crashloop-shell        # fnmatch pattern
      step: previous-logs-say-why           # optional pattern (the step's name)
      aspect: output                        # optional: output | observed | skip
      contains: 'BusyBox v'                 # optional: the difference's summary or diff contains this
      why: stdout and stderr lines reach the log in either order on a real runtime

A matching difference is still listed, marked accepted with its reason; one that matches nothing stays open.
`clusters/local/accepted-differences.yaml` holds what kdbgtest accepts between the sim and the local cluster.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from kdbgtest.matrix import model
from kdbgtest.matrix.spec import MatrixError, read_yaml

_KEYS = {"scenario", "step", "aspect", "contains", "why"}


@dataclass(frozen=True)
class Rule:
    scenario: str
    why: str
    step: str = "*"
    aspect: str = "*"
    contains: str = ""

    def matches(self, difference: model.Difference, diff_text: str) -> bool:
        return (
            fnmatch.fnmatchcase(difference.scenario, self.scenario)
            and fnmatch.fnmatchcase(difference.step or "", self.step)
            and fnmatch.fnmatchcase(difference.aspect, self.aspect)
            and (not self.contains or self.contains in difference.summary or self.contains in diff_text)
        )


def load(path: Path) -> list[Rule]:
    """The rules of `path`; a malformed entry is a one-line error naming the file and the entry."""
    data = read_yaml(path, "accepted differences") or []
    if not isinstance(data, list):
        raise MatrixError(f"{path}: expected a list of entries with `scenario` and `why`")
    rules = []
    for number, entry in enumerate(data, start=1):
        unknown = set(entry) - _KEYS if isinstance(entry, dict) else set()
        if not isinstance(entry, dict) or unknown or not entry.get("scenario") or not entry.get("why"):
            extra = f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""
            raise MatrixError(f"{path}: entry {number} needs `scenario` and `why`{extra}; keys: {sorted(_KEYS)}")
        rules.append(Rule(**{k: str(v) for k, v in entry.items()}))
    return rules


def apply(matrix: model.Matrix, diffs: dict[str, str], rules: list[Rule]) -> model.Matrix:
    """`matrix` with every difference that a rule matches marked accepted (the first matching rule's reason)."""
    marked = []
    for difference in matrix.differences:
        text = diffs.get(difference.diff or "", "")
        rule = next((r for r in rules if r.matches(difference, text)), None)
        marked.append(dataclasses.replace(difference, accepted=rule.why) if rule else difference)
    return dataclasses.replace(matrix, differences=marked)
