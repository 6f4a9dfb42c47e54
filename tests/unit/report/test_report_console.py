"""The console reporter, read as a person would read it in a CI log (not a terminal)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kdbgtest.report.console import ConsoleReporter
from kdbgtest.runner import events


def render(run_events: list[events.Event], **options: bool) -> str:
    stream = io.StringIO()
    reporter = ConsoleReporter(stream, **options)
    for event in run_events:
        reporter.handle(event)
    reporter.close()
    return stream.getvalue()


def test_ci_log_shows_what_a_person_needs(run_events: list[events.Event], tmp_path: Path) -> None:
    text = render(run_events)
    assert "\x1b" not in text  # not a terminal: no colours, no cursor tricks
    lines = text.splitlines()
    assert lines[0] == (
        "kdbgtest run 3f9a2c1d: 3 scenario(s) on sim cluster 'kdbgtest' (Kubernetes 1.33, kubectl 1.37.1)"
    )
    assert "RUN    ephemeral-target  scenarios/ephemeral/target.yaml:2" in lines
    assert "PASS   ephemeral-target  3.0s" in lines
    assert "FAIL   copy-crashloop  16.0s" in lines
    assert "SKIP   node-sysadmin  0.0s: the cluster lacks capability sysadmin-profile" in lines
    artifacts = tmp_path / "artifacts" / "copy-crashloop-3f9a2c1d"
    failure_block = text[text.index("FAIL   copy-crashloop") :]
    expected = [
        "      at scenarios/copy/crashloop.yaml:23, step 2 'attach-debug' (debug)",
        "      $ kubectl --kubeconfig=/tmp/kc debug app --namespace=kdbg-copy-crashloop-3f9a2c1d "
        "--image=busybox:1.36 --copy-to=app-copy -i -t",
        "      timed out after 10s waiting for the text 'ready'; the last 3 lines seen:",
        f"      output (last 6 lines, {artifacts / '02-attach-debug.transcript.txt'}):",
        # The step had no output tail: the transcript file's end is shown, cleaned of escape sequences.
        "        | Defaulting debug container name to debugger-x7k2p.",
        "        | starting",
        f"      artifacts: {artifacts}",
    ]
    for line in expected:
        assert line in failure_block.splitlines(), line
    assert "      cleanup problem: pod node-debugger-w1-abcde: still terminating after 120s" in lines
    assert "3 scenario(s): 1 passed, 1 failed, 0 errors, 1 skipped in 20.5s" in lines
    assert (
        "      failed: copy-crashloop (scenarios/copy/crashloop.yaml:23): "
        "timed out after 10s waiting for the text 'ready'; the last 3 lines seen:"
    ) in lines
    assert "[1] apply-app" not in text  # steps only in verbose mode


def test_verbose_lists_steps_and_cleanup(run_events: list[events.Event]) -> None:
    lines = render(run_events, verbose=True).splitlines()
    assert "      [1] apply-app (apply) ok 0.4s" in lines
    assert "      [2] attach-debug (debug) FAILED 10.2s" in lines
    assert "      cleanup: removed namespace kdbg-ephemeral-target-3f9a2c1d" in lines


def test_colour_when_asked(run_events: list[events.Event]) -> None:
    text = render(run_events, color=True)
    assert "\x1b[1;32mPASS" in text and "\x1b[1;31mFAIL" in text


def test_markup_in_output_is_printed_literally() -> None:
    stream = io.StringIO()
    reporter = ConsoleReporter(stream)
    reporter.handle(events.ScenarioStarted("s", Path("s.yaml"), 1, "ns"))
    step = events.StepFinished("s", "x", 1, "failed", 1.0, message="[bold]not markup[/bold] [red]", output_tail="[/]")
    reporter.handle(step)
    reporter.handle(events.ScenarioFinished("s", Path("s.yaml"), "failed", 1.0, failed_step="x", steps=[step]))
    text = stream.getvalue()
    assert "      [bold]not markup[/bold] [red]" in text.splitlines() and "        | [/]" in text.splitlines()
    assert "      at s.yaml:1, step 1 'x'" in text.splitlines()  # no StepStarted: the scenario's line, no kind


ANNOTATION = (
    "::error file=scenarios/copy/crashloop.yaml,line=23,title=kdbgtest%3A copy-crashloop::step 2 'attach-debug' "
    "(debug): timed out after 10s waiting for the text 'ready'; the last 3 lines seen:%0A  | / # cat /tmp/state"
    "%0A  | starting%0A  | / #"
)


def test_in_github_actions_a_failure_is_an_error_annotation_at_the_failing_step(
    run_events: list[events.Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    annotations = [line for line in render(run_events).splitlines() if line.startswith("::")]
    assert annotations == [ANNOTATION]  # one line: newlines are %0A, `:` and `,` escaped in the properties


@pytest.mark.parametrize("value", [None, "false", ""])
def test_outside_github_actions_there_is_no_annotation(
    run_events: list[events.Event], monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", value)
    assert os.environ.get("GITHUB_ACTIONS") != "true"
    assert "::error" not in render(run_events)
