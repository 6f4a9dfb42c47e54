"""`apply: {file: ...}` reads manifests relative to the scenario file, and only inside its directory tree: `..`,
an absolute path or a symlink leading out is refused with the step's file:line, unless --allow-outside-files.
Real `kdbgtest run` processes against the fake kubectl."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl

REPO = Path(__file__).resolve().parents[3]
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec: {containers: [{name: c, image: busybox:1.36}]}\n"


def _scenario(directory: Path, file: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "demo.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        name: demo
        steps:
          - name: plant
            apply: {{file: {file!r}}}
        """)
    )
    return path


def _run(tmp_path: Path, fake: FakeKubectl, scenario: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("")
    argv = [sys.executable, "-m", "kdbgtest.cli", "run", str(scenario), "--kubeconfig", str(kubeconfig),
            "--kubectl", str(fake.path), "--artifacts", str(tmp_path / "art"), *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)


def _applied(fake: FakeKubectl) -> bool:
    """Whether kubectl was asked to create anything in the run's namespace (gone by now, with the pod), not
    the namespace itself (which has no -n)."""
    return any(command[:1] == ["-n"] and "create" in command for command in fake.commands())


def test_a_file_beside_the_scenario_is_read_relative_to_it(tmp_path: Path, fake_kubectl: FakeKubectl) -> None:
    scenario = _scenario(tmp_path / "scenarios" / "deep", "manifests/pod.yaml")
    (scenario.parent / "manifests").mkdir()
    (scenario.parent / "manifests" / "pod.yaml").write_text(POD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run(elsewhere, fake_kubectl, scenario)  # the working directory plays no part
    assert done.returncode == 0, done.stdout + done.stderr
    assert _applied(fake_kubectl)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_file_outside_the_scenario_tree_is_refused_with_file_and_line(
    tmp_path: Path, fake_kubectl: FakeKubectl, how: str
) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text(POD)
    directory = tmp_path / "scenarios"
    file = {"dotdot": "../secret.yaml", "absolute": str(outside), "symlink": "link.yaml"}[how]
    scenario = _scenario(directory, file)
    if how == "symlink":
        (directory / "link.yaml").symlink_to(outside)
    done = _run(tmp_path, fake_kubectl, scenario)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{scenario}:3, step 1 'plant'" in done.stdout, done.stdout
    assert (
        f"manifest file {file!r} resolves to {outside}, outside the scenario's directory {directory}; move it "
        "under that directory, or pass --allow-outside-files to allow it"
    ) in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not _applied(fake_kubectl)

    allowed = _run(tmp_path, fake_kubectl, scenario, "--allow-outside-files")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert _applied(fake_kubectl)
