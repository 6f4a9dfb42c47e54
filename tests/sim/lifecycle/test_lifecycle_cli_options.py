"""`kdbgtest sim` options and the errors a user can cause before any cluster starts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from kdbgtest.base import process
from kdbgtest.sim import cli, cluster
from kdbgtest.sim.config import SimConfig


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--nodes", "0"], "expected a whole number of at least 1"),
        (["up", "--kubernetes-version", "2.1"], "expected a Kubernetes version like 1.30"),
        (["up", "--feature-gates", "EphemeralContainers"], "expected NAME=true|false"),
        (
            ["up", "--feature-gates", "EphemeralContainer=false"],
            "unrecognized feature gate 'EphemeralContainer'; did you mean 'EphemeralContainers'? "
            "the sim models EphemeralContainers",
        ),
        (["up", "--time-scale", "0"], "expected a factor in (0, 1]"),
    ],
)
def test_bad_options_are_rejected_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert message in capsys.readouterr().err


def test_options_reach_the_config() -> None:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "sim",
            "up",
            "--name",
            "v",
            "--kubernetes-version",
            "v1.22.3",
            "--feature-gates",
            "EphemeralContainers=false,EphemeralContainers=True",
            "--time-scale",
            "0.1",
        ]
    )
    assert (args.name, args.kubernetes_version, args.time_scale) == ("v", "1.22", 0.1)
    assert args.feature_gates == {"EphemeralContainers": True}  # the last one wins, as in Kubernetes
    assert callable(args.func)


def test_bad_name_is_a_one_line_error_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["up", "--name", "Bad_Name", "--state-dir", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid sim cluster name 'Bad_Name'" in err
    assert not (tmp_path / "s").exists()


def test_status_and_down_of_a_cluster_that_never_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--name", "never", "--state-dir", str(tmp_path / "s")]) == 1
    assert "sim cluster 'never': stopped" in capsys.readouterr().out
    assert cli.main(["down", "--name", "never", "--state-dir", str(tmp_path / "s")]) == 0
    assert "is not running" in capsys.readouterr().err
    assert cluster.SimCluster(SimConfig(name="never", state_dir=tmp_path / "s")).status().state == "stopped"


def test_the_main_kdbgtest_command_dispatches_to_sim(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "kdbgtest.cli",
        "sim",
        "status",
        "--name",
        "nosuch",
        "--state-dir",
        str(tmp_path),
    ]
    done = process.run(argv, timeout=60, check=False, env={"PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    assert (done.returncode, done.stdout.splitlines()[0]) == (1, "sim cluster 'nosuch': stopped")


def test_a_malformed_image_mapping_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if cluster.unavailable_reason() is not None:
        pytest.skip(f"the earlier checks fail first here: {cluster.unavailable_reason()}")
    monkeypatch.setenv("KDBGTEST_SIM_IMAGES", "no-equals-sign")
    assert cli.main(["up", "--name", "imgs", "--state-dir", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    expected = "KDBGTEST_SIM_IMAGES: entry 'no-equals-sign' is not of the form ref=directory; fix it"
    assert err == f"kdbgtest sim up: error: {expected}\n"
    assert not (tmp_path / "s").exists()


def test_a_directory_that_is_not_a_sim_state_dir_is_never_used_or_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    expected = f"{precious} exists and is not a sim state directory (it has no cluster.json); "
    expected += "pass another --state-dir"
    assert cli.main(["down", "--name", "x", "--state-dir", str(precious)]) == 1
    assert capsys.readouterr().err == f"kdbgtest sim down: error: {expected}\n"
    if cluster.unavailable_reason() is None:
        assert cli.main(["up", "--name", "x", "--state-dir", str(precious)]) == 1
        assert capsys.readouterr().err == f"kdbgtest sim up: error: {expected}\n"
    assert [p.name for p in precious.iterdir()] == ["thesis.tex"]


def test_a_kubeconfig_target_that_is_not_a_kubeconfig_is_refused_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if cluster.unavailable_reason() is not None:
        pytest.skip(f"the earlier checks fail first here: {cluster.unavailable_reason()}")
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 3\n")
    argv = ["up", "--name", "kc", "--state-dir", str(tmp_path / "s"), "--kubeconfig", str(values)]
    assert cli.main(argv) == 1
    assert "does not look like a kubeconfig" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert values.read_text() == "replicas: 3\n"
