"""Paths named on the pytest command line are collected as pytest users expect (`pytest path/to/scenarios/`,
`pytest path/to/file.yaml`), beside the scenario roots (`--kdbgtest-scenarios`, the `kdbgtest_scenarios` ini
option, `scenarios/`). Black-box with pytester; the run uses the real engine and the recording fake kubectl."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl

pytest_plugins = ["pytester"]

ONE = "name: one\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n"
TWO = "name: two\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n"


def write(pytester: pytest.Pytester, relative: str, text: str) -> Path:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def collected(result: pytest.RunResult) -> list[str]:
    return sorted(line for line in result.stdout.lines if "::" in line)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    """`my/suite/` outside `scenarios/`: two scenarios, a manifest, a --custom profile and a CI file."""
    write(pytester, "my/suite/one.yaml", ONE)
    write(pytester, "my/suite/nested/two.yml", TWO)
    write(pytester, "my/suite/manifests/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
    write(pytester, "my/suite/profiles/custom.yaml", "env: [{name: A, value: '1'}]\n")
    write(pytester, "my/suite/ci.yaml", "name: ci\non: [push]\njobs: {}\n")
    return pytester.path / "my/suite"


def test_a_directory_named_on_the_command_line_is_collected(
    pytester: pytest.Pytester, plugin_args: list[str], suite: Path
) -> None:
    result = pytester.runpytest(*plugin_args, "--collect-only", "-q", "my/suite/")
    assert result.ret == 0, result.stdout.str()
    assert collected(result) == ["my/suite/nested/two.yml::two", "my/suite/one.yaml::one"]


def test_a_file_named_on_the_command_line_is_collected_and_selectable_by_id(
    pytester: pytest.Pytester, plugin_args: list[str], suite: Path
) -> None:
    result = pytester.runpytest(*plugin_args, "--collect-only", "-q", "my/suite/one.yaml")
    assert (result.ret, collected(result)) == (0, ["my/suite/one.yaml::one"]), result.stdout.str()
    by_id = pytester.runpytest(*plugin_args, "--collect-only", "-q", "my/suite/nested/two.yml::two")
    assert (by_id.ret, collected(by_id)) == (0, ["my/suite/nested/two.yml::two"]), by_id.stdout.str()


def test_a_broken_file_named_on_the_command_line_is_a_collection_error_at_its_line(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    write(pytester, "my/broken.yaml", "name: broken\nsteps:\n  - name: s\n    kubectl: {argz: [version]}\n")
    result = pytester.runpytest(*plugin_args, "--collect-only", "my/broken.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting my/broken.yaml*", "my/broken.yaml:4:*"])


def test_ini_roots_and_option_roots_still_work_beside_named_paths(
    pytester: pytest.Pytester, plugin_args: list[str], suite: Path
) -> None:
    write(pytester, "elsewhere/three.yaml", ONE.replace("one", "three"))
    pytester.makeini("[pytest]\nkdbgtest_scenarios = elsewhere\n")
    from_ini = pytester.runpytest(*plugin_args, "--collect-only", "-q")
    assert collected(from_ini) == ["elsewhere/three.yaml::three"], "no paths named: only the ini roots"
    both = pytester.runpytest(*plugin_args, "--collect-only", "-q", "elsewhere", "my/suite/one.yaml")
    assert collected(both) == ["elsewhere/three.yaml::three", "my/suite/one.yaml::one"], both.stdout.str()
    option = pytester.runpytest(*plugin_args, "--collect-only", "-q", "--kdbgtest-scenarios", "my/suite")
    assert collected(option) == ["my/suite/nested/two.yml::two", "my/suite/one.yaml::one"], option.stdout.str()


def test_testpaths_are_not_named_paths(pytester: pytest.Pytester, plugin_args: list[str], suite: Path) -> None:
    """`testpaths = my` is where pytest looks for Python tests; YAML there is not taken for scenarios."""
    pytester.makeini("[pytest]\ntestpaths = my\n")
    result = pytester.runpytest(*plugin_args, "--collect-only", "-q")
    assert collected(result) == [], result.stdout.str()


def test_scenarios_from_a_named_directory_run(
    pytester: pytest.Pytester, fake_kubectl: FakeKubectl, plugin_args: list[str], suite: Path
) -> None:
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text("")
    fake_kubectl.configure(raw={"/api/v1": {"resources": [{"name": "pods/ephemeralcontainers"}]}})
    result = pytester.runpytest(
        *plugin_args,
        f"--kdbgtest-kubeconfig={kubeconfig}",
        f"--kdbgtest-kubectl={fake_kubectl.path}",
        f"--kdbgtest-artifacts={pytester.path / 'art'}",
        "my/suite",
    )
    result.assert_outcomes(passed=2)
