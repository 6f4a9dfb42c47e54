"""What an upgrade run records: its steps, the witnesses' checks, and the suite's phases (a two-column matrix)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kdbgtest.matrix import model as matrix_model

PHASES = ("before", "after")


@dataclass(frozen=True)
class Phase:
    """One run of the suite: `before` or `after`, or one of them again with a skewed kubectl (`--skew`)."""

    id: str  # also its directory under OUT
    label: str
    kubectl: str = ""  # "" the run's kubectl; else the skewed kubectl's version
    error: str = ""  # why it could not run (a skewed kubectl that does not exist)


@dataclass(frozen=True)
class Step:
    """One component replaced (or the drain/uncordon around the kubelet's)."""

    component: str
    before: str  # version it ran
    after: str  # version it runs now ("" when the step failed)
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class Check:
    """One thing looked at on one witness at one checkpoint (`deployed`, `after kube-apiserver`, ...)."""

    checkpoint: str
    witness: str  # pod name
    check: str  # running, restarts, ephemeral, exec, attach, logs, logs --previous, copy
    ok: bool
    detail: str  # what was seen (one line)
    transcript: str = ""  # relative to the report: the commands and their output
    recovered: float | None = None  # failed at first, worked this many seconds later (ok is then True)


@dataclass
class Upgrade:
    """The whole run, as the three reports show it."""

    cluster: str  # "local" | "sim"
    from_version: str
    to_version: str
    drain: bool
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    suite_phases: list[Phase] = field(default_factory=list)  # in the order they ran (the report's columns)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # checkpoint -> component -> version
    matrix: matrix_model.Matrix | None = None
    error: str = ""  # why the upgrade stopped early ("" when it ran to the end)
    seconds: float = 0.0

    @property
    def checkpoints(self) -> list[str]:
        return list(dict.fromkeys(c.checkpoint for c in self.checks))

    @property
    def witnesses(self) -> list[str]:
        return list(dict.fromkeys(c.witness for c in self.checks))

    @property
    def broken_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def recovered_checks(self) -> list[Check]:
        return [c for c in self.checks if c.recovered is not None]

    @property
    def exit_code(self) -> int:
        """1 when a scenario regressed or failed after, or a witness check failed; 2 when the upgrade itself
        could not be completed; else 0."""
        if self.error:
            return 2
        failing = bool(self.matrix and (self.matrix.regressions or self.matrix.failing))
        return 1 if failing or self.broken_checks else 0
