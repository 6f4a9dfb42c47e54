"""The published JSON Schema: generated from the model, in sync with the repository copy, accepting every good
scenario file and rejecting structurally broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdbgtest.scenario import schema

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "scenarios"
COPY = ROOT / "schema" / "scenario.schema.json"
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the dev extra: pip install -e .[dev]")


def _scenario_files() -> list[Path]:
    files = sorted((DATA / "good").glob("*.y*ml"))
    files += sorted(p for p in (ROOT / "scenarios").rglob("*.yaml")) if (ROOT / "scenarios").is_dir() else []
    return files


def _validator() -> Any:
    return jsonschema.Draft202012Validator(schema.json_schema())


def test_schema_is_valid_draft_2020_12_with_identity_and_descriptions() -> None:
    document = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == schema.SCHEMA_ID
    assert document["title"] == "kdbgtest scenario"
    assert document["required"] == ["name", "steps"]
    undescribed = [name for name, d in document["$defs"].items() if not d.get("description")]
    assert undescribed == []


def test_schema_uses_yaml_keys_not_python_names() -> None:
    text = schema.json_schema_text()
    defs = schema.json_schema()["$defs"]
    assert "finally" in schema.json_schema()["properties"]
    assert "for" in defs["WaitAction"]["properties"]
    assert "assert" in defs["AssertStep"]["properties"]
    for python_name in ('"finally_"', '"for_"', '"assert_"'):
        assert python_name not in text


def test_repository_copy_is_in_sync() -> None:
    assert COPY.is_file(), "write it: python -m kdbgtest.scenario.schema schema/scenario.schema.json"
    assert COPY.read_text(encoding="utf-8") == schema.json_schema_text(), (
        "schema/scenario.schema.json is stale; regenerate: python -m kdbgtest.scenario.schema "
        "schema/scenario.schema.json"
    )
    assert json.loads(COPY.read_text(encoding="utf-8")) == schema.json_schema()


@pytest.mark.parametrize("path", _scenario_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_schema_accepts_every_valid_scenario_file(path: Path) -> None:
    errors = [e.message for e in _validator().iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert errors == []


@pytest.mark.parametrize(
    "name",
    [
        "unknown_key",
        "wrong_type",
        "missing_required",
        "unknown_action",
        "two_actions",
        "not_mapping",
        "bad_scenario_fields",
        "session_rules",
    ],
)
def test_schema_rejects_structurally_broken_files(name: str) -> None:
    data = yaml.safe_load((DATA / "bad" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert list(_validator().iter_errors(data)) != []


def test_schema_main_prints_or_writes_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schema.main([]) == 0
    assert capsys.readouterr().out == schema.json_schema_text()
    target = tmp_path / "s.json"
    assert schema.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema.json_schema_text()


def _properties(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every property of every object in the schema, as (`where.name`, its schema), found by walking it."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, spec in (node.get("properties") or {}).items():
                found.append((f"{where}.{name}", spec))
            for key, value in node.items():
                walk(value, f"{where}/{key}" if key != "properties" else where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    walk(document, "#")
    return found


def test_every_property_has_a_description_and_an_example() -> None:
    properties = _properties(schema.json_schema())
    assert len(properties) > 100  # the walk reaches the definitions, not only the top level
    undocumented = [where for where, spec in properties if not spec.get("description") or not spec.get("examples")]
    assert undocumented == []


def test_every_example_is_valid_where_it_stands() -> None:
    document = schema.json_schema()
    wrong = []
    for where, spec in _properties(document):
        validator = jsonschema.Draft202012Validator({**spec, "$defs": document["$defs"]})
        wrong += [f"{where}: {e.message}" for example in spec["examples"] for e in validator.iter_errors(example)]
    assert wrong == []


def test_the_schema_has_a_stable_id() -> None:
    assert schema.json_schema()["$id"] == "https://kdbgtest.dev/schema/scenario/v1.json"
    assert json.loads(COPY.read_text(encoding="utf-8"))["$id"] == schema.SCHEMA_ID
