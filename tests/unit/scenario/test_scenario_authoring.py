"""What a new author ran into (issue 11): which YAML files are scenarios, `${scenario_dir}`, `during`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbgtest import cli
from kdbgtest.scenario import loader, schema

SCENARIO = "name: {name}\nsteps:\n  - name: s\n    kubectl: {{args: [get, pods]}}\n"
CUSTOM_PROFILE = "env:\n  - {name: DEBUG, value: '1'}\nsecurityContext: {runAsUser: 0}\n"
MANIFEST = "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec: {containers: [{name: c, image: busybox}]}\n"
CI_CONFIG = "name: CI\non: [push]\njobs: {}\n"  # has `name`, but no `steps`


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A scenario directory with a scenario and, beside it, YAML files that are not scenarios."""
    (tmp_path / "profiles").mkdir()
    (tmp_path / "one.yaml").write_text(SCENARIO.format(name="one"))
    (tmp_path / "profiles" / "debug.yaml").write_text(CUSTOM_PROFILE)
    (tmp_path / "pod.yaml").write_text(MANIFEST)
    (tmp_path / "ci.yml").write_text(CI_CONFIG)
    return tmp_path


def test_yaml_beside_scenarios_that_is_not_a_scenario_is_skipped_and_listed(suite: Path) -> None:
    result = loader.load_paths([suite])
    assert [str(issue) for issue in result.issues] == []
    assert [s.name for s in result.scenarios] == ["one"]
    assert sorted(result.ignored) == sorted([suite / "ci.yml", suite / "pod.yaml", suite / "profiles" / "debug.yaml"])
    assert loader.discover([suite]) == [suite / "one.yaml"]


def test_a_file_named_on_the_command_line_must_be_a_scenario(suite: Path) -> None:
    profile = suite / "profiles" / "debug.yaml"
    result = loader.load_paths([profile])
    assert [str(issue) for issue in result.issues] == [
        f"{profile}:1:1: not a scenario file: a scenario is a YAML mapping with top-level 'name' and 'steps', "
        "this one has env, securityContext; other YAML files are skipped in a scenario directory, but a file "
        "named on its own must be a scenario"
    ]
    ci = loader.load_paths([suite / "ci.yml"])  # one of the two: validated as a scenario, says what is missing
    assert any("'steps'" in str(issue) for issue in ci.issues), ci.issues


def test_unparsable_or_empty_yaml_in_a_directory_is_still_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: x\nsteps: [\n")
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    result = loader.load_paths([tmp_path])
    reported = sorted(Path(issue.path).name for issue in result.issues)
    assert reported == ["broken.yaml", "empty.yaml"]
    assert result.ignored == ()


def test_validate_says_which_files_it_skipped(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(suite)]) == 0
    out, err = capsys.readouterr()
    assert "1 scenario(s) valid" in out
    assert "skipped, not scenarios (no top-level 'name' and 'steps'): " in err
    assert str(suite / "profiles" / "debug.yaml") in err


def test_scenario_dir_in_a_manifest_path_is_checked_when_validating(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(MANIFEST)
    text = (
        "name: files\nsteps:\n"
        "  - name: found\n    apply: {file: '${scenario_dir}/pod.yaml'}\n"
        "  - name: missing\n    apply: {file: '${scenario_dir}/nope.yaml'}\n"
        "  - name: custom\n    kubectl: {args: [debug, app, --image=busybox, '--custom=${scenario_dir}/p.yaml']}\n"
        "  - name: create\n    kubectl: {args: [create, -f, '${scenario_dir}/pod.yaml']}\n"
    )
    path = tmp_path / "files.yaml"
    path.write_text(text)
    _, issues = loader.check_file(path)
    assert [str(issue) for issue in issues] == [
        f"{path}:6:19: step 2 'missing': manifest file '${{scenario_dir}}/nope.yaml' not found "
        f"(looked for {tmp_path.resolve() / 'nope.yaml'})"
    ]


def test_during_is_in_the_schema_beside_within() -> None:
    assert_object = schema.json_schema()["$defs"]["AssertObject"]["properties"]
    assert {"within", "during"} <= set(assert_object)
    assert "every poll" in assert_object["during"]["description"]
