"""kubectl argv construction, checked against the flags the pinned kubectl documents and accepts."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from kdbgtest.base import tools
from kdbgtest.base.errors import ScenarioError
from kdbgtest.debug import argv
from kdbgtest.scenario import model

CUSTOM = Path("/art/step.custom.json")
_FLAG_LINE = re.compile(r"^\s+(?:-(?P<short>\w), )?--(?P<long>[\w-]+)=", re.MULTILINE)


def _kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools.pinned_kubectl()), *args], capture_output=True, text=True, timeout=30, check=False)


@cache
def documented_flags(command: str) -> frozenset[str]:
    """Every `-x` and `--long` flag in `kubectl COMMAND --help` plus the global ones of `kubectl options`."""
    text = _kubectl(command, "--help").stdout + _kubectl("options").stdout
    flags = set()
    for match in _FLAG_LINE.finditer(text):
        flags.add("--" + match["long"])
        if match["short"]:
            flags.add("-" + match["short"])
    assert "--copy-to" in flags or command != "debug", "could not parse kubectl debug --help"
    return frozenset(flags)


def flags_of(args: list[str]) -> list[str]:
    """The flag names in an argv (before `--`), without their values."""
    head = args[: args.index("--")] if "--" in args else args
    return [a.split("=", 1)[0] for a in head if a.startswith("-")]


def debug(**fields: Any) -> model.DebugAction:
    fields.setdefault("mode", "ephemeral")
    fields.setdefault("pod", "app")
    return model.DebugAction(**fields)


# One action per mode with every field of that mode set, so every flag we can emit is checked.
EVERY_FLAG_ACTIONS = [
    debug(
        image="busybox:1.36",
        container="dbg",
        target="app",
        profile="netadmin",
        custom={"securityContext": {"runAsUser": 0}},
        env={"B": "2", "A": "1"},
        arguments_only=True,
        command=["sleep", "1d"],
        image_pull_policy="IfNotPresent",
        interactive=True,
        attach=False,
        quiet=True,
    ),
    debug(
        mode="copy",
        image="busybox",
        copy_to="app-copy",
        replace=True,
        same_node=True,
        share_processes=False,
        set_image={"app": "busybox", "*": "alpine"},
        keep_labels=True,
        keep_annotations=False,
        keep_liveness=True,
        keep_readiness=False,
        keep_startup=True,
        keep_init_containers=False,
        tty=True,
    ),
    debug(mode="node", pod=None, node="worker-1", image="busybox", profile="sysadmin", interactive=True),
]


@pytest.mark.parametrize("action", EVERY_FLAG_ACTIONS, ids=["ephemeral", "copy", "node"])
def test_every_emitted_debug_flag_is_documented_by_kubectl(action: model.DebugAction) -> None:
    emitted = flags_of(argv.debug_argv(action, namespace="ns", custom_file=CUSTOM))
    unknown = sorted(set(emitted) - documented_flags("debug"))
    assert emitted and not unknown, f"flags kubectl debug does not document: {unknown}"


def test_exec_flags_are_documented_by_kubectl() -> None:
    action = model.ExecAction(pod="app", container="c", command=["sh"], interactive=True)
    emitted = flags_of(argv.exec_argv(action, namespace="ns"))
    assert set(emitted) <= documented_flags("exec"), emitted


def test_base_flags_are_global_kubectl_flags() -> None:
    emitted = flags_of(argv.base_argv(Path("/k"), Path("/kc"), "ctx")[1:])
    assert emitted == ["--kubeconfig", "--context"]
    assert set(emitted) <= documented_flags("debug")


# Fields that choose the target or the performer rather than a flag.
_NOT_FLAGS = {"mode", "pod", "node", "driver"}
_FIELD_VALUES: dict[str, Any] = {
    "image": "x",
    "container": "c",
    "target": "t",
    "profile": "general",
    "custom": {"a": 1},
    "env": {"K": "V"},
    "copy_to": "copy",
    "replace": True,
    "same_node": True,
    "share_processes": True,
    "set_image": {"*": "x"},
    "keep_labels": True,
    "keep_annotations": True,
    "keep_liveness": True,
    "keep_readiness": True,
    "keep_startup": True,
    "keep_init_containers": False,
    "arguments_only": True,
    "command": ["sh"],
    "image_pull_policy": "Never",
    "interactive": True,
    "tty": True,
    "attach": True,
    "quiet": True,
}


def test_every_debug_action_field_changes_the_argv() -> None:
    """A field added to the model without a flag here fails this test."""
    fields = set(model.DebugAction.model_fields) - _NOT_FLAGS
    assert fields == set(_FIELD_VALUES), "update _FIELD_VALUES and debug_argv for the new field"
    plain = argv.debug_argv(debug(), namespace="ns", custom_file=CUSTOM)
    for name, value in _FIELD_VALUES.items():
        changed = argv.debug_argv(debug(**{name: value}), namespace="ns", custom_file=CUSTOM)
        assert changed != plain, f"field {name!r} does not reach the kubectl command line"


FULL_ARGV_CASES = [
    (
        debug(image="busybox", target="app", interactive=True),
        ["debug", "app", "--namespace=ns", "--image=busybox", "--target=app", "-i", "-t"],
    ),
    (
        debug(image="busybox", container="dbg", profile="general", command=["sh", "-c", "echo hi"]),
        [
            "debug",
            "app",
            "--namespace=ns",
            "--image=busybox",
            "--container=dbg",
            "--profile=general",
            "--",
            "sh",
            "-c",
            "echo hi",
        ],
    ),
    (
        debug(image="busybox", custom={"env": []}, env={"Z": "1", "A": "x=y,z"}, quiet=True),
        [
            "debug",
            "app",
            "--namespace=ns",
            "--image=busybox",
            f"--custom={CUSTOM}",
            '--env="A=x=y,z"',
            "--env=Z=1",
            "-q",
        ],
    ),
    (
        debug(
            mode="copy",
            copy_to="app-copy",
            container="app",
            command=["sh"],
            interactive=True,
            share_processes=False,
            keep_labels=True,
            keep_init_containers=False,
        ),
        [
            "debug",
            "app",
            "--namespace=ns",
            "--container=app",
            "--copy-to=app-copy",
            "--share-processes=false",
            "--keep-labels=true",
            "--keep-init-containers=false",
            "-i",
            "-t",
            "--",
            "sh",
        ],
    ),
    (
        debug(
            mode="copy",
            copy_to="c",
            set_image={"sidecar": "busybox", "*": "alpine"},
            replace=True,
            same_node=True,
            arguments_only=True,
            command=["--verbose"],
        ),
        [
            "debug",
            "app",
            "--namespace=ns",
            "--arguments-only",
            "--copy-to=c",
            "--replace",
            "--same-node",
            "--set-image=*=alpine,sidecar=busybox",
            "--",
            "--verbose",
        ],
    ),
    (
        debug(mode="node", pod=None, node="w1", image="busybox", image_pull_policy="Never", attach=True),
        ["debug", "node/w1", "--namespace=ns", "--image=busybox", "--image-pull-policy=Never", "--attach=true"],
    ),
    (
        debug(image="busybox", tty=True),
        ["debug", "app", "--namespace=ns", "--image=busybox", "-t"],
    ),
]


@pytest.mark.parametrize(("action", "expected"), FULL_ARGV_CASES)
def test_full_debug_argv(action: model.DebugAction, expected: list[str]) -> None:
    assert argv.debug_argv(action, namespace="ns", custom_file=CUSTOM) == expected


def test_exec_and_kubectl_argv() -> None:
    exec_action = model.ExecAction(pod="app", container="c", command=["sh", "-c", "id"], interactive=True)
    assert argv.exec_argv(exec_action, namespace="ns") == [
        "exec",
        "app",
        "--namespace=ns",
        "--container=c",
        "-i",
        "-t",
        "--",
        "sh",
        "-c",
        "id",
    ]
    plain = model.KubectlAction(args=["get", "pods", "-o", "wide"])
    assert argv.kubectl_argv(plain, namespace="ns") == ["--namespace=ns", "get", "pods", "-o", "wide"]
    own_ns = model.KubectlAction(args=["get", "pods", "--namespace=kube-system"])
    assert argv.kubectl_argv(own_ns, namespace="ns") == ["get", "pods", "--namespace=kube-system"]
    assert argv.base_argv(Path("/bin/k"), Path("/kc"), None) == ["/bin/k", "--kubeconfig=/kc"]


def test_a_dash_n_after_the_double_dash_belongs_to_the_command_not_to_kubectl() -> None:
    head = model.KubectlAction(args=["exec", "app", "--", "head", "-n", "5", "/etc/passwd"])
    assert argv.kubectl_argv(head, namespace="ns")[0] == "--namespace=ns"
    assert argv.chosen_namespace(head.args) is None


@pytest.mark.parametrize(
    ("args", "chosen"),
    [
        (["debug", "node/n1", "-n", "default"], "default"),
        (["debug", "node/n1", "--namespace", "default"], "default"),
        (["debug", "node/n1", "--namespace=default"], "default"),
        (["debug", "node/n1", "-n=default"], "default"),
        (["debug", "node/n1", "-ndefault"], "default"),
        (["get", "pods", "-A"], None),
        (["get", "pods"], None),
    ],
)
def test_the_namespace_a_plain_step_chose(args: list[str], chosen: str | None) -> None:
    assert argv.chosen_namespace(args) == chosen
    own = argv.kubectl_argv(model.KubectlAction(args=args), namespace="ns")
    assert (own == args) is (chosen is not None or "-A" in args)


def test_missing_target_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="node mode needs `node:`"):
        argv.debug_argv(debug(mode="node", pod=None, image="x"), namespace="ns", custom_file=None)
    with pytest.raises(ScenarioError, match="copy mode needs `pod:`"):
        argv.debug_argv(debug(mode="copy", pod=None, image="x"), namespace="ns", custom_file=None)
    with pytest.raises(ValueError, match="custom_file"):
        argv.debug_argv(debug(image="x", custom={"a": 1}), namespace="ns", custom_file=None)


@pytest.fixture
def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig pointing at a closed port, with a token so kubectl never prompts."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return path


@pytest.mark.parametrize(
    ("action", "message"),
    [
        # kubectl validates after parsing every flag: reaching these messages proves each flag was accepted.
        (
            EVERY_FLAG_ACTIONS[1].model_copy(update={"target": "app"}),
            "error: --target is incompatible with --copy-to. Use --share-processes instead.",
        ),
        (
            debug(image="busybox", replace=True, env={"A": "x=y,z", "B": "1"}),
            "error: --replace may only be used with --copy-to.",
        ),
        (debug(image="busybox", tty=True), "error: -i/--stdin is required for containers with -t/--tty=true"),
    ],
)
def test_real_kubectl_parses_our_argv(
    action: model.DebugAction, message: str, unreachable_kubeconfig: Path, tmp_path: Path
) -> None:
    custom = tmp_path / "custom.json"
    custom.write_text("{}")
    args = argv.base_argv(tools.pinned_kubectl(), unreachable_kubeconfig, None)
    args += argv.debug_argv(action, namespace="ns", custom_file=custom)
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stderr.strip()) == (1, message)
