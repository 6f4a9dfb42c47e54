"""Failure artifacts: what a person needs to understand a failed run, in `<artifacts>/<scenario>-<run id>/`.

For every pod in the run's namespace (and every tracked pod elsewhere): `kubectl describe`, the pod as YAML,
logs and `--previous` logs of each container (regular, init and ephemeral), and the ephemeral container
statuses; plus the namespace's events. Session transcripts are written to the same directory by the driver.
A command that fails leaves its error in the file it would have filled; collection never raises.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kdbgtest.base import k8s
from kdbgtest.base.errors import KdbgtestError
from kdbgtest.runner import kube

ARTIFACT_TIMEOUT = 30.0


def directory(root: Path, scenario: str, run_id: str) -> Path:
    """The artifacts directory of one scenario run."""
    return root / f"{scenario}-{run_id}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _save(path: Path, client: kube.Kubectl, args: list[str], namespace: str | None) -> None:
    """Run kubectl and write its stdout, or its error, to `path`."""
    try:
        done = client.run(args, namespace=namespace, timeout=ARTIFACT_TIMEOUT, check=False)
    except KdbgtestError as exc:
        path.write_text(f"# {' '.join(args)}: {exc}\n")
        return
    text = done.stdout
    if done.returncode != 0:
        text += f"\n# kubectl {' '.join(args)} exited with {done.returncode}: {done.stderr.strip()}\n"
    path.write_text(text)


def collect(
    client: kube.Kubectl, out: Path, namespace: str, extra_pods: list[tuple[str, str]], *, labels: str | None = None
) -> list[Path]:
    """Write every artifact of the namespace (its pods matching `labels`, if given; and `extra_pods`) into
    `out`; return the files written. OSError when `out` cannot be written."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    _save(out / "events.txt", client, ["get", "events", "-o", "wide", "--sort-by=.lastTimestamp"], namespace)
    _save(out / "events.json", client, ["get", "events", "-o", "json"], namespace)
    try:
        found = client.items("pods", namespace=namespace, labels=labels, timeout=ARTIFACT_TIMEOUT)
    except KdbgtestError as exc:
        (out / "pods.error.txt").write_text(f"could not list pods in {namespace}: {exc}\n")
        found = []
    pods = [k8s.as_pod(obj) for obj in found]
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name"))
        _pod_artifacts(client, out / _safe(name), namespace, name, pod)
    collected = {(namespace, str((pod.get("metadata") or {}).get("name"))) for pod in pods}
    for ns, name in extra_pods:
        if (ns, name) not in collected and (labels is not None or ns != namespace):
            stem = out / _safe(name if ns == namespace else f"{ns}.{name}")
            _pod_artifacts(client, stem, ns, name, _get_or_none(client, ns, name))
    return sorted(set(out.iterdir()) - before)


def _get_or_none(client: kube.Kubectl, ns: str, name: str) -> k8s.Pod | None:
    try:
        found = client.get(f"pod/{name}", namespace=ns, timeout=ARTIFACT_TIMEOUT)
    except KdbgtestError:
        return None
    return None if found is None else k8s.as_pod(found)


def _pod_artifacts(client: kube.Kubectl, stem: Path, ns: str, name: str, pod: k8s.Pod | None) -> None:
    """`stem` is the path prefix of this pod's files (`<dir>/<pod>`)."""

    def file(suffix: str) -> Path:
        return stem.with_name(stem.name + suffix)

    _save(file(".describe.txt"), client, ["describe", "pod", name], ns)
    _save(file(".yaml"), client, ["get", "pod", name, "-o", "yaml"], ns)
    if pod is None:
        return
    ephemeral = k8s.container_statuses(pod, ["ephemeral"])
    file(".ephemeral-statuses.json").write_text(json.dumps(ephemeral, indent=2) + "\n")
    for container in container_names(pod):
        _save(file(f".{_safe(container)}.log"), client, ["logs", name, "-c", container], ns)
        _save(
            file(f".{_safe(container)}.previous.log"),
            client,
            ["logs", name, "-c", container, "--previous"],
            ns,
        )


def container_names(pod: k8s.Pod) -> list[str]:
    """Names of the init, regular and ephemeral containers of a pod spec."""
    return [str(c.get("name")) for c in k8s.containers(pod)]
