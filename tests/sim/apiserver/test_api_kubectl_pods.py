"""The API server driven by the real pinned kubectl: discovery, nodes, pods, logs, exec, events."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from api_harness import ApiServer

from kdbgtest.base.errors import CommandFailed


def _pod_yaml(tmp_path: Path, name: str, command: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
          labels: {{app: {name}}}
        spec:
          containers:
          - name: app
            image: busybox
            command: ["sh", "-c", "{command}"]
        """)
        + extra
    )
    return path


def _running(api: ApiServer, name: str, namespace: str = "default") -> None:
    api.kubectl("wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}", "--timeout=20s")


def test_version_and_nodes_like_kind(api: ApiServer) -> None:
    assert "Server Version: v1.34.0" in api.kubectl("version").stdout
    lines = api.kubectl("get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[0::2] == ["t-control-plane", "control-plane", "v1.34.0"]
    assert lines[2].split()[0::2] == ["t-worker", "<none>", "v1.34.0"]
    node = api.kubectl_json("get", "node", "t-control-plane")
    assert node["spec"]["taints"] == [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]
    assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"


def test_wrong_token_is_unauthorized(api: ApiServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(api.kubeconfig.read_text().replace(api.tls.token, "wrong-token"))
    result = api.kubectl("--kubeconfig", str(bad), "get", "pods", check=False)
    assert result.returncode == 1
    assert "You must be logged in to the server (Unauthorized)" in result.stderr


def test_apply_get_describe_logs_exec_delete(api: ApiServer, tmp_path: Path) -> None:
    manifest = _pod_yaml(tmp_path, "web", "echo hello from app; sleep 3600")
    assert api.kubectl("apply", "-f", str(manifest)).stdout.strip() == "pod/web created"
    _running(api, "web")
    wide = api.kubectl("get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    row = wide[1].split()
    assert row[:4] == ["web", "1/1", "Running", "0"] and row[6] == "t-worker"  # never the tainted control plane
    assert api.kubectl("get", "pod", "web", "-o", "jsonpath={.spec.nodeName} {.metadata.generation}").stdout == (
        "t-worker 1"
    )
    assert api.kubectl("apply", "-f", str(manifest)).stdout.strip() == "pod/web unchanged"
    described = api.kubectl("describe", "pod", "web").stdout
    assert re.search(r"Status:\s+Running", described)
    assert "Successfully assigned default/web to t-worker" in described
    assert api.kubectl("logs", "web").stdout == "hello from app\n"
    assert api.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2").stdout == "out\n"
    failed = api.kubectl("exec", "web", "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3
    assert "command terminated with exit code 3" in failed.stderr
    assert api.kubectl("delete", "pod", "web").stdout.strip() == 'pod "web" deleted from default namespace'
    gone = api.kubectl("get", "pod", "web", check=False)
    assert gone.stderr.strip() == 'Error from server (NotFound): pods "web" not found'


def test_apply_rejects_unknown_fields_like_a_real_server(api: ApiServer, tmp_path: Path) -> None:
    manifest = _pod_yaml(tmp_path, "typo", "sleep 1", "    imagePullPolicyy: Always\n")
    with pytest.raises(CommandFailed) as failed:
        api.kubectl("apply", "-f", str(manifest))
    assert failed.value.stderr.strip() == (
        f'Error from server (BadRequest): error when creating "{manifest}": Pod in version "v1" cannot be '
        'handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolicyy"'
    )


def test_events_listed_and_filtered(api: ApiServer, tmp_path: Path) -> None:
    api.kubectl("apply", "-f", str(_pod_yaml(tmp_path, "ev", "sleep 3600")))
    _running(api, "ev")
    uid = api.kubectl("get", "pod", "ev", "-o", "jsonpath={.metadata.uid}").stdout
    events = api.kubectl("get", "events", "--field-selector", f"involvedObject.uid={uid}").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1].split()[1:4] == ["Normal", "Scheduled", "pod/ev"]
    assert len(events) == 2
    api.kubectl("delete", "pod", "ev", "--wait")


def test_label_and_field_selectors(api: ApiServer, tmp_path: Path) -> None:
    for name in ("sel-a", "sel-b"):
        api.kubectl("apply", "-f", str(_pod_yaml(tmp_path, name, "sleep 3600")))
    assert api.kubectl("get", "pods", "-l", "app=sel-a", "-o", "name").stdout.split() == ["pod/sel-a"]
    assert api.kubectl("get", "pods", "-l", "app in (sel-a,sel-b)", "-o", "name").stdout.split() == [
        "pod/sel-a",
        "pod/sel-b",
    ]
    by_name = api.kubectl("get", "pods", "--field-selector", "metadata.name!=sel-a", "-o", "name").stdout.split()
    assert "pod/sel-b" in by_name and "pod/sel-a" not in by_name
    bad = api.kubectl("get", "pods", "--field-selector", "spec.bogus=x", check=False)
    assert "field label not supported: spec.bogus" in bad.stderr
    api.kubectl("delete", "pod", "sel-a", "sel-b", "--grace-period=0", "--force")
    assert json.loads(api.kubectl("get", "pods", "-l", "app=sel-a", "-o", "json").stdout)["items"] == []


def test_exec_relays_piped_stdin_until_eof(api: ApiServer, tmp_path: Path) -> None:
    api.kubectl("apply", "-f", str(_pod_yaml(tmp_path, "cat", "sleep 3600")))
    _running(api, "cat")
    # kubectl sends the v5 CLOSE frame for stdin at EOF; `cat` only ends if that reaches the process.
    done = api.kubectl("exec", "-i", "cat", "--", "sh", "-c", "cat; echo eof-seen", stdin="line one\nline two\n")
    assert done.stdout == "line one\nline two\neof-seen\n"


def test_logs_follow_streams_until_the_container_ends(api: ApiServer, tmp_path: Path) -> None:
    api.kubectl("apply", "-f", str(_pod_yaml(tmp_path, "ticker", "sleep 1; for i in 1 2 3; do echo tick $i; done")))
    _running(api, "ticker")
    followed = api.kubectl("logs", "-f", "ticker", timeout=20)
    assert followed.stdout == "tick 1\ntick 2\ntick 3\n"
    assert api.kubectl("logs", "ticker", "--tail=1").stdout == "tick 3\n"


def test_server_dry_run_checks_but_stores_nothing(api: ApiServer, tmp_path: Path) -> None:
    dry = api.kubectl("run", "dry", "--image=busybox", "--dry-run=server", "-o", "jsonpath={.spec.restartPolicy}")
    assert dry.stdout == "Always"  # defaulted by the server
    assert api.kubectl("get", "pod", "dry", check=False).returncode == 1
    api.kubectl("apply", "-f", str(_pod_yaml(tmp_path, "kept", "sleep 3600")))
    assert api.kubectl("delete", "pod", "kept", "--dry-run=server").stdout.strip() == (
        'pod "kept" deleted from default namespace (server dry run)'
    )
    assert api.kubectl("get", "pod", "kept", "-o", "name").stdout.strip() == "pod/kept"
