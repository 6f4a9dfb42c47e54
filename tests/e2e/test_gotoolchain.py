"""The pinned Go toolchain is fetched from the module proxy, checked and unpacked so that `go` runs; a zip
whose SHA-256 is not the pinned one is refused and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest.base import gotoolchain, process
from kdbgtest.base.errors import ToolMissing


def test_the_pinned_toolchain_is_fetched_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    go = gotoolchain.fetch()
    assert go == tmp_path / "kdbgtest" / "go" / gotoolchain.VERSION / "bin" / "go"
    done = process.run([str(go), "version"], timeout=60)
    assert done.stdout.startswith(f"go version {gotoolchain.VERSION} linux/amd64"), done.stdout
    compiler = go.parent.parent / "pkg" / "tool" / "linux_amd64" / "compile"
    assert compiler.stat().st_mode & 0o111, "the compiler lost its executable bit"
    assert gotoolchain.fetch() == go  # the second call reuses it
    assert [p.name for p in go.parent.parent.parent.iterdir()] == [gotoolchain.VERSION]  # no scratch left


def test_a_zip_with_another_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(gotoolchain, "SHA256", "0" * 64)
    with pytest.raises(ToolMissing, match="not the pinned 0000"):
        gotoolchain.fetch()
    assert list((tmp_path / "kdbgtest" / "go").iterdir()) == []
