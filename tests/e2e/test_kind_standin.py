"""The kind provider end to end, through pytest-kind's real `KindCluster` code, with the stand-in kind
(tests/kind_standin/kind) backed by the offline cluster: create, load images, run one scenario per debug mode
through the runner engine, delete. The cluster reports kind "kind" (the code path is kind's) and a name
that says it is the stand-in, so no report can pass it off as a real kind cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kdbgtest.base import process
from kdbgtest.cluster import kind
from kdbgtest.runner import engine
from kdbgtest.scenario import loader
from kdbgtest.sim import cluster as sim_cluster
from kdbgtest.sim.node import toolbox

pytestmark = [pytest.mark.sim, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "kind_standin" / "kind"
SCENARIOS = {  # one per debug mode
    "ephemeral": ROOT / "scenarios" / "ephemeral" / "distroless-target.yaml",
    "copy": ROOT / "scenarios" / "copy" / "set-image.yaml",
    "node": ROOT / "scenarios" / "node" / "host-namespaces.yaml",
}


@pytest.fixture
def standin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in's clusters under tmp_path, run by this interpreter; cwd (where pytest-kind puts
    `.pytest-kind/`) in tmp_path too."""
    reason = sim_cluster.unavailable_reason()
    if reason is not None:
        pytest.skip(f"the offline cluster cannot run here: {reason}")
    home = tmp_path / "standin-home"
    monkeypatch.setenv("KDBGTEST_KIND_STANDIN_HOME", str(home))
    monkeypatch.setenv("KDBGTEST_STANDIN_PYTHON", sys.executable)
    monkeypatch.setenv("KDBGTEST_KIND_STANDIN_TIME_SCALE", "0.1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def standin_clusters() -> list[str]:
    return process.run([str(STANDIN), "get", "clusters"], timeout=30).stdout.split()


def test_pytest_kind_path_runs_a_scenario_per_mode_and_deletes_the_cluster(standin_env: Path, tmp_path: Path) -> None:
    name = f"kdbg-standin-{uuid.uuid4().hex[:6]}"
    settings = kind.KindSettings(name=name, config=ROOT / "clusters" / "kind-1.37.yaml", kind=STANDIN, engine=None)
    provider = kind.KindProvider(settings)
    info = provider.acquire()
    try:
        assert standin_clusters() == [name]
        assert info.kind == "kind"
        assert info.name == f"{name} (stand-in kind on the offline cluster)"
        assert info.server_version == "1.37"  # from the config's kindest/node:v1.37.0 image
        assert info.nodes == (f"{name}-worker",)  # the control plane is tainted, as on kind
        assert info.control_plane == f"{name}-control-plane"
        assert info.kubeconfig == standin_env / ".pytest-kind" / name / "kubeconfig"
        # pytest-kind was given kind and kubectl: it downloaded nothing next to the kubeconfig
        assert sorted(p.name for p in info.kubeconfig.parent.iterdir()) == ["kubeconfig"]
        assert {"ephemeral-containers", "target-namespace", "node-debug"} <= info.capabilities
        assert "kdbgtest/distroless-app:1" in provider.loaded
        complete_toolbox = not toolbox.missing()
        assert ("toolbox-image" in info.capabilities) is complete_toolbox
        assert (kind.TOOLBOX_IMAGE in provider.loaded) is complete_toolbox
        assert provider.warnings == ([] if complete_toolbox else [
            f"image {kind.TOOLBOX_IMAGE} was not loaded into kind cluster {name}; build: nox -s toolbox"
        ])  # fmt: skip

        loaded = [loader.load_file(path) for path in SCENARIOS.values()]
        options = engine.RunOptions(artifacts=tmp_path / "artifacts")
        summary = engine.run_scenarios(loaded, info, options, [])
        verdicts = {r.scenario: (r.verdict, r.message) for r in summary.results}
        assert [v for v, _ in verdicts.values()] == ["passed"] * 3, verdicts
    finally:
        provider.release()
    assert standin_clusters() == []
    assert not (standin_env / ".pytest-kind").exists()


def test_kept_cluster_is_reused_by_name_and_never_deleted_by_a_reuser(standin_env: Path) -> None:
    name = f"kdbg-keep-{uuid.uuid4().hex[:6]}"
    first = kind.KindProvider(kind.KindSettings(name=name, kind=STANDIN, engine=None, keep=True, images=()))
    info = first.acquire()
    try:
        first.release()
        assert standin_clusters() == [name]  # kept
        info.kubeconfig.unlink()  # a reuser fetches the kubeconfig itself (`kind get kubeconfig`)
        second = kind.KindProvider(kind.KindSettings(name=name, kind=STANDIN, engine=None, images=()))
        again = second.acquire()
        assert again.nodes == info.nodes
        assert again.server_version == info.server_version
        second.release()
        assert standin_clusters() == [name]  # not created by `second`: left running
    finally:
        subprocess.run([str(STANDIN), "delete", "cluster", f"--name={name}"], check=True, timeout=60)
    assert standin_clusters() == []


def test_old_cluster_gets_its_feature_gate_a_skew_warning_and_unloadable_images_are_warnings(
    standin_env: Path,
) -> None:
    name = f"kdbg-old-{uuid.uuid4().hex[:6]}"
    config = ROOT / "clusters" / "kind-1.22.yaml"
    images = ("example.org/x:1",)
    settings = kind.KindSettings(name=name, config=config, kind=STANDIN, engine=None, images=images)
    provider = kind.KindProvider(settings)
    info = provider.acquire()
    try:
        assert info.server_version == "1.22"
        assert "ephemeral-containers" in info.capabilities  # featureGates.EphemeralContainers reached the API
        assert provider.loaded == []
        assert provider.warnings == [
            f"image example.org/x:1 was not loaded into kind cluster {name}; build: nox -s toolbox",
            "kubectl 1.37 and the server 1.22 are 15 minor versions apart (kubectl supports one); "
            "results may reflect the skew",
        ]
    finally:
        provider.release()
    assert standin_clusters() == []


def test_kdbgtest_run_with_cluster_kind_reports_the_stand_in(standin_env: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    argv = [
        sys.executable, "-c", "import sys; from kdbgtest import cli; sys.exit(cli.main())",
        "run", str(SCENARIOS["copy"]), "--cluster", "kind", "--kind", str(STANDIN),
        "--kind-config", str(ROOT / "clusters" / "kind-1.36.yaml"), "--json", str(report),
        "--artifacts", str(tmp_path / "artifacts"),
    ]  # fmt: skip
    done = process.run(argv, timeout=240, env={"PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.output
    run = json.loads(report.read_text())
    assert run["run"]["cluster_kind"] == "kind"
    assert run["run"]["cluster_name"] == "kdbgtest-1-36 (stand-in kind on the offline cluster)"
    assert run["run"]["server_version"] == "1.36"
    assert run["summary"]["passed"] == 1
    assert standin_clusters() == []
