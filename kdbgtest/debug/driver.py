"""How a debug, exec or kubectl step is performed: the `Driver` protocol and what a step produces.

`KubectlDriver` (kubectl_driver.py) runs real kubectl, in a pseudo-terminal when the step is interactive. An
API driver (kubernetes client) can be swapped in by implementing the same three methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kdbgtest.base.errors import KdbgtestError, StepFailed, StepTimeout
from kdbgtest.scenario import model

# Capture names every debug step fills in when it can (see kdbgtest.scenario.variables.DEBUG_CAPTURES).
DEBUG_CONTAINER = "debug_container"
DEBUG_POD = "debug_pod"


@dataclass(frozen=True)
class CommandResult:
    """A finished (or abandoned) command: what it printed, how it exited, what it captured.

    For an interactive session the terminal merges the streams: `stdout` and `output` are the clean transcript
    and `stderr` is empty. `exit_code` is None when the session was still running after its dialogue and was
    stopped by kdbgtest (a dialogue that should see the end says `end: true`).
    """

    argv: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    output: str  # clean text for assertions: stdout+stderr, or the interactive transcript without escapes
    transcript: Path | None  # raw terminal transcript (interactive only)
    captures: dict[str, str] = field(default_factory=dict)  # regex named groups, debug_container, debug_pod
    duration: float = 0.0


class SessionError(KdbgtestError):
    """An interactive dialogue did not go as written. `result` holds what the session produced up to then."""

    def __init__(self, message: str, result: CommandResult) -> None:
        super().__init__(message)
        self.result = result


class SessionTimeout(SessionError, StepTimeout):
    """An `expect` (or the step's deadline) ran out; the message names what was awaited and the last lines."""


class SessionFailed(SessionError, StepFailed):
    """The program ended while the dialogue still expected output, or ended with the wrong exit code."""


Dialogue = Sequence[model.DialogueItem]


def impersonation_args(identity: model.Identity) -> list[str]:
    """kubectl's `--as=USER` and one `--as-group=GROUP` per group."""
    return [f"--as={identity.user}", *(f"--as-group={g}" for g in identity.groups)]


class Driver(Protocol):
    """Performs command steps. Each method returns when the command has finished or its dialogue is done.

    Raises `SessionTimeout`/`SessionFailed` (carrying the partial `CommandResult`) when a dialogue fails,
    `StepTimeout` when a non-interactive command outlives `timeout`, `ScenarioError` for a step that cannot be
    performed as written.
    """

    def debug(
        self,
        action: model.DebugAction,
        *,
        namespace: str,
        session: Dialogue | None,
        timeout: float,
        step_slug: str,
    ) -> CommandResult: ...

    def exec(
        self,
        action: model.ExecAction,
        *,
        namespace: str,
        session: Dialogue | None,
        timeout: float,
        step_slug: str,
    ) -> CommandResult: ...

    def kubectl(
        self,
        action: model.KubectlAction,
        *,
        namespace: str,
        session: Dialogue | None,
        timeout: float,
        step_slug: str,
    ) -> CommandResult: ...

    def acting_as(self, identity: model.Identity) -> Driver:
        """A driver whose requests impersonate `identity` (kubectl `--as`/`--as-group`, or the same headers);
        the caller closes it."""
        ...

    def close(self) -> None:
        """Release what the driver holds (an API client's connections); called once, when the run ends."""
        ...
