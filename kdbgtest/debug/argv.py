"""kubectl argument lists for each action, built as pure functions (no I/O).

Every `DebugAction` field maps to exactly one flag as kubectl 1.37 spells it (`kubectl debug --help`). Flags
with values use the `--flag=value` form so each flag is one argv element; `-i`, `-t` and `-q` use the short
forms people type. A field left unset emits nothing, so kubectl's own default applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from kdbgtest.base.errors import ScenarioError
from kdbgtest.scenario import model

# Flags that already choose a namespace: a plain kubectl step that has one is left alone.
_NAMESPACE_FLAGS = ("-n", "--namespace", "-A", "--all-namespaces")


def base_argv(kubectl: Path, kubeconfig: Path, context: str | None) -> list[str]:
    """`kubectl --kubeconfig FILE [--context NAME]`: the start of every command kdbgtest runs."""
    argv = [str(kubectl), f"--kubeconfig={kubeconfig}"]
    if context:
        argv.append(f"--context={context}")
    return argv


def debug_argv(action: model.DebugAction, *, namespace: str, custom_file: Path | None) -> list[str]:
    """The arguments after `kubectl` for a `kubectl debug` step.

    `custom_file` is where the caller wrote `action.custom` as JSON; it is required when `custom` is set.
    """
    if action.custom is not None and custom_file is None:
        raise ValueError("debug_argv: action.custom is set but no custom_file was given")
    argv = ["debug", _debug_target(action), f"--namespace={namespace}"]
    argv += _container_flags(action, custom_file)
    argv += _copy_flags(action)
    argv += _attach_flags(action)
    if action.command:
        argv += ["--", *action.command]
    return argv


def exec_argv(action: model.ExecAction, *, namespace: str) -> list[str]:
    """The arguments after `kubectl` for `kubectl exec [-i -t] POD [-c C] -- COMMAND`."""
    argv = ["exec", action.pod, f"--namespace={namespace}"]
    if action.container:
        argv.append(f"--container={action.container}")
    if action.interactive:
        argv += ["-i", "-t"]
    return [*argv, "--", *action.command]


def kubectl_argv(action: model.KubectlAction, *, namespace: str) -> list[str]:
    """The arguments after `kubectl` for a plain step: `--namespace=NS` first, unless the step picks one."""
    if any(_is_namespace_flag(arg) for arg in own_args(action.args)):
        return list(action.args)
    return [f"--namespace={namespace}", *action.args]


def chosen_namespace(args: list[str]) -> str | None:
    """The namespace a plain kubectl step's own `-n`/`--namespace` names (`-nNS`, `-n=NS`, `-n NS`), or None."""
    args = own_args(args)
    for i, arg in enumerate(args):
        if arg in ("-n", "--namespace"):
            return args[i + 1] if i + 1 < len(args) else None
        for prefix in ("--namespace=", "-n="):
            if arg.startswith(prefix):
                return arg[len(prefix) :]
        if _is_glued_short_n(arg):
            return arg[2:]
    return None


def own_args(args: list[str]) -> list[str]:
    """kubectl's own arguments: everything before `--` (after it, `-n 5` belongs to the command, e.g. head)."""
    return args[: args.index("--")] if "--" in args else list(args)


def _is_namespace_flag(arg: str) -> bool:
    if arg in _NAMESPACE_FLAGS or any(arg.startswith(flag + "=") for flag in _NAMESPACE_FLAGS):
        return True
    return _is_glued_short_n(arg)


def _is_glued_short_n(arg: str) -> bool:
    """`-nNS`: the short namespace flag with its value attached."""
    return arg.startswith("-n") and not arg.startswith("--") and len(arg) > 2


def _debug_target(action: model.DebugAction) -> str:
    if action.mode == "node":
        if not action.node:
            raise ScenarioError("a debug step in node mode needs `node:`; add the node name (e.g. ${node})")
        return f"node/{action.node}"
    if not action.pod:
        raise ScenarioError(f"a debug step in {action.mode} mode needs `pod:`; add the name of the pod to debug")
    return action.pod


def _container_flags(action: model.DebugAction, custom_file: Path | None) -> list[str]:
    """Flags describing the debug container itself."""
    argv: list[str] = []
    for flag, value in (
        ("--image", action.image),
        ("--container", action.container),
        ("--target", action.target),
        ("--profile", action.profile),
        ("--image-pull-policy", action.image_pull_policy),
    ):
        if value is not None:
            argv.append(f"{flag}={value}")
    if action.custom is not None:
        argv.append(f"--custom={custom_file}")
    argv += [f"--env={_map_item(name, value)}" for name, value in sorted(action.env.items())]
    if action.arguments_only:
        argv.append("--arguments-only")
    return argv


def _copy_flags(action: model.DebugAction) -> list[str]:
    """Flags about the copy of the pod (`--copy-to` and the flags that only work with it)."""
    argv: list[str] = []
    if action.copy_to is not None:
        argv.append(f"--copy-to={action.copy_to}")
    if action.replace:
        argv.append("--replace")
    if action.same_node:
        argv.append("--same-node")
    if action.share_processes is not None:
        argv.append(f"--share-processes={_bool(action.share_processes)}")
    if action.set_image:
        argv.append("--set-image=" + _map_value(action.set_image))
    for flag, keep in (
        ("--keep-labels", action.keep_labels),
        ("--keep-annotations", action.keep_annotations),
        ("--keep-liveness", action.keep_liveness),
        ("--keep-readiness", action.keep_readiness),
        ("--keep-startup", action.keep_startup),
        ("--keep-init-containers", action.keep_init_containers),
    ):
        if keep is not None:
            argv.append(f"{flag}={_bool(keep)}")
    return argv


def _attach_flags(action: model.DebugAction) -> list[str]:
    """`-i`, `-t`, `--attach` and `-q`: whether and how kubectl attaches to the debug container."""
    tty = action.interactive if action.tty is None else action.tty
    argv: list[str] = []
    if action.interactive:
        argv.append("-i")
    if tty:
        argv.append("-t")
    if action.attach is not None:
        argv.append(f"--attach={_bool(action.attach)}")
    if action.quiet:
        argv.append("-q")
    return argv


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _map_value(items: Mapping[str, str]) -> str:
    """A value for kubectl's map flags (`--set-image`), sorted by key: `a=x,b=y`."""
    return _csv_join([f"{key}={value}" for key, value in sorted(items.items())])


def _map_item(key: str, value: str) -> str:
    """One `KEY=VALUE` for a repeated map flag (`--env`), quoted so kubectl reads it back unchanged.

    pflag's string-to-string parser takes a single `=` pair verbatim, but parses anything with more `=` signs
    as CSV (so a `,` would split it): such pairs are CSV-quoted.
    """
    pair = f"{key}={value}"
    if pair.count("=") == 1:
        return pair
    return _csv_join([pair])


def _csv_join(fields: list[str]) -> str:
    if len(fields) == 1 and fields[0].count("=") == 1 and "," not in fields[0]:
        return fields[0]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()
