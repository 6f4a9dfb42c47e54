"""KubectlDriver: the pinned kubectl for non-interactive results and failures, and the interactive path.

No cluster here: kubectl's own validation errors and a refused connection are real kubectl behaviour. The
happy interactive path runs a kubectl stand-in (tests/data/debug/fake_attach.py) that prints what
`kubectl debug -it` prints and then acts as the attached shell.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from kdbgtest.base import tools
from kdbgtest.base.errors import ScenarioError
from kdbgtest.debug import kubectl_driver
from kdbgtest.debug.driver import CommandResult, Driver, SessionFailed, SessionTimeout
from kdbgtest.scenario import model

FAKE = Path(__file__).parents[2] / "data" / "debug" / "fake_attach.py"
DialogueList = list[model.DialogueItem]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose server refuses connections (port 9), with a token so kubectl never prompts."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    return path


@pytest.fixture
def real(kubeconfig: Path, tmp_path: Path) -> kubectl_driver.KubectlDriver:
    return kubectl_driver.KubectlDriver(tools.pinned_kubectl(), kubeconfig, None, tmp_path / "artifacts")


@pytest.fixture
def fake(kubeconfig: Path, tmp_path: Path) -> kubectl_driver.KubectlDriver:
    """A driver whose `kubectl` is the stand-in script."""
    script = tmp_path / "kubectl"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return kubectl_driver.KubectlDriver(script, kubeconfig, "ctx", tmp_path / "artifacts")


def dialogue(*items: dict[str, object]) -> DialogueList:
    return TypeAdapter(DialogueList).validate_python(list(items))


def test_protocol_is_satisfied(real: kubectl_driver.KubectlDriver) -> None:
    driver: Driver = real
    assert callable(driver.debug)


def test_kubectl_version_client(real: kubectl_driver.KubectlDriver, kubeconfig: Path) -> None:
    action = model.KubectlAction(args=["version", "--client"])
    result = real.kubectl(action, namespace="ns", session=None, timeout=30, step_slug="01-version")
    assert result.exit_code == 0
    assert result.argv[1:] == [f"--kubeconfig={kubeconfig}", "--namespace=ns", "version", "--client"]
    assert "Client Version: v1.37.1" in result.stdout and result.stderr == ""
    assert result.output == result.stdout and result.transcript is None and result.duration > 0


def test_debug_validation_error_with_custom_profile(real: kubectl_driver.KubectlDriver, tmp_path: Path) -> None:
    action = model.DebugAction(
        mode="ephemeral",
        pod="app",
        image="busybox",
        same_node=True,
        custom={"env": [{"name": "A", "value": "1"}]},
    )
    result = real.debug(action, namespace="ns", session=None, timeout=30, step_slug="03-debug copy")
    assert (result.exit_code, result.stderr) == (1, "error: --same-node may only be used with --copy-to.\n")
    custom = tmp_path / "artifacts" / "03-debug-copy.custom.json"
    assert json.loads(custom.read_text()) == {"env": [{"name": "A", "value": "1"}]}
    assert f"--custom={custom}" in result.argv
    assert result.captures == {"debug_pod": "app"}  # from the action; kubectl created nothing to report


def test_session_without_interactive_is_refused(real: kubectl_driver.KubectlDriver) -> None:
    action = model.ExecAction(pod="app", command=["sh"])
    with pytest.raises(ScenarioError, match="must be `interactive: true`"):
        real.exec(action, namespace="ns", session=dialogue({"send": "ls"}), timeout=5, step_slug="x")


def test_real_kubectl_failing_to_attach_is_a_session_failure(real: kubectl_driver.KubectlDriver) -> None:
    """kubectl -it cannot reach the server: it ends without the prompt hint; the first expect reports it."""
    action = model.DebugAction(mode="ephemeral", pod="app", image="busybox", interactive=True)
    with pytest.raises(SessionFailed) as caught:
        real.debug(action, namespace="ns", session=dialogue({"expect": "/ # "}), timeout=20, step_slug="02-dbg")
    result = caught.value.result
    assert result.exit_code == 1
    assert "The connection to the server 127.0.0.1:9 was refused" in result.output
    assert "ended with exit code 1 while waiting for the text '/ # '" in str(caught.value)
    assert result.transcript is not None and str(result.transcript) in str(caught.value)
    assert "connection to the server" in result.transcript.read_text()


def test_interactive_debug_runs_the_dialogue(fake: kubectl_driver.KubectlDriver, tmp_path: Path) -> None:
    action = model.DebugAction(mode="copy", pod="app", copy_to="app-dbg", image="busybox", interactive=True)
    items = dialogue(
        {"send": "hostname"},  # typed only after the hint was answered: the driver waited for it
        {"regex": r"^(?P<host>app-[\w-]+)$"},
        {"send": "exit 4"},
        {"end": True, "exit_code": 4},
    )
    result = fake.debug(action, namespace="ns", session=items, timeout=20, step_slug="05-attach")
    assert result.exit_code == 4
    assert result.captures == {
        "debug_pod": "app-dbg",
        "debug_container": "debugger-x7k2p",
        "host": "app-7d9f8b-x2k4q",
    }
    assert result.argv[1:] == [
        f"--kubeconfig={tmp_path / 'kubeconfig'}",
        "--context=ctx",
        "debug",
        "app",
        "--namespace=ns",
        "--image=busybox",
        "--copy-to=app-dbg",
        "-i",
        "-t",
    ]
    assert result.output.endswith("/ # hostname\napp-7d9f8b-x2k4q\n/ # exit 4\n")
    assert result.stdout == result.output and result.stderr == ""
    assert result.transcript == tmp_path / "artifacts" / "05-attach.transcript.txt"
    assert "\x1b[1;32m/ #" in result.transcript.read_text()


def test_wrong_exit_code_and_timeouts_keep_the_partial_result(fake: kubectl_driver.KubectlDriver) -> None:
    action = model.DebugAction(mode="ephemeral", pod="app", image="busybox", interactive=True)
    with pytest.raises(SessionFailed, match="ended with exit code 2, expected 0") as failed:
        fake.debug(
            action,
            namespace="ns",
            session=dialogue({"send": "exit 2"}, {"end": True, "exit_code": 0}),
            timeout=20,
            step_slug="a",
        )
    assert failed.value.result.exit_code == 2
    with pytest.raises(SessionTimeout) as timed_out:
        fake.debug(
            action,
            namespace="ns",
            session=dialogue({"expect": "nope", "timeout": 0.5}),
            timeout=20,
            step_slug="b",
        )
    result: CommandResult = timed_out.value.result
    assert "waiting for the text 'nope'" in str(timed_out.value) and "  | / # " in str(timed_out.value)
    assert result.exit_code is None  # still running after the dialogue: kdbgtest stopped it
    assert result.captures == {"debug_pod": "app", "debug_container": "debugger-x7k2p"}


def test_dialogue_without_end_stops_the_program(fake: kubectl_driver.KubectlDriver, tmp_path: Path) -> None:
    action = model.ExecAction(pod="app", command=["sh"], interactive=True)
    items = dialogue({"send": ""}, {"expect": "/ # "})  # exec: no hint is awaited, so press Enter ourselves
    result = fake.exec(action, namespace="ns", session=items, timeout=20, step_slug="c")
    assert result.exit_code is None
    assert result.argv == [
        str(tmp_path / "kubectl"),
        f"--kubeconfig={tmp_path / 'kubeconfig'}",
        "--context=ctx",
        "exec",
        "app",
        "--namespace=ns",
        "-i",
        "-t",
        "--",
        "sh",
    ]


def test_quiet_debug_does_not_wait_for_a_hint(fake: kubectl_driver.KubectlDriver) -> None:
    action = model.DebugAction(mode="ephemeral", pod="app", image="busybox", interactive=True, quiet=True)
    items = dialogue({"send": ""}, {"expect": "/ # "}, {"control": "d"}, {"end": True})
    result = fake.debug(action, namespace="ns", session=items, timeout=10, step_slug="d")
    assert result.exit_code == 0 and "Defaulting" not in result.output
    assert result.duration < 5  # it would have waited the whole timeout for a hint that never comes


def test_printed_captures_from_node_debug() -> None:
    text = "Creating debugging pod node-debugger-w1-7xq2z with container debugger on node w1.\n"
    assert kubectl_driver.printed_captures(text) == {
        "debug_pod": "node-debugger-w1-7xq2z",
        "debug_container": "debugger",
    }


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["attach", "app", "-c", "debugger-x", "-i", "-t"], True),
        (["attach", "app", "-it"], True),
        (["debug", "app", "--image=busybox", "-it", "-q"], False),
        (["attach", "app", "-i"], False),
        (["run", "tmp", "--image=busybox", "-i", "--tty", "--", "sh"], True),
        (["exec", "app", "-it", "--", "sh"], False),  # exec never prints the hint
    ],
)
def test_which_kubectl_commands_print_the_prompt_hint(args: list[str], hint: bool) -> None:
    assert kubectl_driver.prints_prompt_hint(args) is hint


def test_interactive_kubectl_attach_waits_for_the_hint(fake: kubectl_driver.KubectlDriver) -> None:
    action = model.KubectlAction(args=["attach", "app", "-c", "debugger-x7k2p", "-i", "-t"], interactive=True)
    items = dialogue({"send": "echo reattached"}, {"regex": "^reattached$"}, {"send": "exit"}, {"end": True})
    result = fake.kubectl(action, namespace="ns", session=items, timeout=20, step_slug="e")
    assert result.exit_code == 0 and result.output.endswith("/ # echo reattached\nreattached\n/ # exit\n")


def test_a_capture_is_usable_later_in_the_same_dialogue(fake: kubectl_driver.KubectlDriver) -> None:
    """`${host}` captured by item 2 is typed by item 3 and awaited (escaped as a regex) by item 4."""
    action = model.DebugAction(mode="ephemeral", pod="app", image="busybox", interactive=True)
    items = dialogue(
        {"send": "hostname"},
        {"regex": r"^(?P<host>app-[\w-]+)$"},
        {"send": "echo seen ${host}.ok"},
        {"regex": r"^seen ${host}\.ok$"},
        {"send": "exit"},
        {"end": True, "exit_code": 0},
    )
    result = fake.debug(action, namespace="ns", session=items, timeout=20, step_slug="e")
    assert "\nseen app-7d9f8b-x2k4q.ok\n" in result.output
    assert "${host}" not in result.output
