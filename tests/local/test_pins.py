"""The pinned releases under clusters/local/: reading them, refusing bad ones, and what keys the build cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.local import pins


def test_the_default_release_is_pinned_with_a_wrapper_module_per_component() -> None:
    found = pins.load()
    assert (found.kubernetes, found.staging, found.minor) == ("v1.37.2", "v0.37.2", 37)
    for component in pins.COMPONENTS:
        assert (found.module(component) / "go.mod").is_file()
        assert (found.module(component) / "go.sum").stat().st_size > 0
    go_mod = (found.module("kubernetes") / "go.mod").read_text()
    assert "k8s.io/kubernetes v1.37.2" in go_mod
    assert "replace k8s.io/api => k8s.io/api v0.37.2" in go_mod  # a staging module, pinned


def test_versions_are_normalised_and_nonsense_is_refused() -> None:
    assert pins.normalize("1.37.2") == pins.normalize("v1.37.2") == "v1.37.2"
    with pytest.raises(KdbgtestError, match=r"expected a Kubernetes release like v1.37.2, got '1.37'"):
        pins.normalize("1.37")


def test_a_malformed_versions_file_names_its_line(tmp_path: Path) -> None:
    shutil.copytree(pins.default_pins_root() / "v1.37.2", tmp_path / "v1.37.2")
    (tmp_path / "v1.37.2" / "versions").write_text("kubernetes = v1.37.2\netcd v3.7.3\n")
    with pytest.raises(KdbgtestError, match=r"versions:2: expected `component = version`, got 'etcd v3.7.3'"):
        pins.load("v1.37.2", tmp_path)


def test_the_cache_key_follows_every_pinned_file(tmp_path: Path) -> None:
    shutil.copytree(pins.default_pins_root() / "v1.37.2", tmp_path / "v1.37.2")
    before = pins.load("v1.37.2", tmp_path).fingerprint()
    go_sum = tmp_path / "v1.37.2" / "etcd" / "go.sum"
    go_sum.write_text(go_sum.read_text() + "\n")
    assert pins.load("v1.37.2", tmp_path).fingerprint() != before
