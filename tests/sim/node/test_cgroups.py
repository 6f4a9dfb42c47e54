"""Both cgroup layouts behind one interface: v1 (this machine) and v2 (GitHub's runners), the latter checked on a
synthetic cgroup2-shaped tree, with the cleanup code that uses it (real processes, killed for real)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from kdbgtest.sim.node import cgroups, cleanup, runc

PARENT = "/kdbgtest-sim/0123456789ab"


def make_v2(root: Path) -> Path:
    """The top of a cgroup2 mount: interface files, no controller directories."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    (root / "cgroup.procs").write_text("1\n")
    return root


def make_v1(root: Path) -> Path:
    """A tmpfs of hierarchies as Debian mounts them, with the cpu/cpuacct links and a hybrid `unified`."""
    for name in ("cpu,cpuacct", "memory", "pids"):
        (root / name).mkdir(parents=True)
        (root / name / "cgroup.procs").write_text("1\n")
    (root / "cpu").symlink_to("cpu,cpuacct")
    (root / "cpuacct").symlink_to("cpu,cpuacct")
    make_v2(root / "unified")
    return root


def state_with_runc_root(tmp_path: Path) -> Path:
    """A sim state directory whose runc root names PARENT as its cgroup parent (as runc.Runc writes it)."""
    state = tmp_path / "state"
    (state / "runc").mkdir(parents=True)
    (state / "runc" / runc.CGROUP_MARKER).write_text(PARENT + "\n")
    return state


def test_v2_tree_is_one_hierarchy(tmp_path: Path) -> None:
    layout = cgroups.detect(make_v2(tmp_path / "cg"))
    assert layout.name == "v2"
    assert layout.dirs(PARENT) == [tmp_path / "cg" / PARENT.lstrip("/")]


def test_v1_tree_is_one_hierarchy_per_controller_each_once(tmp_path: Path) -> None:
    layout = cgroups.detect(make_v1(tmp_path / "cg"))
    assert layout.name == "v1"
    names = sorted(p.relative_to(tmp_path / "cg").parts[0] for p in layout.dirs(PARENT))
    assert len(names) == 4 and {"memory", "pids", "unified"} <= set(names)
    assert len({(tmp_path / "cg" / n).resolve() for n in names}) == 4  # cpu and cpuacct: one hierarchy


def test_this_hosts_layout_agrees_with_its_mount_table() -> None:
    fstype = next((line.split(" - ")[1].split()[0] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                   if line.split()[4] == str(cgroups.CGROUP_FS)), None)  # fmt: skip
    if fstype is None:
        pytest.skip(f"nothing is mounted at {cgroups.CGROUP_FS} here")
    assert cgroups.detect().name == ("v2" if fstype == "cgroup2" else "v1")


def test_cleanup_on_a_v2_tree_finds_and_kills_a_containers_processes(tmp_path: Path) -> None:
    root = make_v2(tmp_path / "cg")
    layout = cgroups.detect(root)
    state = state_with_runc_root(tmp_path)
    leaf = root / PARENT.lstrip("/") / "container-1"
    leaf.mkdir(parents=True)
    codes: list[int] = []

    def kernel(child: subprocess.Popen[bytes]) -> None:
        """What the kernel does when a process in a cgroup exits: it leaves cgroup.procs."""
        codes.append(child.wait())
        (leaf / "cgroup.procs").write_text("")

    with subprocess.Popen(["sleep", "300"]) as child:
        exits = threading.Thread(target=kernel, args=(child,), daemon=True)
        try:
            (leaf / "cgroup.procs").write_text(f"{child.pid}\n")
            exits.start()
            found = cleanup.leaks(state, layout=layout)
            assert f"process {child.pid} (sleep) is still running" in found
            assert f"cgroup {leaf} still exists" in found
            done = cleanup.remove_all(state, layout)
            assert f"killed process {child.pid} (sleep)" in done
            exits.join(timeout=10)
            assert codes == [-9], done
            assert not [line for line in done if "did not" in line or "timed out" in line], done
        finally:
            child.kill()


def test_cleanup_on_a_v2_tree_removes_the_sims_cgroups_and_only_those(tmp_path: Path) -> None:
    root = make_v2(tmp_path / "cg")
    state = state_with_runc_root(tmp_path)
    for leaf in ("container-1", "container-2"):
        (root / PARENT.lstrip("/") / leaf).mkdir(parents=True)
    other = root / "kdbgtest-sim" / "another-sim" / "container-3"  # another sim's: not ours to remove
    other.mkdir(parents=True)
    done = cleanup.remove_all(state, cgroups.detect(root))
    assert f"removed cgroup {root / PARENT.lstrip('/') / 'container-1'}" in done
    assert not (root / PARENT.lstrip("/")).exists() and other.is_dir() and not state.exists()
    runc.remove_cgroup_parent("/kdbgtest-sim/another-sim", cgroups.detect(root))
    assert other.is_dir(), "a parent still in use stays"
