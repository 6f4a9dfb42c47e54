"""A user who may not create namespaces is told once, with the way out (`--namespace NS`); the other scenarios
of the run are skipped without asking the cluster again. `kdbgtest run` in a child process, against the
recording fake kubectl refusing namespace creation with the API server's words (the offline cluster has no
authorization to refuse it with)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kdbg_fakes import FakeKubectl
from test_cli_commands import DISCOVERY, kdbgtest

REFUSAL = (
    'Error from server (Forbidden): namespaces is forbidden: User "dev" cannot create resource "namespaces" in '
    'API group "" at the cluster scope'
)


def test_namespace_creation_forbidden_is_said_once(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(raw=DISCOVERY, rules=[{"match": ["create", "-f"], "exit": 1, "stderr": REFUSAL + "\n"}])
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("one", "two", "three"):
        text = f"name: {name}\nsteps:\n  - name: s\n    kubectl: {{args: [version]}}\n"
        (suite / f"{name}.yaml").write_text(textwrap.dedent(text))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    done = kdbgtest(
        "run", suite, "--kubeconfig", kubeconfig, "--kubectl", fake_kubectl.path, "--artifacts", tmp_path / "art",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    forbidden = [line for line in done.stdout.splitlines() if "(Forbidden)" in line]
    assert len(forbidden) == 2, "the first scenario's error, and the summary's recap of it: " + done.stdout
    assert done.stdout.count("SKIP") == 2 and done.stdout.count("not run: this run may not create namespaces") == 2
    assert f"kdbgtest may not create namespaces on this cluster ({REFUSAL}); run the scenarios in an existing " \
        "namespace with --namespace NS" in " ".join(done.stdout.split())  # fmt: skip
    assert "1 failed" not in done.stdout and "1 errors, 2 skipped" in done.stdout, done.stdout
    creates = [c for c in fake_kubectl.commands() if c[:1] == ["create"]]
    assert len(creates) == 1, "the cluster is asked once"
