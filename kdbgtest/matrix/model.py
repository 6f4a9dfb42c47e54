"""The comparison of a matrix run: columns (clusters), a scenario x column grid, changes and differences.

Every renderer (Markdown, HTML, JSON) reads these; `document.py` turns them into `kdbgtest-matrix/1` JSON and
back. Links are paths relative to the report's directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A cell's verdict: the runner's four, or "missing" when the column has no result for the scenario.
VERDICTS = ("passed", "failed", "error", "skipped", "missing")
FAILING = ("failed", "error")
ASPECTS = ("skipped-vs-run", "output", "observed")


@dataclass(frozen=True)
class Column:
    """One cluster of the matrix, in version order."""

    id: str  # unique, also the directory of its results under the report's directory
    label: str  # "sim 1.34 EphemeralContainers=false"
    provider: str  # sim | kind | kubeconfig
    source: str  # the --clusters entry
    server_version: str | None = None  # what the cluster reported (None: it did not run)
    cluster_name: str | None = None
    nodes: tuple[str, ...] = ()  # node names, normalised to <node> when outputs are compared
    kubectl_version: str | None = None
    results: str | None = None  # the kdbgtest-run/1 JSON document of this column
    error: str = ""  # why the cluster could not be used ("" when it ran)


@dataclass(frozen=True)
class Cell:
    verdict: str  # one of VERDICTS
    reason: str = ""  # first line of the failure, skip or missing reason
    link: str | None = None  # transcript, failure artifacts or results document


@dataclass(frozen=True)
class Row:
    scenario: str
    path: str
    cells: dict[str, Cell]  # by column id


@dataclass(frozen=True)
class Change:
    """A scenario whose outcome flipped between neighbouring columns (a regression or a fix)."""

    scenario: str
    before: str  # column id
    after: str
    before_verdict: str
    after_verdict: str
    reason: str  # the failure's first line (on the failing side)
    step: str | None = None  # the failing step
    link: str | None = None  # its transcript or artifacts


@dataclass(frozen=True)
class Difference:
    """Something that changed between neighbouring columns without being a failure."""

    scenario: str
    aspect: str  # one of ASPECTS
    before: str  # column id
    after: str
    summary: str  # one line: what changed
    step: str | None = None
    index: int | None = None
    diff: str | None = None  # a unified diff of the normalised facts
    links: dict[str, str] = field(default_factory=dict)  # column id -> transcript or results
    accepted: str = ""  # why this difference is expected (from `--accept`), "" while it is open


@dataclass(frozen=True)
class Matrix:
    columns: list[Column]
    rows: list[Row]
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def failing(self) -> list[str]:
        """The scenarios that failed (or errored) on at least one cluster, in row order."""
        return [r.scenario for r in self.rows if any(c.verdict in FAILING for c in r.cells.values())]

    @property
    def exit_code(self) -> int:
        """1 when a scenario failed anywhere (a regression or not), else 2 when a cluster could not be used,
        else 0: a suite that fails on every cluster is as red as one that regressed."""
        if self.regressions or self.failing:
            return 1
        return 2 if any(c.error for c in self.columns) else 0

    def column(self, column_id: str) -> Column:
        return next(c for c in self.columns if c.id == column_id)
