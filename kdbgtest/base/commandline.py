"""What the command-line modules (kdbgtest/cli.py and the `cli.py` of sim/, local/, matrix/, upgrade/) declare and
report the same way: a command whose `--help` shows its module docstring as written, the scenario paths, a group
of subcommands whose errors are one line, and the `python -m kdbgtest.PACKAGE.cli` entry. Here, below every
layer, so that each may use it; it imports only the standard library (`kdbgtest --help` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from kdbgtest.base.errors import KdbgtestError

Handler = Callable[[argparse.Namespace], int]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def documented(subparsers: Subparsers, name: str, help_text: str, doc: str | None) -> argparse.ArgumentParser:
    """The command `name`; its `--help` shows `doc` (the module docstring) with its lines and examples kept."""
    return subparsers.add_parser(
        name, help=help_text, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_paths(parser: argparse.ArgumentParser) -> None:
    """The positional scenario files or directories (the commands default to scenarios/)."""
    parser.add_argument("paths", nargs="*", type=Path, help="scenario files or directories (default: scenarios/)")


def one_line(exc: BaseException) -> str:
    """The error's message with its lines joined by `; ` (blank lines dropped)."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def guarded(handler: Handler, prog: str, interrupted: str = "interrupted") -> Handler:
    """`handler`, with a `KdbgtestError` reported as `PROG: error: FIRST LINE` on stderr (exit 1) instead of a
    traceback, the rest of its message (e.g. a daemon log's tail) indented below; Ctrl-C as `PROG: interrupted`
    (exit 130). `prog` names the command, e.g. `kdbgtest sim up`."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except KdbgtestError as exc:
            first, *context = str(exc).splitlines() or [type(exc).__name__]
            print(f"{prog}: error: {first}", file=sys.stderr)
            for line in context:
                print(f"  | {line}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{prog}: {interrupted}", file=sys.stderr)
            return 130

    return run


class Group:
    """The subcommands of `kdbgtest NAME` (`sim`, `local`): each runs its handler `guarded` under its full name."""

    def __init__(self, parser: argparse.ArgumentParser, name: str, metavar: str, interrupted: str) -> None:
        self._commands = parser.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)
        self._prog = f"kdbgtest {name}"
        self._interrupted = interrupted

    def add(
        self,
        name: str,
        help_text: str,
        handler: Handler,
        *options: Callable[[argparse.ArgumentParser], None],
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        """The subcommand `name` (sets `func`), with the options each of `options` declares, in that order."""
        sub = self._commands.add_parser(name, help=help_text, description=description)
        for declare in options:
            declare(sub)
        sub.set_defaults(func=guarded(handler, f"{self._prog} {name}", self._interrupted))
        return sub


def standalone_args(
    name: str, add_parser: Callable[[Subparsers], None], argv: Sequence[str] | None
) -> argparse.Namespace:
    """`python -m kdbgtest.NAME.cli ARGS` parsed as `kdbgtest NAME ARGS` (a leading `NAME` may be given or not)."""
    parser = argparse.ArgumentParser(prog="kdbgtest")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] != [name]:
        args.insert(0, name)
    return parser.parse_args(args)
