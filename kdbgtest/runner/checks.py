"""Evaluating a step's checks: output checks on text, value checks on API objects.

Each check returns readable failure reasons (expected vs actual, with the tail of the text) and the named
regex groups it matched, which become variables for later steps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import jmespath
import jmespath.exceptions

from kdbgtest.scenario import model

TAIL_LINES = 15


@dataclass
class CheckResult:
    """Failures (empty: every check held) and the values captured by named regex groups."""

    failures: list[str] = field(default_factory=list)
    captures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def merge(self, other: CheckResult) -> None:
        self.failures.extend(other.failures)
        self.captures.update(other.captures)


def as_list(value: model.Strings | None) -> list[str]:
    """A `str | list[str]` field as a list (None: empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `text`, for failure messages."""
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)


def _nonempty_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def check_output(check: model.OutputCheck, text: str, label: str) -> CheckResult:
    """Evaluate an `OutputCheck` on `text` (`label` names the stream in messages: stdout, transcript...)."""
    result = CheckResult()
    fail = result.failures.append
    for literal in as_list(check.contains):
        if literal not in text:
            fail(f"{label} does not contain {literal!r}")
    for literal in as_list(check.not_contains):
        if literal in text:
            fail(f"{label} contains {literal!r}, which it must not")
    for pattern in as_list(check.regex):
        match = re.search(pattern, text, re.MULTILINE)
        if match is None:
            fail(f"{label} does not match regex {pattern!r}")
        else:
            result.captures.update({k: v for k, v in match.groupdict().items() if v is not None})
    for pattern in as_list(check.not_regex):
        match = re.search(pattern, text, re.MULTILINE)
        if match is not None:
            fail(f"{label} matches regex {pattern!r} (at {match.group(0)!r}), which it must not")
    if check.equals is not None and text.strip() != check.equals.strip():
        fail(f"{label} is not equal to {check.equals.strip()!r}")
    _check_line_counts(check, text, label, result)
    if result.failures:
        shown = tail(text)
        result.failures.append(f"{label} (last {TAIL_LINES} lines):\n{shown}" if shown else f"{label} was empty")
    return result


def _check_line_counts(check: model.OutputCheck, text: str, label: str, result: CheckResult) -> None:
    count = _nonempty_lines(text)
    if check.lines is not None and count != check.lines:
        result.failures.append(f"{label} has {count} non-empty lines, expected {check.lines}")
    if check.min_lines is not None and count < check.min_lines:
        result.failures.append(f"{label} has {count} non-empty lines, expected at least {check.min_lines}")
    if check.max_lines is not None and count > check.max_lines:
        result.failures.append(f"{label} has {count} non-empty lines, expected at most {check.max_lines}")


def check_command(
    expect: model.CommandExpect, exit_code: int | None, stdout: str, stderr: str, output: str
) -> CheckResult:
    """Evaluate a `CommandExpect` on a finished command."""
    result = CheckResult()
    if expect.exit_code is not None and exit_code != expect.exit_code:
        result.failures.append(f"exit code {exit_code}, expected {expect.exit_code}")
    for check, text, label in (
        (expect.stdout, stdout, "stdout"),
        (expect.stderr, stderr, "stderr"),
        (expect.output, output, "output"),
    ):
        if check is not None:
            result.merge(check_output(check, text, label))
    if result.failures and expect.exit_code is not None and exit_code != expect.exit_code:
        # An unexpected exit status is easier to understand with what the command printed.
        shown = tail(output)
        if shown and not any(f.startswith("output (last") for f in result.failures):
            result.failures.append(f"output (last {TAIL_LINES} lines):\n{shown}")
    return result


# ------------------------------------------------------------------------------------------------------------
# Values extracted from API objects


def show(value: Any, limit: int = 200) -> str:
    """A value as JSON, shortened for messages."""
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def same(actual: Any, expected: Any) -> bool:
    """Equality that also accepts `"2"` for `2` (values substituted from variables are strings)."""
    if actual == expected:
        return True
    if isinstance(actual, dict | list) or isinstance(expected, dict | list):
        return False
    return _scalar_text(actual) == _scalar_text(expected)


def extract(path: str, obj: Any) -> Any:
    """The value at JMESPath `path` in `obj` (None when absent)."""
    try:
        return jmespath.search(path, obj)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"bad JMESPath expression {path!r}: {exc}") from None


def check_value(check: model.ValueCheck, obj: Any) -> CheckResult:
    """Evaluate one `ValueCheck` on an API object. `equals: null` counts when written explicitly."""
    result = CheckResult()
    value = extract(check.path, obj)
    where = f"{check.path} = {show(value)}"
    fail = result.failures.append
    given = check.model_fields_set
    if "equals" in given and not same(value, check.equals):
        fail(f"{where}, expected {show(check.equals)}")
    if "not_equals" in given and same(value, check.not_equals):
        fail(f"{where}, expected anything else")
    if check.exists is True and value is None:
        fail(f"{check.path} does not exist (null), expected a value")
    if check.exists is False and value is not None:
        fail(f"{where}, expected it not to exist")
    if "contains" in given and not _contains(value, check.contains):
        fail(f"{where}, expected it to contain {show(check.contains)}")
    if check.regex is not None:
        _check_value_regex(check.regex, value, where, result)
    _check_length(check, value, where, result)
    return result


def _contains(value: Any, wanted: Any) -> bool:
    if isinstance(value, str):
        return _scalar_text(wanted) in value
    if isinstance(value, list):
        return any(same(item, wanted) for item in value)
    if isinstance(value, dict):
        return _scalar_text(wanted) in value
    return False


def _check_value_regex(pattern: str, value: Any, where: str, result: CheckResult) -> None:
    if value is None:
        result.failures.append(f"{where}, expected a value matching regex {pattern!r}")
        return
    if re.search(pattern, _scalar_text(value)) is None:
        result.failures.append(f"{where}, expected it to match regex {pattern!r}")


def _check_length(check: model.ValueCheck, value: Any, where: str, result: CheckResult) -> None:
    if check.length is None and check.min_length is None:
        return
    if not isinstance(value, list | dict | str):
        result.failures.append(f"{where} has no length, expected a list, object or string")
        return
    size = len(value)
    if check.length is not None and size != check.length:
        result.failures.append(f"{where} has length {size}, expected {check.length}")
    if check.min_length is not None and size < check.min_length:
        result.failures.append(f"{where} has length {size}, expected at least {check.min_length}")


def check_values(checks: list[model.ValueCheck], obj: Any) -> CheckResult:
    """Evaluate every check on one object and collect all failures."""
    result = CheckResult()
    for check in checks:
        result.merge(check_value(check, obj))
    return result
