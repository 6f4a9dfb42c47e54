"""`--clusters` entries: sim shorthands, SimCluster files, kind configs; version order; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.matrix import spec

DIGEST = "sha256:" + "ab" * 32
KIND_CONFIG = f"""\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
featureGates:
  EphemeralContainers: true
nodes:
  - role: control-plane
    # kindest/node v1.22.15 from the kind v0.17.0 release notes: https://github.com/kubernetes-sigs/kind/releases/tag/v0.17.0
    image: kindest/node:v1.22.15@{DIGEST}
  - role: worker
    # kindest/node v1.22.15 from the kind v0.17.0 release notes: https://github.com/kubernetes-sigs/kind/releases/tag/v0.17.0
    image: kindest/node:v1.22.15@{DIGEST}
"""


def test_sim_shorthands() -> None:
    plain, gated = spec.parse("sim:1.33"), spec.parse("sim:v1.34:EphemeralContainers=false")
    assert (plain.provider, plain.label, plain.version) == ("sim", "sim 1.33", "1.33")
    assert gated.sim == spec.SimSettings(kubernetes_version="1.34", feature_gates={"EphemeralContainers": False})
    assert gated.label == "sim 1.34 EphemeralContainers=false"
    assert spec.parse("sim").version == spec.DEFAULT_SIM_VERSION


def test_sim_cluster_file(tmp_path: Path) -> None:
    path = tmp_path / "no-ephemeral.yaml"
    path.write_text(
        "kind: SimCluster\nname: old without ephemeral\nkubernetesVersion: '1.29'\n"
        "featureGates: {EphemeralContainers: false}\nnodes: 3\ntimeScale: 0.1\n"
    )
    found = spec.parse(str(path))
    assert found.label == "old without ephemeral"
    assert found.sim == spec.SimSettings("1.29", {"EphemeralContainers": False}, nodes=3, time_scale=0.1)


def test_kind_config_takes_its_version_from_the_node_image(tmp_path: Path) -> None:
    path = tmp_path / "kind-1.22.yaml"
    path.write_text(KIND_CONFIG)
    found = spec.parse(str(path))
    assert (found.provider, found.version, found.kind_config) == ("kind", "1.22.15", path)
    assert found.label == "kind 1.22.15 EphemeralContainers=true"


def test_columns_are_ordered_by_version_with_unique_directories(tmp_path: Path) -> None:
    kind = tmp_path / "kind-1.22.yaml"
    kind.write_text(KIND_CONFIG)
    specs = spec.parse_all(["sim:1.34", "sim:1.9", str(kind), "sim:1.34", "sim:1.33"])
    assert [s.label for s in specs] == ["sim 1.9", "kind 1.22.15 EphemeralContainers=true", "sim 1.33",
                                        "sim 1.34", "sim 1.34 #2"]  # fmt: skip
    assert [s.slug for s in specs] == [
        "sim-1.9", "kind-1.22.15-ephemeralcontainers-true", "sim-1.33", "sim-1.34", "sim-1.34-2"
    ]  # fmt: skip
    assert spec.unique_names(["a b", "a-b", "a b"]) == [
        ("a b", "a-b"),
        ("a-b", "a-b-2"),
        ("a b #2", "a-b-2-2"),
    ]


@pytest.mark.parametrize(
    ("entry", "content", "message"),
    [
        ("sim:1.x", None, "sim:1.x: expected a Kubernetes minor version like 1.34, got '1.x'"),
        ("sim:1.34:EphemeralContainers", None, "expected feature gates as Name=true|false[,...]"),
        ("sim:1.34.2", None, "expected a Kubernetes minor version like 1.34, got '1.34.2'"),
        ("scenarios/", None, "is neither sim[:1.N[:Gate=true|false,...]], local[:v1.N.P] nor a .yaml cluster file"),
        ("c.yaml", "name: x\nsteps: []\n", "scenario paths go before --clusters or after --"),
        (
            "c.yaml",
            "kind: SimCluster\nversion: '1.3'\n",
            "unknown key 'version'; a SimCluster has featureGates",
        ),
        ("c.yaml", "kind: SimCluster\nfeatureGates: {EphemeralContainers: 'no'}\n", "map gate names to true"),
        ("c.yaml", "kind: SimCluster\nfeatureGates: {Ephemeral: false}\n", "unrecognized feature gate 'Ephemeral'"),
        ("sim:1.34:Foo=false", None, "sim:1.34:Foo=false: unrecognized feature gate 'Foo'; the sim models"),
        ("c.yaml", "kind: SimCluster\ntimeScale: 2\n", "timeScale must be a number in (0, 1], got 2"),
        ("c.yaml", "kind: SimCluster\nnodes: 0\n", "nodes must be a whole number of at least 1, got 0"),
        ("c.yaml", "[1, 2]\n", "must be a mapping"),
        ("missing.yaml", None, "cannot read cluster file missing.yaml"),
    ],
)
def test_bad_entries_are_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, content: str | None, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        Path(entry).write_text(content)
    with pytest.raises(KdbgtestError) as caught:
        spec.parse_all([entry])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_no_entries() -> None:
    with pytest.raises(spec.MatrixError, match="--clusters needs at least one entry"):
        spec.parse_all([])


def test_the_example_sim_columns_in_clusters_sim_parse() -> None:
    examples = sorted((Path(__file__).resolve().parents[3] / "clusters" / "sim").glob("*.yaml"))
    specs = spec.parse_all([str(p) for p in examples])
    assert [(s.label, s.version) for s in specs] == [
        ("sim 1.29", "1.29"),
        ("sim 1.34 without ephemeral containers", "1.34"),
    ]
    assert specs[1].sim is not None and specs[1].sim.feature_gates == {"EphemeralContainers": False}
