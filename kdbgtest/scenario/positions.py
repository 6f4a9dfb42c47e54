"""YAML loading that remembers where every key and value came from.

`parse(text)` returns the plain data (dicts, lists, scalars, as `yaml.safe_load` would) together with a
`Positions` table that maps a data path such as `("steps", 2, "debug", "image")` to its 1-based line and
column, so any error found later can point at `file:line:col`. Duplicate keys are reported instead of silently
keeping the last value.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

# A path into the loaded data: mapping keys and list indexes, outermost first.
Loc = tuple[Hashable, ...]


@dataclass(frozen=True, order=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    col: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Mark:
        return cls(mark.line + 1, mark.column + 1)


START = Mark(1, 1)


@dataclass
class Positions:
    """Where each value (and each mapping key) of a loaded document starts."""

    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)
    # Where the text of a one-line scalar starts, for scalars whose source is exactly their value.
    texts: dict[Loc, Mark] = field(default_factory=dict)

    def value(self, loc: Loc) -> Mark:
        """Position of the value at `loc`, or of its nearest recorded ancestor."""
        for end in range(len(loc), -1, -1):
            found = self.values.get(loc[:end])
            if found is not None:
                return found
        return START

    def within(self, loc: Loc, offset: int) -> Mark:
        """Position of character `offset` of the string at `loc` (its start when that cannot be known)."""
        text = self.texts.get(loc)
        if text is None:
            return self.value(loc)
        return Mark(text.line, text.col + offset)

    def key(self, loc: Loc) -> Mark:
        """Position of the key that names `loc` (falls back to the value's position)."""
        return self.keys.get(loc) or self.value(loc)


@dataclass(frozen=True)
class YamlProblem:
    """A YAML-level mistake: a syntax error or a duplicate key."""

    mark: Mark
    message: str


@dataclass
class Parsed:
    data: Any
    positions: Positions
    problems: list[YamlProblem]


class PositionLoader(yaml.SafeLoader):
    """A SafeLoader that records the start mark of every mapping, sequence and scalar by data path."""

    def load_with_positions(self) -> Parsed:
        node = self.get_single_node()
        positions, problems = Positions(), list[YamlProblem]()
        if node is None:
            return Parsed(None, positions, problems)
        _find_duplicates(node, problems)
        data = self.construct_document(node)
        self._record(node, (), positions)
        return Parsed(data, positions, problems)

    def _record(self, node: yaml.Node, loc: Loc, positions: Positions) -> None:
        positions.values[loc] = Mark.of(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            _record_text(node, loc, positions)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = self._key(key_node)
                positions.keys[(*loc, key)] = Mark.of(key_node.start_mark)
                self._record(value_node, (*loc, key), positions)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._record(item, (*loc, index), positions)

    def _key(self, node: yaml.Node) -> Hashable:
        if isinstance(node, yaml.ScalarNode):
            key = self.construct_object(node)
            if isinstance(key, Hashable):
                return key
        return str(node.value)


def _record_text(node: yaml.ScalarNode, loc: Loc, positions: Positions) -> None:
    start, end = node.start_mark, node.end_mark
    if start.line != end.line or not isinstance(start.buffer, str):
        return
    quote = 1 if node.style in ("'", '"') else 0
    begin = start.pointer + quote
    if start.buffer[begin : begin + len(node.value)] == node.value:
        positions.texts[loc] = Mark(start.line + 1, start.column + 1 + quote)


def _find_duplicates(node: yaml.Node, problems: list[YamlProblem], where: str = "the scenario") -> None:
    """Report keys that appear twice in one mapping (PyYAML would keep the last one silently)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                _find_duplicates(value_node, problems, where)
                continue
            ident = (key_node.tag, key_node.value)
            first = seen.get(ident)
            if first is not None:
                problems.append(
                    YamlProblem(
                        Mark.of(key_node.start_mark),
                        f"duplicate key '{key_node.value}' in {where} "
                        f"(first at line {first.start_mark.line + 1}); keep only one",
                    )
                )
            seen[ident] = key_node
            _find_duplicates(value_node, problems, str(key_node.value))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _find_duplicates(item, problems, f"an item of {where}")


def parse(text: str) -> Parsed:
    """Load one YAML document with positions; syntax errors become a single `YamlProblem`."""
    loader = PositionLoader(text)
    try:
        return loader.load_with_positions()
    except yaml.MarkedYAMLError as exc:
        return Parsed(None, Positions(), [_syntax_problem(exc)])
    except yaml.YAMLError as exc:
        return Parsed(None, Positions(), [YamlProblem(START, f"invalid YAML: {exc}")])
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    message = f"invalid YAML: {problem}"
    if exc.context and exc.context_mark is not None and exc.problem_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    if "'\\t'" in problem:
        message += "; indent with spaces, not tabs"
    if "expected a single document" in (exc.context or ""):
        message = "invalid YAML: a scenario file holds one document; remove the extra '---'"
    return YamlProblem(Mark.of(mark) if mark is not None else START, message)
