"""The `kdbgtest` command: list, validate, run, summary, schema, init, images, fixtures, sim, local, matrix,
upgrade, clean, completion.

Exit codes: 0 everything passed (or was valid), 1 a scenario failed (or `validate` found an issue), 2 a usage
error or bad input (invalid scenario files for `list`/`run`, an unreachable cluster, a missing tool). A
`KdbgtestError` is printed as one line `kdbgtest: error: ...`; anything else is a kdbgtest bug and is shown
with its traceback. `run` and `matrix` stopped by SIGINT, SIGTERM or SIGHUP clean up first, say so on one line
and exit 128 + the signal number (130, 143, 129). An API server that stops answering stops the run with one
line saying when and where, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdbgtest import about, clean_cli, completion, images_cli, options
from kdbgtest.base import commandline, interrupt, outputs, waiting
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.local import cli as local_cli
from kdbgtest.matrix import cli as matrix_cli
from kdbgtest.report import progress
from kdbgtest.sim import cli as sim_cli
from kdbgtest.upgrade import cli as upgrade_cli

if TYPE_CHECKING:  # the commands import what they use: `--help`, `list` and `validate` start fast
    from kdbgtest.cluster.base import ClusterInfo
    from kdbgtest.runner import engine, events
    from kdbgtest.scenario import loader

DEFAULT_PATHS = [Path("scenarios")]
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
INTERRUPTIBLE = ("run", "matrix", "upgrade")  # SIGTERM and SIGHUP stop these as Ctrl-C does: cleanup first
BUG_REPORT = "this is a bug in kdbgtest; please report it with the traceback above"


class UsageError(KdbgtestError):
    """Bad command-line input."""


def _paths(args: argparse.Namespace) -> list[Path]:
    return list(args.paths) or DEFAULT_PATHS


def _load(paths: list[Path], *, strict: bool) -> loader.LoadResult:
    """Load scenarios; issues are printed to stderr, and with `strict` they end the command (exit 2)."""
    from kdbgtest.scenario import loader

    result = loader.load_paths(paths)
    for issue in result.issues:
        print(issue, file=sys.stderr)
    if result.issues and strict:
        raise UsageError(f"{len(result.issues)} issue(s) in scenario files; fix them (see `kdbgtest validate`)")
    return result


def cmd_validate(args: argparse.Namespace) -> int:
    from kdbgtest.scenario import cache

    result = cache.load_paths(_paths(args), use_cache=not args.no_cache)
    for issue in result.issues:
        print(issue)
    if result.ignored:  # a scenario whose `name` or `steps` is misspelt would otherwise go unnoticed
        names = ", ".join(str(path) for path in result.ignored)
        print(f"skipped, not scenarios (no top-level 'name' and 'steps'): {names}", file=sys.stderr)
    if result.issues:
        print(f"{len(result.issues)} issue(s) found", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(result.scenarios)} scenario(s) valid")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from kdbgtest.scenario import cache

    if args.keyword is None and not args.tag:  # all of them: the cache can tell
        summaries = cache.load_paths(_paths(args), use_cache=not args.no_cache)
        for issue in summaries.issues:
            print(issue, file=sys.stderr)
        chosen, issues = summaries.scenarios, summaries.issues
    else:  # -k and --tag match the loaded scenarios (kdbgtest/runner/selection.py)
        from kdbgtest.runner import selection

        result = _load(_paths(args), strict=False)
        picked = [s for s in result.scenarios if selection.selected(s.scenario, args.keyword, args.tag or ())]
        chosen, issues = [cache.Summary.of(item) for item in picked], result.issues
    for item in chosen:
        modes = ",".join(item.modes) or "-"
        tags = ",".join(item.tags) or "-"
        print(f"{item.name:<40} modes={modes:<20} tags={tags:<30} {item.path}:{item.line}")
    by_mode = Counter(mode for item in chosen for mode in item.modes)
    by_tag = Counter(tag for item in chosen for tag in item.tags)
    print(f"\n{len(chosen)} scenario(s); by mode: {_counts(by_mode)}; by tag: {_counts(by_tag)}")
    return EXIT_USAGE if issues else EXIT_OK


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items())) or "none"


def cmd_fixtures(args: argparse.Namespace) -> int:
    """The built-in fixtures: what each is, its parameters with defaults, and the state it is ready in."""
    from kdbgtest.fixtures import catalog

    for fixture in catalog.FIXTURES.values():
        ready = fixture.ready(fixture.defaults)
        print(f"{fixture.name}\n  {fixture.description}")
        print("  params: " + ", ".join(f"{k}={v!r}" for k, v in fixture.defaults.items()))
        if ready is None:
            state = "created (nothing to wait for)"
        else:
            state = f"pod {ready.get('pod')} is {ready.get('for')} (timeout {ready.get('timeout')}s)"
        print(f"  ready when: {state}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from kdbgtest.scenario import schema

    if args.out is None:
        print(schema.json_schema_text(), end="")
        return EXIT_OK
    try:
        args.out.write_text(schema.json_schema_text(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write it ({exc.strerror or exc})") from None
    print(f"wrote {args.out}; name it in scenario files with `# yaml-language-server: $schema=<path to it>`")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """A starter for another repository (see kdbgtest/starter/files.py)."""
    from kdbgtest.starter import files as starter

    for line in starter.write_starter(args.directory, force=args.force):
        print(line)
    print(starter.images_note())
    print(f"next: kdbgtest validate {args.directory / 'scenarios'} && kdbgtest run {args.directory / 'scenarios'}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from kdbgtest.cluster import select
    from kdbgtest.runner import cleanup, engine, selection

    values = vars(args)
    scenarios = _load(_paths(args), strict=True).scenarios
    run_options = options.run_options(values)
    if not any(selection.selected(s.scenario, run_options.keyword, run_options.tags) for s in scenarios):
        raise UsageError("no scenario is selected; check the paths, -k and --tag (see `kdbgtest list`)")
    _check_outputs(args)
    reporters = _reporters(args)
    _notice(select.kubeconfig_notice(options.cluster_request(values)))
    provider = select.provider(options.cluster_request(values))
    try:
        cluster = provider.acquire()
        _warn_about_leftovers(cluster, run_options, args.warn_leftovers_older_than)
        summary = engine.run_scenarios(scenarios, cluster, run_options, reporters)
    except KeyboardInterrupt as exc:  # before the engine started (it records its own interruptions)
        stopped = interrupt.as_interrupted(exc)
        if not stopped.recorded:
            _emit_interrupted(reporters, stopped)
            stopped.recorded = True
        raise stopped from None
    finally:
        try:
            with cleanup.shielded() as deferred:  # a half-stopped throwaway cluster would be left running
                provider.release()
        finally:
            for reporter in reporters:
                reporter.close()
    if deferred:
        raise interrupt.Interrupted(deferred[0])
    return summary.exit_code


def _check_outputs(args: argparse.Namespace) -> None:
    """Before anything runs: every output path can be written (else one line, exit 2, nothing created)."""
    outputs.check_distinct({"--junit": args.junit, "--json": args.json})
    for option, path in (("--junit", args.junit), ("--json", args.json)):
        if path is not None:
            outputs.check_file(option, path)
    outputs.check_directory("--artifacts", args.artifacts)


def cmd_summary(args: argparse.Namespace) -> int:
    """JUnit reports as Markdown, for `>> "$GITHUB_STEP_SUMMARY"` (see kdbgtest/report/summary.py)."""
    from kdbgtest.report import summary

    print(summary.markdown(args.reports), end="")
    return EXIT_OK


def _warn_about_leftovers(cluster: ClusterInfo, run_options: engine.RunOptions, older_than: float) -> None:
    from kdbgtest.runner import engine, leftovers

    found = leftovers.warning(engine.kubectl_for(cluster, run_options), older_than=older_than)
    if found:
        print(f"kdbgtest: warning: {found}", file=sys.stderr)


def _emit_interrupted(reporters: Sequence[events.Reporter], stopped: interrupt.Interrupted) -> None:
    from kdbgtest.runner import events

    finished = events.RunFinished(passed=0, failed=0, errors=0, skipped=0, duration=0.0, interrupted=stopped.name)
    for reporter in reporters:
        reporter.handle(finished)


def _notice(line: str | None) -> None:
    if line:
        print(line, file=sys.stderr, flush=True)


def _reporters(args: argparse.Namespace) -> list[events.Reporter]:
    from kdbgtest.report import console, json_report, junit

    if args.quiet and args.verbose:
        raise UsageError("-q/--quiet and -v/--verbose contradict each other; pass one of them")
    reporters: list[events.Reporter] = [console.ConsoleReporter(verbose=args.verbose, quiet=args.quiet)]
    if args.junit is not None:
        reporters.append(junit.reporter(args.junit))
    if args.json is not None:
        reporters.append(json_report.reporter(args.json))
    return reporters


DESCRIPTION = "Prove that kubectl debug workflows work: run scenario files against a cluster."
EPILOG = """\
examples:
  kdbgtest validate scenarios/                  check every scenario file
  kdbgtest run scenarios/                       run them (kind if usable, else the built-in offline cluster)
  kdbgtest run scenarios/ -k crashloop -x -q    a selection; stop at the first failure; print failures only
  kdbgtest run scenarios/ --cluster kubeconfig --kubeconfig ~/.kube/config --junit junit.xml
  kdbgtest <command> --help                     the options of one command

