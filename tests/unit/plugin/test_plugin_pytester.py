"""The pytest plugin, black-box with pytester: collection, markers, collection errors, failures and skips.

Scenario runs use the real engine against the recording fake kubectl (tests/data/fake_kubectl.py).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from kdbg_fakes import FakeKubectl

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[3]
DISCOVERY = {"/api/v1": {"resources": [{"name": "pods/ephemeralcontainers"}]}}


def copy_scenarios(pytester: pytest.Pytester, *names: str) -> None:
    for name in names:
        source = REPO / "scenarios" / name
        target = pytester.path / "scenarios" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def write(pytester: pytest.Pytester, relative: str, text: str) -> Path:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_collect_only_lists_one_item_per_scenario_with_its_yaml_line(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    copy_scenarios(pytester, "ephemeral/named-debugger.yaml", "copy/replace.yaml", "node/host-namespaces.yaml")
    write(pytester, "scenarios/manifests/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
    write(pytester, "elsewhere/not-a-scenario.yaml", "name: x\n")
    result = pytester.runpytest(*plugin_args, "--collect-only", "--strict-markers")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*<ScenarioFile replace.yaml>",
            "*<ScenarioItem copy-replace (scenarios/copy/replace.yaml:2)>",
            "*<ScenarioItem ephemeral-named (scenarios/ephemeral/named-debugger.yaml:2)>",
            "*<ScenarioItem node-host-namespaces (scenarios/node/host-namespaces.yaml:2)>",
            "*3 tests collected*",
        ]
    )
    assert "pod.yaml" not in result.stdout.str() and "not-a-scenario" not in result.stdout.str()


def test_marker_selection_by_mode_and_tag(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    copy_scenarios(pytester, "ephemeral/named-debugger.yaml", "copy/replace.yaml", "copy/share-processes.yaml")
    result = pytester.runpytest(*plugin_args, "--collect-only", "-q", "--strict-markers", "-m", "copy")
    assert result.ret == 0, result.stdout.str()
    assert sorted(line for line in result.stdout.lines if "::" in line) == [
        "scenarios/copy/replace.yaml::copy-replace",
        "scenarios/copy/share-processes.yaml::copy-share-processes",
    ]
    tagged = pytester.runpytest(*plugin_args, "--collect-only", "-q", "--strict-markers", "-m", "smoke")
    assert [line for line in tagged.stdout.lines if "::" in line] == [
        "scenarios/ephemeral/named-debugger.yaml::ephemeral-named"
    ]


def test_scenarios_option_points_collection_elsewhere(pytester: pytest.Pytester, plugin_args: list[str]) -> None:
    write(pytester, "suite/one.yaml", "name: one\nsteps:\n  - name: s\n    kubectl: {args: [version]}\n")
    result = pytester.runpytest(*plugin_args, "--collect-only", "-q", "--kdbgtest-scenarios", "suite")
    assert [line for line in result.stdout.lines if "::" in line] == ["suite/one.yaml::one"]


def test_broken_file_is_a_collection_error_with_file_line_col(
    pytester: pytest.Pytester, plugin_args: list[str]
) -> None:
    write(
        pytester,
        "scenarios/broken.yaml",
        "name: broken\nsteps:\n  - name: s\n    kubectl: {argz: [version]}\n",
    )
    result = pytester.runpytest(*plugin_args, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # collection errors stop the session
    output = result.stdout.str()
    result.stdout.fnmatch_lines(["*ERROR collecting scenarios/broken.yaml*", "scenarios/broken.yaml:4:*"])
    assert "Traceback" not in output and "kdbgtest/" not in output.replace("kdbgtest/pytest", "")


SCENARIO = """
    name: demo
    tags: [smoke]
    REQUIRES
    fixtures:
      - fixture: sleeper
    steps:
      - name: ok
        assert: {object: pod/app, checks: [{path: metadata.name, equals: app}]}
      - name: image
        assert:
          object: pod/app
          checks:
            - path: "spec.containers[0].image"
              equals: "alpine:3"
"""


def run_with_fake(
    pytester: pytest.Pytester, fake: FakeKubectl, plugin_args: list[str], *extra: str
) -> pytest.RunResult:
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text("")
    fake.configure(raw=DISCOVERY)
    return pytester.runpytest(
        *plugin_args,
        f"--kdbgtest-kubeconfig={kubeconfig}",
        f"--kdbgtest-kubectl={fake.path}",
        f"--kdbgtest-artifacts={pytester.path / 'art'}",
        "-rs",
        *extra,
    )


def test_failure_shows_location_step_yaml_expected_and_cleans_up(
    pytester: pytest.Pytester, fake_kubectl: FakeKubectl, plugin_args: list[str]
) -> None:
    write(pytester, "scenarios/demo.yaml", SCENARIO.replace("REQUIRES", ""))
    result = run_with_fake(pytester, fake_kubectl, plugin_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*scenarios/demo.yaml:9, step 2 'image': scenario failed",
            "   9 |   - name: image",
            "  10 |     assert:",
            '  14 |           equals: "alpine:3"',
            'spec.containers?0?.image = "busybox:1.36", expected "alpine:3"',
            "artifacts: *demo-*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert not any("|Namespace|kdbg-demo-" in k for k in fake_kubectl.objects())


def test_unmet_requirements_become_skips_with_the_reason(
    pytester: pytest.Pytester, fake_kubectl: FakeKubectl, plugin_args: list[str]
) -> None:
    write(pytester, "scenarios/demo.yaml", SCENARIO.replace("REQUIRES", "requires: {kubernetes: '>=1.99'}"))
    result = run_with_fake(pytester, fake_kubectl, plugin_args)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [1] scenarios/demo.yaml:1: needs Kubernetes >=1.99, the cluster runs 1.34"])


def test_unreachable_cluster_fails_each_item_with_one_line(
    pytester: pytest.Pytester, tmp_path: Path, plugin_args: list[str]
) -> None:
    write(pytester, "scenarios/demo.yaml", SCENARIO.replace("REQUIRES", ""))
    write(
        pytester,
        "scenarios/demo2.yaml",
        SCENARIO.replace("REQUIRES", "").replace("name: demo", "name: demo2"),
    )
    missing = tmp_path / "missing-kubeconfig"
    result = pytester.runpytest(*plugin_args, f"--kdbgtest-kubeconfig={missing}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([f"scenarios/demo.yaml:1: kubeconfig {missing} does not exist; pass --kubeconfig FILE"])
    assert "Traceback" not in result.stdout.str()
