"""The cache of `kdbgtest list` and `validate` (kdbgtest/scenario/cache.py), through the real command line: a warm
run prints exactly what a cold one does and imports no pydantic; an edited file, a manifest that appears, a change
of kdbgtest's code and a corrupt entry are each judged again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "scenarios"
# The command line, then the modules it loaded (on stderr's last line, so stdout and the rest are the command's).
PROBE = """
import contextlib, json, sys
from kdbgtest import cli
code = 2
with contextlib.suppress(SystemExit):
    code = cli.main(sys.argv[1:])
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


class Run:
    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        *rest, modules = done.stderr.splitlines()
        self.code, self.stdout, self.stderr = done.returncode, done.stdout, "\n".join(rest)
        self.modules = set(json.loads(modules))

    def printed(self) -> tuple[int, str, str]:
        return self.code, self.stdout, self.stderr


def kdbgtest(cache: Path, *argv: str | Path, cwd: Path, **env: str) -> Run:
    environ = {k: v for k, v in os.environ.items() if k != "KDBGTEST_NO_CACHE"} | {"XDG_CACHE_HOME": str(cache)}
    argv_ = [sys.executable, "-c", PROBE, *map(str, argv)]
    done = subprocess.run(argv_, capture_output=True, text=True, timeout=120, cwd=cwd, env=environ | env, check=False)
    return Run(done)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "kdbgtest" / "scenarios").glob("*/*.json"))


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """The repository's scenarios, the deliberately broken ones and the good ones with their manifests."""
    root = tmp_path / "suite"
    shutil.copytree(REPO / "scenarios", root / "scenarios")
    shutil.copytree(DATA / "bad", root / "bad", ignore=shutil.ignore_patterns("*.expected"))
    shutil.copytree(DATA / "good", root / "good")
    return root


@pytest.mark.parametrize("command", ["list", "validate"])
def test_a_warm_run_prints_what_a_cold_one_does_without_pydantic(suite: Path, tmp_path: Path, command: str) -> None:
    cache = tmp_path / "cache"
    for where in ("scenarios", "bad", "good"):
        before = entries(cache)
        uncached = kdbgtest(cache, command, where, "--no-cache", cwd=suite)
        assert entries(cache) == before
        cold = kdbgtest(cache, command, where, cwd=suite)
        warm = kdbgtest(cache, command, where, cwd=suite)
        assert cold.printed() == uncached.printed() == warm.printed()
        assert "pydantic" in cold.modules
        assert "pydantic" not in warm.modules, f"a warm `kdbgtest {command} {where}` validated again"
    assert (cache / "kdbgtest" / "scenarios").stat().st_mode & 0o777 == 0o700
    assert len(entries(cache)) >= 49 + len(list((suite / "bad").glob("*.yaml")))


