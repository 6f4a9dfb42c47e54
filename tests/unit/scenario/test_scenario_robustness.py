"""The loader never crashes: every node of every good file replaced by values of the wrong shape still gives
issues (sentences with positions inside the file), never an exception."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdbgtest.scenario import loader

DATA = Path(__file__).resolve().parents[2] / "data" / "scenarios"
GOOD = sorted((DATA / "good").glob("*.y*ml"))
# Families of mistakes: a missing value, a string (with a broken reference), a list, a mapping.
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
REPLACEMENTS: list[Any] = [None, "${nope", [1, "a"], {"send": "a", "end": 1}]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    mutated = copy.deepcopy(data)
    node = mutated
    for element in path[:-1]:
        node = node[element]
    node[path[-1]] = value
    return mutated


@pytest.mark.parametrize("source", GOOD, ids=[p.stem for p in GOOD])
def test_every_mutation_gives_positioned_sentences_not_exceptions(source: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    target = tmp_path / source.name
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    checked = 0
    paths = list(_paths(data))
    for path in paths:
        for value in REPLACEMENTS:
            text = yaml.dump(_replace(data, path, value), Dumper=DUMPER, sort_keys=False)
            target.write_text(text, encoding="utf-8")
            loaded, issues = loader.check_file(target)
            lines = len(text.splitlines())
            for issue in issues:
                assert 1 <= issue.line <= max(lines, 1), issue
                assert issue.message and "\n" not in issue.message and "Traceback" not in issue.message
                assert "Input should be" not in issue.message, issue  # a raw pydantic message slipped through
            assert (loaded is None) == bool(issues)
            checked += 1
    assert checked == len(paths) * len(REPLACEMENTS)
