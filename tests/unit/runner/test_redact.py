"""Which kubeconfig entries are credentials, and redacting them in events and files."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from kdbgtest.runner import events, redact

KEY = (
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZyt\nY2xpZW50LWtleS1zZWNvbmQtbGluZQ==\n"
    "-----END EC PRIVATE KEY-----\n"
)
KEY_DATA = base64.b64encode(KEY.encode()).decode()


def _kubeconfig(tmp_path: Path) -> Path:
    (tmp_path / "token.txt").write_text("file-token-0123456789\n")
    (tmp_path / "client.key").write_text(KEY.replace("MHcC", "ZZcC"))
    users = [
        {"name": "a", "user": {"token": "inline-token-abcdefgh", "client-key-data": KEY_DATA}},
        {"name": "b", "user": {"tokenFile": "token.txt", "client-key": "client.key", "password": "hunter2-but-longer"}},
        {"name": "c", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": "oidc-id-token-xyz1"}}}},
        {"name": "d", "user": {"token": "short"}},  # too short to redact without damaging unrelated text
    ]  # fmt: skip
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": users}))
    return path


def test_every_kind_of_credential_is_found(tmp_path: Path) -> None:
    found = redact.kubeconfig_secrets(_kubeconfig(tmp_path))
    assert {
        "inline-token-abcdefgh",
        KEY_DATA,
        "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZyt",  # a line of the decoded key
        "file-token-0123456789",
        "ZZcCAQEEIBkg4LVWM9nuwNSk3yByxZyt",  # a line of the key file
        "hunter2-but-longer",
        "oidc-id-token-xyz1",
    } <= found
    assert "short" not in found
    assert not any(s.startswith("-----") for s in found)


def test_an_unreadable_kubeconfig_has_none(tmp_path: Path) -> None:
    assert redact.kubeconfig_secrets(tmp_path / "missing") == set()
    (tmp_path / "bad").write_text("users: [unclosed")
    assert redact.kubeconfig_secrets(tmp_path / "bad") == set()


def test_events_and_files_are_redacted(tmp_path: Path) -> None:
    redactor = redact.Redactor.for_kubeconfig(_kubeconfig(tmp_path))
    step = events.StepFinished(
        scenario="s", step="x", index=1, verdict="failed", duration=1.0,
        message="saw token: inline-token-abcdefgh", argv=["kubectl", "--token=inline-token-abcdefgh"],
        output_tail="file-token-0123456789", observed={"env": [{"value": "oidc-id-token-xyz1"}]},
    )  # fmt: skip
    done = redactor.event(events.ScenarioFinished(scenario="s", path=Path("s.yaml"), verdict="failed",
                                                  duration=1.0, steps=[step]))  # fmt: skip
    assert done.steps[0].message == "saw token: [REDACTED]"
    assert done.steps[0].argv == ["kubectl", "--token=[REDACTED]"]
    assert done.steps[0].output_tail == "[REDACTED]"
    assert done.steps[0].observed == {"env": [{"value": "[REDACTED]"}]}
    assert done.path == Path("s.yaml")
    out = tmp_path / "artifacts"
    (out / "pod").mkdir(parents=True)
    (out / "pod" / "transcript.txt").write_bytes(b"\x1b[1m$ echo inline-token-abcdefgh\r\n")
    (out / "clean.log").write_text("nothing here\n")
    assert redactor.files(out) == [out / "pod" / "transcript.txt"]
    assert (out / "pod" / "transcript.txt").read_bytes() == b"\x1b[1m$ echo [REDACTED]\r\n"
