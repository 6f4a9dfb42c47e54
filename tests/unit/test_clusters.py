"""Every clusters/*.yaml against kind's v1alpha4 config schema (as far as it can be checked offline), its
pins and their citations; and the checker itself, on files with one thing wrong each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kdbgtest.cluster import kindconfig

ROOT = Path(__file__).resolve().parents[2]
CLUSTERS = sorted((ROOT / "clusters").glob("*.yaml"))
GOOD = (ROOT / "clusters" / "kind-1.37.yaml").read_text()


def version(path: Path) -> str:
    found = kindconfig.load(path).kubernetes_version
    assert found is not None, path
    return found


def test_there_are_three_recent_minors_and_an_old_one_with_the_ephemeral_gate() -> None:
    minors = sorted(int(version(p).split(".")[1]) for p in CLUSTERS)
    assert len([m for m in minors if m >= 35]) >= 3
    old = [p for p in CLUSTERS if version(p).startswith("1.22.")]
    assert len(old) == 1
    assert kindconfig.load(old[0]).feature_gates == {"EphemeralContainers": True}


@pytest.mark.parametrize("path", CLUSTERS, ids=[p.name for p in CLUSTERS])
def test_cluster_file_is_valid_pinned_and_cited(path: Path) -> None:
    assert kindconfig.pin_problems(path) == []
    config = kindconfig.load(path)
    assert path.name == f"kind-1.{version(path).split('.')[1]}.yaml"
    assert config.name == path.stem.replace("kind-", "kdbgtest-").replace(".", "-")
    assert [n.role for n in config.nodes] == ["control-plane", "worker"]


@pytest.mark.parametrize("path", CLUSTERS, ids=[p.name for p in CLUSTERS])
def test_readme_lists_the_file_with_its_version_and_kind_release(path: Path) -> None:
    readme = (ROOT / "clusters" / "README.md").read_text()
    release = kindconfig.kind_release(path)
    row = next((line for line in readme.splitlines() if line.startswith(f"| `{path.name}` |")), "")
    assert f"| v{version(path)} |" in row and f"| {release} |" in row, row


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kind-1.37.yaml"
    path.write_text(text)
    return path


N = "name: kdbgtest-1-37"
W = "  - role: worker"
DIGEST = "@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
BROKEN = [  # (text to replace, replacement, expected problem)
    ("kind: Cluster", "kind: Config", "kind must be Cluster, not 'Config'"),
    ("x-k8s.io/v1alpha4", "x-k8s.io/v1alpha3", "apiVersion must be kind.x-k8s.io/v1alpha4"),
    (W, "  - role: infra", "nodes[1].role must be one of control-plane, worker, not 'infra'"),
    (W, "  - role: control-plane", "a clusters/ file needs a control-plane and a worker node"),
    (N, f"{N}\nnodeCount: 2", "unknown field 'nodeCount' (kind decodes strictly)"),
    (W, f"{W}\n    labelz: {{}}", "unknown field nodes[1].'labelz'"),
    (N, f"{N}\nfeatureGates: {{EphemeralContainers: 'yes'}}", "featureGates.EphemeralContainers must be"),
    (N, f"{N}\nfeatureGates: {{ephemeral-containers: true}}", "is not a feature gate name"),
    (N, f"{N}\nnetworking: {{ipFamily: ipv5}}", "networking.ipFamily must be one of"),
    ("@sha256:a1ed56cf", "@sha256:A1ED56CF", "is not pinned as kindest/node:vX.Y.Z@sha256:<64 hex>"),
    (DIGEST, "", "is not pinned"),
    ("kindest/node:v1.37.0@", "kindest/node:latest@", "is not pinned"),
]


@pytest.mark.parametrize(("old", "new", "problem"), BROKEN)
def test_checker_finds_what_is_wrong(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert old in GOOD
    problems = kindconfig.pin_problems(write(tmp_path, GOOD.replace(old, new, 1)))
    assert any(problem in p for p in problems), problems


def test_every_image_needs_its_own_citation(tmp_path: Path) -> None:
    lines = GOOD.splitlines(keepends=True)
    cited = [i for i, line in enumerate(lines) if line.strip().startswith("# kindest/node")]
    del lines[cited[1]]
    assert kindconfig.pin_problems(write(tmp_path, "".join(lines))) == [
        "line 10: the image needs a citation comment right above it"
    ]


def test_a_citation_for_another_version_or_a_mismatched_url_is_refused(tmp_path: Path) -> None:
    other = GOOD.replace("# kindest/node v1.37.0", "# kindest/node v1.36.4", 1)
    assert kindconfig.pin_problems(write(tmp_path, other)) == [
        "line 8: the citation is for v1.36.4, the image is v1.37.0"
    ]
    url = GOOD.replace("releases/tag/v0.33.0", "releases/tag/v0.32.0", 1)
    assert kindconfig.pin_problems(write(tmp_path, url)) == [
        "line 8: the image needs a citation comment right above it"
    ]


def test_every_pin_is_a_full_sha256_digest() -> None:
    for path in CLUSTERS:
        for node in yaml.safe_load(path.read_text())["nodes"]:
            assert re.fullmatch(r"kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}", node["image"])
