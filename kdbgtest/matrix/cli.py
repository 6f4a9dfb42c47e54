"""`kdbgtest matrix`: run the same scenarios on several clusters and report what changed between versions.

    kdbgtest matrix scenarios/ --clusters sim:1.33 sim:1.34 clusters/kind-1.37.yaml --out report/
    kdbgtest matrix --clusters sim:1.34 sim:1.34:EphemeralContainers=false -- scenarios/ephemeral
    kdbgtest matrix --results job-a/results.json job-b/results.json --out report/   # compare earlier runs

Cluster entries (see kdbgtest/matrix/spec.py): `sim[:1.N[:Gate=true|false,...]]`, a `kind: SimCluster`
YAML file, or a kind config (`clusters/*.yaml`). Scenario paths go before `--clusters` or after `--`.
Columns are ordered by Kubernetes version; each cluster's results and artifacts are kept in `OUT/<column>/`.
Written to OUT: matrix.md (for $GITHUB_STEP_SUMMARY), matrix.json (kdbgtest-matrix/1), matrix.html, and
differences/*.diff.

Exit code: 0 every scenario passed (or was skipped) on every cluster; 1 a scenario failed or errored on at
least one cluster (whether or not it regressed between neighbouring versions); 2 nothing failed, but a
cluster could not be used, or a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kdbgtest import options
from kdbgtest.base import commandline, outputs
from kdbgtest.base.errors import KdbgtestError

if TYPE_CHECKING:  # the matrix runs imports what it uses: `kdbgtest --help` stays fast
    from kdbgtest.matrix import model
    from kdbgtest.scenario import loader

DEFAULT_OUT = Path("kdbgtest-matrix")
DEFAULT_PATHS = [Path("scenarios")]
# Run options shared with `kdbgtest run` (declared once in kdbgtest.options).
SHARED_OPTIONS = (
    "kubectl",
    "kind",
    "keep_cluster",
    "driver",
    "timeout_scale",
    "keyword",
    "tag",
    "verbose",
    "workers",
)


def add_parser(subparsers: commandline.Subparsers) -> None:
    """Register `matrix` (sets `func`); the main `kdbgtest` command calls this."""
    about = "run the scenarios on several clusters and report what changed between versions"
    parser = commandline.documented(subparsers, "matrix", about, __doc__)
    commandline.add_paths(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--clusters",
        nargs="+",
        metavar="ENTRY",
        help="sim[:1.N[:Gate=false]], SimCluster or kind config files",
    )
    source.add_argument(
        "--results",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="compare existing `kdbgtest run --json` results",
    )
    parser.add_argument(
        "--accept",
        type=Path,
        metavar="FILE",
        help="YAML of understood behaviour differences with their reasons: listed as accepted, not open "
        "(e.g. clusters/local/accepted-differences.yaml)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"report directory (default {DEFAULT_OUT})",
    )
    options.add_to_argparse(parser, only=SHARED_OPTIONS)
    parser.set_defaults(func=run_matrix)


def run_matrix(args: argparse.Namespace) -> int:
    from kdbgtest.matrix import accepted, render_md, report

    out: Path = args.out
    outputs.check_directory("--out", out, (report.MARKDOWN, report.JSON, report.HTML))
    expected: dict[str, str] = {}
    if args.results:
        columns = report.columns_from_results(list(args.results), out)
    else:
        columns, expected = _run_clusters(args, out)
    matrix, diffs = report.build(columns, out, expected)
    if args.accept is not None:
        matrix = accepted.apply(matrix, diffs, accepted.load(args.accept))
    written = report.write(matrix, diffs, out)
    print(render_md.headline(matrix).replace("**", ""))
    for path in written:
        print(f"  {path}")
    return matrix.exit_code


def _run_clusters(args: argparse.Namespace, out: Path) -> tuple[list[model.Column], dict[str, str]]:
    """Run every column; also return the selected scenarios (name -> file), rows even where nothing ran."""
    from kdbgtest.matrix import run, spec
    from kdbgtest.report import console
    from kdbgtest.runner import selection

    specs = spec.parse_all(list(args.clusters))
    scenarios = _load(list(args.paths) or DEFAULT_PATHS)
    values = vars(args)
    run_options = options.run_options(values)
    chosen = [s for s in scenarios if selection.selected(s.scenario, run_options.keyword, run_options.tags)]
    if not chosen:
        raise spec.MatrixError("no scenario is selected; check the paths, -k and --tag (see `kdbgtest list`)")
    request = options.cluster_request(values)
    columns = []
    for number, item in enumerate(specs, start=1):
        print(f"== {item.label} ({number}/{len(specs)}, from {item.source})", flush=True)
        reporter = console.ConsoleReporter(verbose=bool(args.verbose))
        try:
            column = run.run_column(item, scenarios, out, run_options, request, [reporter])
        finally:
            reporter.close()
        if column.error:
            print(f"kdbgtest matrix: {item.label}: {column.error}", file=sys.stderr)
        columns.append(column)
    return columns, {s.name: str(s.path) for s in chosen}


def _load(paths: list[Path]) -> list[loader.LoadedScenario]:
    from kdbgtest.matrix import spec
    from kdbgtest.scenario import loader

    result = loader.load_paths(paths)
    for issue in result.issues:
        print(issue, file=sys.stderr)
    if result.issues:
        raise spec.MatrixError(f"{len(result.issues)} issue(s) in scenario files; fix them (see `kdbgtest validate`)")
    return list(result.scenarios)


def main(argv: list[str] | None = None) -> int:
    """`python -m kdbgtest.matrix.cli ...` (the same as `kdbgtest matrix ...`)."""
    args = commandline.standalone_args("matrix", add_parser, argv)
    try:
        code: int = args.func(args)
    except KdbgtestError as exc:
        print(f"kdbgtest: error: {commandline.one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kdbgtest: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
