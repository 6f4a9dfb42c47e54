"""The sim keeps its state and shared image cache where only root can change them: by default under
/var/lib/kdbgtest (0700), never world-writable /var/tmp; a state directory or image cache another user owns or
may write to is refused in one line before anything starts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kdbgtest.base.errors import ClusterError
from kdbgtest.sim import config
from kdbgtest.sim.node import images

NOBODY = 65534
REPO = Path(__file__).resolve().parents[3]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the sim and chown need root")


def test_the_defaults_are_private_directories_not_var_tmp() -> None:
    for path in (config.DEFAULT_STATE_ROOT, images.DEFAULT_CACHE):
        assert not path.is_relative_to("/var/tmp") and not path.is_relative_to("/tmp"), path


@needs_root
def test_the_default_image_cache_is_root_owned_0700() -> None:
    store = images.ImageStore()
    for path in (store.cache_dir, store.cache_dir.parent):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode) & 0o077) == (0, 0), f"{path}: {info}"


@needs_root
def test_an_image_cache_of_another_user_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, NOBODY, NOBODY)
    with pytest.raises(ClusterError, match=f"refusing {cache}: it is owned by uid {NOBODY}"):
        images.ImageStore(cache)


@needs_root
@pytest.mark.parametrize("problem", ["owner", "mode"])
def test_sim_up_refuses_a_state_directory_others_can_change(tmp_path: Path, problem: str) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    if problem == "owner":
        os.chown(state, NOBODY, NOBODY)
    else:
        state.chmod(0o777)
    argv = [sys.executable, "-m", "kdbgtest.cli", "sim", "up", "--name", "refused", "--state-dir", str(state)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # `kdbgtest sim`: 1 for a cluster error
    why = f"it is owned by uid {NOBODY}" if problem == "owner" else "it is writable by others (mode 0777)"
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"kdbgtest sim up: error: refusing {state}: {why}"), line
    assert line.endswith("remove it, or pass a --state-dir that only you can change"), line
    assert list(state.iterdir()) == []  # nothing was written into it
