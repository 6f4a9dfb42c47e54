"""How a debug, exec or kubectl step is performed: the `Driver` base class and what a step produces.

`KubectlDriver` (kubectl_driver.py) runs real kubectl, in a pseudo-terminal when the step is interactive;
`ApiDriver` (api_driver.py) does the same through the kubernetes client. `Driver` takes a step's keywords once,
refuses a dialogue on a step that is not interactive, and hands each implementation a `StepRequest`.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from kdbgtest.base.errors import KdbgtestError, ScenarioError, StepFailed, StepTimeout
from kdbgtest.scenario import model

if TYPE_CHECKING:
    from typing_extensions import Unpack

# Capture names every debug step fills in when it can (see kdbgtest.scenario.variables.DEBUG_CAPTURES).
DEBUG_CONTAINER = "debug_container"
DEBUG_POD = "debug_pod"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # what a step slug may not keep in a file name


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


class StepArgs(TypedDict):
    """The keywords of `Driver.debug`, `.exec` and `.kubectl`."""

    namespace: str
    session: Dialogue | None  # the dialogue of an interactive step
    timeout: float  # seconds for the whole step
    step_slug: str  # names the step's files in the artifacts directory


@dataclass(frozen=True)
class StepRequest:
    """One command step as the runner asks for it (`StepArgs`), its dialogue checked against the action."""

    namespace: str
    session: Dialogue | None
    timeout: float
    slug: str

    def artifact(self, artifacts: Path, suffix: str) -> Path:
        """The step's file `<slug><suffix>` in `artifacts`, the slug made safe as a file name."""
        return artifacts / f"{_UNSAFE.sub('-', self.slug).strip('-') or 'step'}{suffix}"


def _request(action: model.DebugAction | model.ExecAction | model.KubectlAction, args: StepArgs) -> StepRequest:
    if args["session"] and not action.interactive:
        raise ScenarioError("a step with a `session:` must be `interactive: true`")
    return StepRequest(args["namespace"], args["session"], args["timeout"], args["step_slug"])


class Driver(abc.ABC):
    """Performs command steps. Each method returns when the command has finished or its dialogue is done.

    Raises `SessionTimeout`/`SessionFailed` (carrying the partial `CommandResult`) when a dialogue fails,
    `StepTimeout` when a non-interactive command outlives `timeout`, `ScenarioError` for a step that cannot be
    performed as written (a `session` on a step that is not interactive, checked here for every driver).
    An implementation provides the `*_step` methods, `acting_as` and `close`.
    """

    def debug(self, action: model.DebugAction, **args: Unpack[StepArgs]) -> CommandResult:
        return self.debug_step(action, _request(action, args))

    def exec(self, action: model.ExecAction, **args: Unpack[StepArgs]) -> CommandResult:
        return self.exec_step(action, _request(action, args))

    def kubectl(self, action: model.KubectlAction, **args: Unpack[StepArgs]) -> CommandResult:
        return self.kubectl_step(action, _request(action, args))

    @abc.abstractmethod
    def debug_step(self, action: model.DebugAction, step: StepRequest) -> CommandResult:
        """`kubectl debug` (ephemeral, copy or node), attaching if the action asks to."""

    @abc.abstractmethod
    def exec_step(self, action: model.ExecAction, step: StepRequest) -> CommandResult:
        """`kubectl exec`."""

    @abc.abstractmethod
    def kubectl_step(self, action: model.KubectlAction, step: StepRequest) -> CommandResult:
        """Any kubectl command."""

    @abc.abstractmethod
    def acting_as(self, identity: model.Identity) -> Driver:
        """A driver whose requests impersonate `identity` (kubectl `--as`/`--as-group`, or the same headers);
        the caller closes it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the driver holds (an API client's connections); called once, when the run ends."""
