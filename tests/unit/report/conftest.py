"""A realistic run as events: one scenario passes, one fails in an interactive debug step, one is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest.runner import events

RUN_ID = "3f9a2c1d"
FAILED_MESSAGE = (
    "timed out after 10s waiting for the text 'ready'; the last 3 lines seen:\n"
    "  | / # cat /tmp/state\n  | starting\n  | / # "
)
# The raw terminal stream of the failing session, as kubectl and busybox wrote it.
RAW_TRANSCRIPT = (
    "Defaulting debug container name to debugger-x7k2p.\r\n"
    "If you don't see a command prompt, try pressing enter.\r\n"
    "\r\n/ # \x1b[6ncat /tmp/state\r\n\x1b[33mstarting\x1b[0m\r\n/ # \x1b[6n"
)
ARGV = [
    "kubectl",
    "--kubeconfig=/tmp/kc",
    "debug",
    "app",
    "--namespace=kdbg-copy-crashloop-3f9a2c1d",
    "--image=busybox:1.36",
    "--copy-to=app-copy",
    "-i",
    "-t",
]


@pytest.fixture
def run_events(tmp_path: Path) -> list[events.Event]:
    artifacts = tmp_path / "artifacts" / f"copy-crashloop-{RUN_ID}"
    artifacts.mkdir(parents=True)
    transcript = artifacts / "02-attach-debug.transcript.txt"
    transcript.write_bytes(RAW_TRANSCRIPT.encode())
    ok_path, bad_path = Path("scenarios/ephemeral/target.yaml"), Path("scenarios/copy/crashloop.yaml")
    ok_steps = [
        events.StepFinished("ephemeral-target", "apply-app", 1, "passed", 0.4, argv=["kubectl", "apply"]),
        events.StepFinished("ephemeral-target", "attach", 2, "passed", 2.1, transcript=tmp_path / "ok.txt"),
    ]
    bad_steps = [
        events.StepFinished("copy-crashloop", "wait-crash", 1, "passed", 5.0, output_tail="CrashLoopBackOff"),
        events.StepFinished(
            "copy-crashloop",
            "attach-debug",
            2,
            "failed",
            10.2,
            message=FAILED_MESSAGE,
            argv=ARGV,
            transcript=transcript,
            output_tail="",
        ),
        events.StepFinished("copy-crashloop", "show-logs", 3, "passed", 0.3, output_tail="bad\x00byte"),
    ]
    return [
        events.RunStarted(RUN_ID, "sim", "kdbgtest", "1.33", "1.37.1", 3),
        events.ScenarioStarted("ephemeral-target", ok_path, 2, f"kdbg-ephemeral-target-{RUN_ID}"),
        events.StepStarted("ephemeral-target", "apply-app", 1, "apply", 12),
        ok_steps[0],
        events.StepStarted("ephemeral-target", "attach", 2, "debug", 16),
        ok_steps[1],
        events.CleanupFinished("ephemeral-target", [f"namespace kdbg-ephemeral-target-{RUN_ID}"], kept=False),
        events.ScenarioFinished("ephemeral-target", ok_path, "passed", 3.0, steps=ok_steps),
        events.ScenarioStarted("copy-crashloop", bad_path, 3, f"kdbg-copy-crashloop-{RUN_ID}"),
        events.StepStarted("copy-crashloop", "wait-crash", 1, "wait", 14),
        bad_steps[0],
        events.StepStarted("copy-crashloop", "attach-debug", 2, "debug", 23),
        bad_steps[1],
        events.StepStarted("copy-crashloop", "show-logs", 3, "kubectl", 40, is_finally=True),
        bad_steps[2],
        events.CleanupFinished(
            "copy-crashloop",
            [f"namespace kdbg-copy-crashloop-{RUN_ID}"],
            kept=False,
            problems=["pod node-debugger-w1-abcde: still terminating after 120s"],
        ),
        events.ScenarioFinished(
            "copy-crashloop",
            bad_path,
            "failed",
            16.0,
            message=f"{bad_path}:23, step 2 'attach-debug': {FAILED_MESSAGE}",
            failed_step="attach-debug",
            artifacts=artifacts,
            steps=bad_steps,
        ),
        events.ScenarioFinished(
            "node-sysadmin",
            Path("scenarios/node/sysadmin.yaml"),
            "skipped",
            0.0,
            message="the cluster lacks capability sysadmin-profile",
        ),
        events.RunFinished(passed=1, failed=1, errors=0, skipped=1, duration=20.5),
    ]
