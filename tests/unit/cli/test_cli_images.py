"""`kdbgtest images build|load`: the commands they would run (docker and kind cannot run here), the staged
build context of the distroless app, and the one-line error when docker or kind is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FIXTURE_IMAGES = ("redis", "mariadb", "dnsmasq", "grpc-app")  # the toolbox scenarios' servers


def images(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`kdbgtest images ...` from a directory outside the repository, with its cache under tmp_path."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    if path is not None:
        env["PATH"] = path
    argv = [sys.executable, "-m", "kdbgtest.cli", "images", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)


def test_build_print_shows_the_docker_builds_with_a_small_staged_context(tmp_path: Path) -> None:
    done = images(tmp_path, "build", "--docker", "--print")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    staged = tmp_path / "cache" / "kdbgtest" / "image-contexts" / "distroless-app"
    assert done.stdout.splitlines() == [
        f"docker build -t kdbgtest/debug-toolbox:1 {REPO / 'images' / 'debug'}",
        f"docker build -t kdbgtest/distroless-app:1 {staged}",
        *(f"docker build -t kdbgtest/{name}:1 {REPO / 'images' / name}" for name in FIXTURE_IMAGES),
    ]
    # exactly what the Dockerfile copies, from where it copies it
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == [
        "Dockerfile", "kdbgtest/sim/images/distroless_app.c"]  # fmt: skip
    assert (staged / "Dockerfile").read_text() == (REPO / "images/distroless-app/Dockerfile").read_text()
    assert "COPY kdbgtest/sim/images/distroless_app.c " in (staged / "Dockerfile").read_text()
    source = REPO / "kdbgtest/sim/images/distroless_app.c"
    assert (staged / "kdbgtest/sim/images/distroless_app.c").read_bytes() == source.read_bytes()


def test_load_print_shows_the_kind_load_into_the_named_cluster(tmp_path: Path) -> None:
    done = images(tmp_path, "load", "--name", "ci-1.37", "--docker", "--print")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == (
        "kind load docker-image kdbgtest/debug-toolbox:1 kdbgtest/distroless-app:1 kdbgtest/redis:1 "
        "kdbgtest/mariadb:1 kdbgtest/dnsmasq:1 kdbgtest/grpc-app:1 --name ci-1.37\n"
    )


def test_without_docker_build_and_load_say_so_in_one_line_with_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    for action in (["build", "--docker"], ["load", "--name", "kdbgtest", "--docker"]):
        done = images(tmp_path, *action, path=str(empty))
        assert (done.returncode, done.stdout) == (2, ""), done.stdout
        assert done.stderr == (
            "kdbgtest: error: docker is not installed; install Docker Engine (kind needs it); "
            "or run `kdbgtest images ... --print` to see the commands\n"
        )


def test_without_kind_load_names_the_fix(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\nexit 0\n")
    (fake / "docker").chmod(0o755)
    done = images(tmp_path, "load", path=str(fake))
    assert done.returncode == 2
    assert done.stderr.startswith("kdbgtest: error: kind is not installed; install kind from https://kind.sigs.k8s")
    assert done.stderr.count("\n") == 1
