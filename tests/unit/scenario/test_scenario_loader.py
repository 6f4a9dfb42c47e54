"""Loading scenario files: positions, discovery, the LoadedScenario API the runner and plugin use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kdbgtest.scenario import loader, model, positions

DATA = Path(__file__).resolve().parents[2] / "data" / "scenarios"
GOOD = sorted(p for p in (DATA / "good").glob("*.y*ml"))
REPO_SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_file_loads_without_issues(path: Path) -> None:
    loaded, issues = loader.check_file(path)
    assert issues == []
    assert loaded is not None
    assert loaded.path == path
    assert isinstance(loaded.scenario, model.Scenario)


def test_repository_scenarios_load_without_issues() -> None:
    result = loader.load_paths([REPO_SCENARIOS])
    assert [str(i) for i in result.issues] == []
    assert len(result.scenarios) >= 1


def test_positions_of_steps_and_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "# comment\n"
        "name: pos\n"
        "steps:\n"
        "  - name: first\n"
        "    kubectl: {args: [get, pods]}\n"
        "  -   name: second\n"
        "      wait: {pod: app, for: running}\n"
        "finally:\n"
        "  - {name: cleanup, kubectl: {args: [delete, pod, app]}}\n"
    )
    loaded = loader.load_file(path)
    first, second = loaded.scenario.steps
    cleanup = loaded.scenario.finally_[0]
    assert loaded.line == 2
    assert loaded.step_location(first) == (4, 5)  # a step is where its mapping starts: its first key
    assert loaded.step_location(second) == (6, 7)
    assert loaded.step_location(cleanup) == (9, 5)  # a flow mapping starts at its `{`
    assert [loaded.step_line(i) for i in range(3)] == [4, 6, 9]
    assert loaded.step_label(second) == "step 2 'second'"
    assert loaded.step_label(cleanup) == "finally step 1 'cleanup'"
    assert loaded.where(second) == f"{path}:6, step 2 'second'"
    assert loaded.where() == f"{path}:2"
    assert loaded.all_steps() == [first, second, cleanup]


def test_step_location_rejects_a_step_of_another_scenario() -> None:
    loaded = loader.load_file(DATA / "good" / "minimal.yml")
    other = loader.load_file(DATA / "good" / "minimal.yml").scenario.steps[0]
    with pytest.raises(ValueError, match="not part of scenario"):
        loaded.step_location(other)


def test_positions_of_keys_values_and_list_items() -> None:
    parsed = positions.parse("a:\n  b: [1, {c: x}]\n  'd': \"q ${v}\"\n")
    assert parsed.problems == []
    table = parsed.positions
    assert table.key(("a", "b")) == positions.Mark(2, 3)
    assert table.value(("a", "b")) == positions.Mark(2, 6)
    assert table.value(("a", "b", 1, "c")) == positions.Mark(2, 14)
    assert table.value(("a", "missing", 3)) == positions.Mark(2, 3)  # nearest ancestor: the mapping `a`
    assert table.within(("a", "d"), 2) == positions.Mark(3, 11)  # the `$` inside the quoted string


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_libyaml_and_pure_python_parsers_give_the_same_positions(path: Path) -> None:
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML is built without libyaml here: parse() uses the pure-Python parser only")
    text = path.read_text(encoding="utf-8")
    pure = positions.PositionLoader(text).load_with_positions(text)
    assert positions.parse(text) == pure
    assert len(pure.positions.values) >= 9


def test_syntax_errors_use_the_pure_python_messages_even_with_libyaml() -> None:
    parsed = positions.parse("a: [1, 2\nb: 3\n")
    assert parsed.data is None
    assert [(p.mark, p.message) for p in parsed.problems] == [
        (
            positions.Mark(2, 2),
            "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence at line 1)",
        )
    ]


def test_within_falls_back_to_the_scalar_start_for_multi_line_text() -> None:
    parsed = positions.parse("a: |\n  one\n  two ${x}\n")
    assert parsed.positions.within(("a",), 8) == parsed.positions.value(("a",))


def test_merge_keys_and_anchors_still_load() -> None:
    parsed = positions.parse("base: &b {image: busybox}\nuse:\n  <<: *b\n  image: alpine\n")
    assert parsed.problems == []
    assert parsed.data["use"] == {"image": "alpine"}


def test_discovery_finds_yaml_and_yml_recursively_skipping_hidden_and_manifests(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / ".hidden").mkdir()
    good = "name: {n}\nsteps: [{{name: s, kubectl: {{args: [get, pods]}}}}]\n"
    (tmp_path / "a" / "one.yaml").write_text(good.format(n="one"))
    (tmp_path / "two.yml").write_text(good.format(n="two"))
    (tmp_path / ".hidden" / "three.yaml").write_text(good.format(n="three"))
    (tmp_path / "a" / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\nkind: x\n")
    (tmp_path / "notes.txt").write_text("not yaml")
    assert loader.discover([tmp_path]) == [tmp_path / "a" / "one.yaml", tmp_path / "two.yml"]
    result = loader.load_paths([tmp_path])
    assert result.issues == []
    assert sorted(s.name for s in result.scenarios) == ["one", "two"]


def test_missing_path_and_empty_directory_are_issues(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = loader.load_paths([tmp_path / "nope", tmp_path / "empty"])
    assert result.scenarios == []
    assert [str(i) for i in result.issues] == [
        f"{tmp_path / 'nope'}: no such file or directory",
        f"{tmp_path / 'empty'}: no scenario files in this directory (*.yaml, *.yml with top-level 'name' and 'steps')",
    ]


def test_undecodable_file_is_an_issue_at_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\nsteps: [caf\xe9]\n")
    loaded, issues = loader.check_file(path)
    assert loaded is None
    assert [str(i) for i in issues] == [
        f"{path}:2:12: the file is not UTF-8 text: byte 0xe9 at offset 19 cannot be decoded; save the file as UTF-8"
    ]


def test_the_same_scenario_name_in_two_files_is_an_issue(tmp_path: Path) -> None:
    text = "name: same\nsteps: [{name: s, kubectl: {args: [get, pods]}}]\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text("# second\n" + text)
    result = loader.load_paths([tmp_path])
    assert [s.path.name for s in result.scenarios] == ["a.yaml"]
    assert [str(i) for i in result.issues] == [
        f"{tmp_path / 'b.yaml'}:2:7: scenario name 'same' is already used by {tmp_path / 'a.yaml'}:1; "
        "scenario names must be unique"
    ]


def test_a_file_named_twice_is_loaded_once(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: once\nsteps: [{name: s, kubectl: {args: [get, pods]}}]\n")
    result = loader.load_paths([path, tmp_path, path])
    assert result.issues == []
    assert [s.name for s in result.scenarios] == ["once"]


def test_field_names_are_not_accepted_in_place_of_their_yaml_keys(tmp_path: Path) -> None:
    """`for_` / `assert_` are Python names; a scenario must say `for` / `assert`."""
    path = tmp_path / "s.yaml"
    path.write_text("name: n\nsteps:\n  - name: w\n    wait: {pod: app, for_: running}\n")
    _, issues = loader.check_file(path)
    assert [i.message for i in issues] == ["step 1 'w': unknown key 'for_' in wait; did you mean 'for'?"]