def test_the_issues_of_an_invalid_file_come_back_identical(suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = kdbgtest(cache, "validate", "bad/several_mistakes.yaml", "bad/mode_copy.yaml", cwd=suite)
    warm = kdbgtest(cache, "validate", "bad/several_mistakes.yaml", "bad/mode_copy.yaml", cwd=suite)
    assert cold.code == warm.code == 1
    lines = warm.stdout.splitlines()
    assert len(lines) > 5 and all(
        line.startswith(("bad/several_mistakes.yaml:", "bad/mode_copy.yaml:")) for line in lines
    )
    assert warm.printed() == cold.printed()
    assert "pydantic" not in warm.modules


def test_an_edited_file_is_judged_again(suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = suite / "scenarios" / "ephemeral" / "named-debugger.yaml"
    assert kdbgtest(cache, "validate", "scenarios", cwd=suite).code == 0
    text = target.read_text()
    target.write_text(text.replace("steps:", "stepz: []\nsteps:", 1))
    edited = kdbgtest(cache, "validate", "scenarios", cwd=suite)
    assert edited.code == 1
    assert edited.stdout.startswith("scenarios/ephemeral/named-debugger.yaml:")
    assert "'stepz'" in edited.stdout
    assert edited.printed() == kdbgtest(cache, "validate", "scenarios", "--no-cache", cwd=suite).printed()
    target.write_text(text)  # back as it was: the first entry holds again
    again = kdbgtest(cache, "validate", "scenarios", cwd=suite)
    assert again.code == 0 and "pydantic" not in again.modules


def test_a_manifest_file_that_appears_is_seen(tmp_path: Path) -> None:
    """Validation looks for `apply: {file: ...}`; an entry holds only while the file is still missing (or there)."""
    cache, suite = tmp_path / "cache", tmp_path / "suite"
    suite.mkdir()
    scenario = suite / "one.yaml"
    scenario.write_text("name: one\nsteps:\n  - name: a\n    apply: {file: pod.yaml, wait: false}\n")
    missing = kdbgtest(cache, "validate", "one.yaml", cwd=suite)
    assert missing.code == 1 and "manifest file 'pod.yaml' not found" in missing.stdout
    assert kdbgtest(cache, "validate", "one.yaml", cwd=suite).printed() == missing.printed()
    (suite / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    assert kdbgtest(cache, "validate", "one.yaml", cwd=suite).printed() == (0, "1 scenario(s) valid\n", "")


def test_what_the_cache_says_is_served_until_the_code_changes(suite: Path, tmp_path: Path) -> None:
    """An entry rewritten by hand shows (so warm output really comes from the cache); touching one of kdbgtest's
    files makes every entry stale."""
    cache = tmp_path / "cache"
    real = kdbgtest(cache, "list", "scenarios", cwd=suite)
    for entry in entries(cache):
        data = json.loads(entry.read_text())
        data["summary"][0] = "from-the-cache-" + data["summary"][0]
        entry.write_text(json.dumps(data))
    assert "from-the-cache-" in kdbgtest(cache, "list", "scenarios", cwd=suite).stdout
    code = REPO / "kdbgtest" / "scenario" / "limits.py"
    before = code.stat()
    try:
        os.utime(code, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        after = kdbgtest(cache, "list", "scenarios", cwd=suite)
    finally:
        os.utime(code, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert after.printed() == real.printed()
    assert "pydantic" in after.modules


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"looks": 1}', b"\xff\xfe", b"[]", b'{"looks": true}'])
def test_a_corrupt_entry_is_ignored_and_rewritten(suite: Path, tmp_path: Path, damage: bytes) -> None:
    cache = tmp_path / "cache"
    cold = kdbgtest(cache, "validate", "bad", cwd=suite)
    good = {entry: entry.read_bytes() for entry in entries(cache)}
    for entry in good:
        entry.write_bytes(damage)
    assert kdbgtest(cache, "validate", "bad", cwd=suite).printed() == cold.printed()
    assert {entry: entry.read_bytes() for entry in entries(cache)} == good


def test_entries_of_code_unused_for_a_week_go_when_new_code_starts_its_own(suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kdbgtest(cache, "list", "scenarios", cwd=suite)
    root = cache / "kdbgtest" / "scenarios"
    (current,) = root.iterdir()
    old, recent, flat = root / ("0" * 32), root / ("1" * 32), root / f"{'2' * 64}.json"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "entry.json").write_text("{}")
    flat.write_text("{}")
    week = time.time() - 7 * 86400 - 60
    os.utime(old, (week, week))
    os.utime(current, (week, week))
    kdbgtest(cache, "list", "scenarios", cwd=suite)  # the same code: nothing is removed, its directory is used
    assert sorted(root.iterdir()) == sorted([current, old, recent, flat])
    assert current.stat().st_mtime > week + 3600
    shutil.rmtree(current)  # its directory is made again, as after a code change: the unused ones go
    kdbgtest(cache, "list", "scenarios", cwd=suite)
    assert sorted(p.name for p in root.iterdir()) == sorted([current.name, recent.name])
    assert len(entries(cache)) > 1


def test_no_cache_writes_nothing(suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kdbgtest(cache, "list", "scenarios", cwd=suite, KDBGTEST_NO_CACHE="1")
    kdbgtest(cache, "validate", "scenarios", "--no-cache", cwd=suite)
    assert entries(cache) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the cache directory to another user needs root")
def test_a_cache_directory_of_another_user_is_not_used(suite: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = cache / "kdbgtest" / "scenarios"
    folder.mkdir(parents=True)
    os.chown(folder, 65534, 65534)
    uncached = kdbgtest(cache, "validate", "scenarios", "--no-cache", cwd=suite)
    run = kdbgtest(cache, "validate", "scenarios", cwd=suite)
    assert run.printed() == uncached.printed()
    assert entries(cache) == []
    assert "pydantic" in kdbgtest(cache, "validate", "scenarios", cwd=suite).modules
