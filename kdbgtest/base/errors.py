"""The error hierarchy. Every error a user can cause is a `KdbgtestError` whose message is one actionable sentence.

Anything else escaping to the front ends is a bug in kdbgtest and is shown with its traceback.
"""

from __future__ import annotations


class KdbgtestError(Exception):
    """Base of every error kdbgtest reports to a user without a traceback."""


class ScenarioError(KdbgtestError):
    """A scenario file is malformed or refers to something that does not exist."""


class ClusterError(KdbgtestError):
    """A cluster could not be created, reached or cleaned up."""


class ToolMissing(KdbgtestError):
    """A required executable (kubectl, runc, kind, ...) is not installed."""


class CommandFailed(KdbgtestError):
    """A child process exited with an unexpected status."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        detail = (stderr or stdout).strip().splitlines()
        tail = detail[-1] if detail else "no output"
        super().__init__(f"`{_join(argv)}` exited with {returncode}: {tail}")


class StepTimeout(KdbgtestError):
    """A wait or an interactive expect ran past its deadline."""


class StepFailed(KdbgtestError):
    """A scenario step's expectation was not met."""


def _join(argv: list[str]) -> str:
    import shlex

    return shlex.join(argv)