exit codes: 0 passed, 1 a scenario failed, 2 bad input or usage (or an unusable cluster), 3 a kdbgtest bug,
128+N stopped by signal N after cleanup. Colours only on a terminal; NO_COLOR=1 turns them off.
shell completion: eval "$(kdbgtest completion bash)" (or zsh) in your shell's startup file.
"""


class _VersionAction(argparse.Action):
    """`--version`: computed only when asked (it runs the pinned kubectl)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(about.version_text())
        parser.exit()


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion.script(build_parser(), args.shell), end="")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdbgtest", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action=_VersionAction, help="print kdbgtest's version and the pinned kubectl's")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, title="commands")
    listing = _command(commands, "list", "list scenarios with their debug modes and tags", cmd_list, paths=True)
    options.add_to_argparse(listing, only=("keyword", "tag"))
    _command(commands, "validate", "check scenario files; print every issue", cmd_validate, paths=True)
    run = _command(commands, "run", "run scenarios against a cluster", cmd_run, paths=True)
    options.add_to_argparse(run)
    summary_cmd = _command(commands, "summary", "JUnit reports as Markdown (for a CI job summary)", cmd_summary)
    summary_cmd.add_argument("reports", nargs="+", type=Path, metavar="JUNIT", help="JUnit XML files")
    schema_cmd = _command(commands, "schema", "print the JSON Schema of scenario files (--out: write it)", cmd_schema)
    schema_cmd.add_argument("--out", type=Path, metavar="FILE", help="write the schema to FILE")
    init = _command(commands, "init", "write a starter: scenarios/ (with the schema), noxfile.py, clusters/", cmd_init)
    init.add_argument("directory", nargs="?", type=Path, default=Path(), help="where (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    images_cli.add_parser(commands)
    _command(commands, "fixtures", "list the built-in fixtures and their parameters", cmd_fixtures)
    sim_cli.add_parser(commands)
    local_cli.add_parser(commands)
    matrix_cli.add_parser(commands)
    upgrade_cli.add_parser(commands)
    clean_cli.add_parser(commands)
    shell = _command(commands, "completion", "print a shell completion script (bash or zsh)", cmd_completion)
    shell.add_argument("shell", choices=completion.SHELLS, help='e.g. eval "$(kdbgtest completion bash)" in ~/.bashrc')
    return parser


def _command(
    commands: Any,
    name: str,
    help_text: str,
    func: Callable[[argparse.Namespace], int],
    *,
    paths: bool = False,
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    if paths:
        commandline.add_paths(sub)
    if name in ("list", "validate"):
        sub.add_argument("--no-cache", action="store_true", help="judge every file again (as KDBGTEST_NO_CACHE=1)")
    sub.set_defaults(func=func)
    return sub


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error, as argparse does
    try:
        signals = interrupt.signals_interrupt() if args.command in INTERRUPTIBLE else contextlib.nullcontext()
        with signals, waiting.showing_progress(progress.StatusLine()):
            code: int = args.func(args)
    except KdbgtestError as exc:
        print(f"kdbgtest: error: {commandline.one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except interrupt.ClusterLost as lost:
        where = f", during {lost.where}" if lost.where else ""
        advice = "once the cluster answers, `kdbgtest clean` removes what it left"
        print(f"kdbgtest: error: {lost.message}{where}; the run stopped there (an infrastructure error, not a "
              f"test failure); {advice}", file=sys.stderr)  # fmt: skip
        return lost.exit_code
    except KeyboardInterrupt as exc:
        stopped = interrupt.as_interrupted(exc)
        outcome = "cleaned up"
        if stopped.incomplete:
            outcome = "cleanup incomplete; remove what is left with `kdbgtest clean`"
        print(f"kdbgtest: interrupted by {stopped.name}; {outcome}", file=sys.stderr)
        return stopped.exit_code
    except Exception:  # noqa: BLE001 - shown in full: it is our bug
        traceback.print_exc()
        print(f"kdbgtest: {BUG_REPORT}", file=sys.stderr)
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
