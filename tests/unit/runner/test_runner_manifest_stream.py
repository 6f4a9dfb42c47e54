"""What the runner pipes into `kubectl apply/create -f -` must decode in kubectl with every string intact."""

from __future__ import annotations

from pathlib import Path

import yaml

from kdbgtest.base import process, tools
from kdbgtest.runner import kube

NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "kdbg-x-50349e59", "labels": {"kdbgtest.io/run-id": "50349e59"}},
}


def kubectl_decode(stream: str, tmp_path: Path) -> str:
    """kubectl decodes stdin before it contacts the (here unreachable) server; return what it complained of."""
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    argv = [
        str(tools.pinned_kubectl()),
        f"--kubeconfig={config}",
        "create",
        "-f",
        "-",
        "--dry-run=client",
        "--validate=false",
    ]
    return process.run(argv, timeout=30, check=False, stdin=stream).stderr


def test_a_run_id_that_looks_like_a_number_stays_a_string(tmp_path: Path) -> None:
    stream = kube.manifest_stream([NAMESPACE, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    assert list(yaml.safe_load_all(stream)) == [
        NAMESPACE,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    ]
    complaint = kubectl_decode(stream, tmp_path)
    assert "unable to recognize" in complaint  # it got as far as asking the server about the kinds
    assert "decode" not in complaint and "5.0349e+63" not in complaint


def test_plain_yaml_would_have_turned_it_into_a_number(tmp_path: Path) -> None:
    """The failure this guards against, seen with the real kubectl (PyYAML leaves 50349e59 unquoted)."""
    complaint = kubectl_decode(yaml.safe_dump(NAMESPACE), tmp_path)
    assert "cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string" in complaint
