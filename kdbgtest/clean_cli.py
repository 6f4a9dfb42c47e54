"""`kdbgtest clean`: remove what dead runs left on a cluster (see `kdbgtest.runner.leftovers`).

    kdbgtest clean --kubeconfig ~/.kube/config [--context C] [--older-than 1h] [--run-id ID] [--dry-run]

Exit codes: 0 nothing left (or, with --dry-run, listed), 1 something could not be removed, 2 bad input or an
unreachable cluster.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kdbgtest import options
from kdbgtest.base import ages, tools
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.runner import kube, leftovers

REMOVE_TIMEOUT = 120.0  # per namespace


def add_parser(commands: Any) -> None:
    """Add `clean` to the `kdbgtest` subcommands."""
    text = "remove namespaces, copies and node-debugger pods that dead kdbgtest runs left on a cluster"
    parser: argparse.ArgumentParser = commands.add_parser("clean", help=text, description=text)
    parser.add_argument("--kubeconfig", type=Path, required=True, metavar="FILE", help="the cluster's kubeconfig")
    parser.add_argument("--context", metavar="NAME", help="context in the kubeconfig")
    parser.add_argument("--kubectl", type=Path, metavar="PATH", help="kubectl binary (default: the pinned one)")
    parser.add_argument(
        "--older-than",
        type=options.age,
        default=leftovers.DEFAULT_AGE,
        metavar="AGE",
        help="only what runs created more than AGE ago (90s, 30m, 1h, 2d; 0: any age; default 1h), so that "
        "runs still going are never touched",
    )
    parser.add_argument("--run-id", metavar="ID", help="only what run ID left")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.set_defaults(func=cmd_clean)


def cmd_clean(args: argparse.Namespace) -> int:
    if not args.kubeconfig.is_file():
        raise KdbgtestError(f"kubeconfig {args.kubeconfig} does not exist; pass the cluster's kubeconfig")
    client = kube.Kubectl(tools.require("kubectl", args.kubectl), args.kubeconfig, args.context)
    found = leftovers.find(client, older_than=args.older_than, run_id=args.run_id)
    problems = 0
    for leftover in found:
        what = f"namespace {leftover.name} (run {leftover.run_id}, {ages.describe_age(leftover.age)} old)"
        if args.dry_run:
            print(f"would remove {what}")
            continue
        report = leftovers.remove(client, leftover, timeout=REMOVE_TIMEOUT)
        for problem in report.problems:
            print(f"kdbgtest: could not remove {what}: {problem}")
        problems += len(report.problems)
        if not report.problems:
            print(f"removed {what}")
    age = ages.describe_age(args.older_than)
    print(f"{len(found)} leftover namespace(s) older than {age}" + (f", {problems} problem(s)" if problems else ""))
    return 1 if problems else 0
