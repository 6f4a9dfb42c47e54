"""Output and value matchers: what passes, what fails, and the exact failure sentences."""

from __future__ import annotations

import pytest

from kdbgtest.runner import checks
from kdbgtest.scenario import model

TEXT = "Defaulting debug container name to debugger-x7k2p.\n/ # ps\nPID   USER\n    1 root  sleep 3600\n"


def out(**kwargs: object) -> model.OutputCheck:
    return model.OutputCheck.model_validate(kwargs)


def value(**kwargs: object) -> model.ValueCheck:
    return model.ValueCheck.model_validate(kwargs)


def test_output_checks_pass_and_capture_named_groups() -> None:
    check = out(
        contains=["sleep 3600", "PID"],
        not_contains="panic",
        regex=r"name to (?P<debugger>debugger-\w+)\.",
        not_regex="^error",
        min_lines=3,
        max_lines=4,
        lines=4,
    )
    result = checks.check_output(check, TEXT, "stdout")
    assert result.ok, result.failures
    assert result.captures == {"debugger": "debugger-x7k2p"}


def test_output_failures_name_expected_and_show_the_tail() -> None:
    result = checks.check_output(out(contains="sleep 60", not_contains="root", lines=2), TEXT, "transcript")
    assert result.failures[:3] == [
        "transcript does not contain 'sleep 60'",
        "transcript contains 'root', which it must not",
        "transcript has 4 non-empty lines, expected 2",
    ]
    assert result.failures[3].startswith("transcript (last 15 lines):\nDefaulting debug")
    assert result.failures[3].endswith("1 root  sleep 3600")


def test_regex_failure_and_not_regex_shows_the_match() -> None:
    result = checks.check_output(out(regex=r"debugger-\d{9}", not_regex=r"PID\s+USER"), TEXT, "output")
    assert result.failures[0] == r"output does not match regex 'debugger-\\d{9}'"
    assert result.failures[1] == r"output matches regex 'PID\\s+USER' (at 'PID   USER'), which it must not"


def test_equals_strips_outer_whitespace_and_empty_text_is_named() -> None:
    assert checks.check_output(out(equals="hello"), "\n hello \n", "stdout").ok
    result = checks.check_output(out(equals="hello"), "", "stderr")
    assert result.failures == ["stderr is not equal to 'hello'", "stderr was empty"]


def test_command_exit_code_mismatch_shows_output() -> None:
    expect = model.CommandExpect(exit_code=0)
    result = checks.check_command(expect, 1, "", "error: pod not found\n", "error: pod not found\n")
    assert result.failures == ["exit code 1, expected 0", "output (last 15 lines):\nerror: pod not found"]
    assert checks.check_command(model.CommandExpect(exit_code=None), 7, "", "", "").ok


def test_command_checks_each_stream() -> None:
    expect = model.CommandExpect.model_validate(
        {"exit_code": 1, "stderr": {"contains": "NotFound"}, "stdout": {"equals": ""}}
    )
    assert checks.check_command(expect, 1, "", "Error from server (NotFound)", "Error from server (NotFound)").ok
    failed = checks.check_command(expect, 1, "x", "other", "x\nother")
    assert failed.failures[0] == "stdout is not equal to ''"
    assert "stderr does not contain 'NotFound'" in failed.failures


POD = {
    "spec": {"ephemeralContainers": [{"name": "debugger-abcde", "targetContainerName": "app"}]},
    "status": {
        "ephemeralContainerStatuses": [
            {"name": "debugger-abcde", "restartCount": 0, "state": {"running": {"startedAt": "x"}}}
        ]
    },
    "metadata": {"labels": {"app": "web"}},
}


@pytest.mark.parametrize(
    "check",
    [
        {"path": "spec.ephemeralContainers[0].targetContainerName", "equals": "app"},
        {"path": "status.ephemeralContainerStatuses[0].restartCount", "equals": "0"},  # substituted strings
        {"path": "status.ephemeralContainerStatuses[0].state.running", "exists": True},
        {"path": "status.ephemeralContainerStatuses[0].state.terminated", "exists": False},
        {"path": "status.ephemeralContainerStatuses[0].state.terminated", "equals": None},
        {"path": "spec.ephemeralContainers[*].name", "contains": "debugger-abcde"},
        {"path": "spec.ephemeralContainers", "length": 1},
        {"path": "metadata.labels", "contains": "app", "min_length": 1},
        {"path": "spec.ephemeralContainers[0].name", "regex": "^debugger-[a-z]{5}$", "not_equals": "app"},
    ],
)
def test_value_checks_that_hold(check: dict[str, object]) -> None:
    result = checks.check_value(value(**check), POD)
    assert result.ok, result.failures


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            {"path": "spec.ephemeralContainers[0].targetContainerName", "equals": "web"},
            'spec.ephemeralContainers[0].targetContainerName = "app", expected "web"',
        ),
        (
            {"path": "spec.shareProcessNamespace", "exists": True},
            "spec.shareProcessNamespace does not exist (null), expected a value",
        ),
        (
            {"path": "spec.ephemeralContainers[0].name", "equals": None},
            'spec.ephemeralContainers[0].name = "debugger-abcde", expected null',
        ),
        (
            {"path": "spec.ephemeralContainers", "length": 2},
            'spec.ephemeralContainers = [{"name": "debugger-abcde", "targetContainerName": "app"}] '
            "has length 1, "
            "expected 2",
        ),
        (
            {"path": "status.ephemeralContainerStatuses[0].restartCount", "min_length": 1},
            "status.ephemeralContainerStatuses[0].restartCount = 0 has no length, expected a list, object or string",
        ),
        (
            {"path": "spec.ephemeralContainers[*].name", "contains": "debugger-zzzzz"},
            'spec.ephemeralContainers[*].name = ["debugger-abcde"], expected it to contain "debugger-zzzzz"',
        ),
    ],
)
def test_value_check_failures_say_expected_and_actual(check: dict[str, object], message: str) -> None:
    assert checks.check_value(value(**check), POD).failures == [message]


def test_bad_jmespath_expression_is_reported() -> None:
    with pytest.raises(ValueError, match=r"bad JMESPath expression 'spec\.\['"):
        checks.check_value(value(path="spec.[", exists=True), POD)
