"""YAML loading that remembers where every key and value came from.

`parse(text)` returns the plain data (dicts, lists, scalars, as `yaml.safe_load` would) together with a
`Positions` table that maps a data path such as `("steps", 2, "debug", "image")` to its 1-based line and
column, so any error found later can point at `file:line:col`. Duplicate keys are reported instead of silently
keeping the last value. Characters YAML does not allow, deep nesting, recursive aliases and alias bombs are
reported before anything is built from the document (see `limits`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from kdbgtest.scenario import limits

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
# What PyYAML's SafeConstructor raises, instead of a YAMLError, for a scalar it cannot convert: `!!int ''`
# (IndexError), `!!bool maybe` (KeyError), `!!timestamp abc` (AttributeError), `!!timestamp 2024-13-45` or an
# integer of 5000 digits (ValueError).
CONVERSION_ERRORS = (ValueError, KeyError, IndexError, AttributeError, TypeError, OverflowError)
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


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


class _Loader(Protocol):
    def get_single_node(self) -> yaml.Node | None: ...
    def construct_document(self, node: yaml.Node) -> Any: ...
    def construct_object(self, node: yaml.Node, deep: bool = ...) -> Any: ...
    def dispose(self) -> None: ...


class LimitExceeded(yaml.MarkedYAMLError):
    """The document goes past one of `limits`' bounds (raised while composing, before anything is built)."""


class PositionLoader(yaml.SafeLoader):
    """A SafeLoader that records the start mark of every mapping, sequence and scalar by data path."""

    _depth = 0

    def load_with_positions(self, text: str) -> Parsed:
        return _load(self, text)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """PyYAML's composer recurses once per level: stop at `limits.MAX_DEPTH`, long before Python's limit."""
        self._depth += 1
        try:
            if self._depth > limits.MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise LimitExceeded(problem=limits.too_deep(), problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: type[yaml.Token]) -> None:
        """PyYAML's scanner is quadratic in flow nesting on one line (it scans ahead up to 1024 characters for
        every `[` or `{`); a flow collection that would nest past the limit ends the scan at once."""
        if self.flow_level + 1 >= limits.MAX_DEPTH:
            raise LimitExceeded(problem=limits.too_deep(), problem_mark=self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A scalar PyYAML cannot convert (`!!timestamp 2024-13-45`, `!!bool maybe`) is an error at its place."""
        try:
            return super().construct_object(node, deep)
        except CONVERSION_ERRORS as exc:
            value = str(node.value)
            shown = repr(value if len(value) <= 40 else value[:40] + "...")
            why = f" ({str(exc).split(';')[0][:120]})" if isinstance(exc, ValueError) else ""  # others: nothing useful
            problem = f"cannot read {shown} as {node.tag.rsplit(':', 1)[-1]}{why}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc


def _load(loader: _Loader, text: str) -> Parsed:
    node = loader.get_single_node()
    positions, problems = Positions(), list[YamlProblem]()
    if node is None:
        return Parsed(None, positions, problems)
    breach = limits.check_node(node)
    if breach is not None:
        return Parsed(None, positions, [YamlProblem(Mark(breach.line, breach.col), breach.message)])
    _find_duplicates(node, problems)
    data = loader.construct_document(node)
    _Recorder(loader, text, positions).record(node, ())
    return Parsed(data, positions, problems)


@dataclass
class _Recorder:
    loader: _Loader
    text: str
    positions: Positions

    def record(self, node: yaml.Node, loc: Loc) -> None:
        self.positions.values[loc] = Mark.of(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            self._text(node, loc)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = self._key(key_node)
                self.positions.keys[(*loc, key)] = Mark.of(key_node.start_mark)
                self.record(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.record(item, (*loc, index))

    def _key(self, node: yaml.Node) -> Hashable:
        if isinstance(node, yaml.ScalarNode):
            key = self.loader.construct_object(node)
            if isinstance(key, Hashable):
                return key
        return str(node.value)

    def _text(self, node: yaml.ScalarNode, loc: Loc) -> None:
        """Remember where a one-line scalar's text starts if its source is exactly its value."""
        start, end = node.start_mark, node.end_mark
        if start.line != end.line:
            return
        quote = 1 if node.style in ("'", '"') else 0
        begin = start.index + quote
        if self.text[begin : begin + len(node.value)] == node.value:
            self.positions.texts[loc] = Mark(start.line + 1, start.column + 1 + quote)


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
    """Load one YAML document with positions; syntax errors become a single `YamlProblem`.

    libyaml parses when available (ten times faster, same marks); a file it rejects is parsed again by the
    pure-Python parser so error messages are the same on every machine.
    """
    breach = limits.unprintable(text)
    if breach is not None:
        return Parsed(None, Positions(), [YamlProblem(Mark(breach.line, breach.col), breach.message)])
    fast = parse_fast(text)
    return _load_pure(text) if fast is None else fast


def parse_fast(text: str) -> Parsed | None:
    """`parse` by libyaml alone, for text already checked by `limits.unprintable`: None when libyaml is missing
    or rejects the text (then `parse` asks the pure-Python parser, which says where and why)."""
    if _FAST_LOADER is None:
        return None
    fast = _FAST_LOADER(text)
    try:
        return _load(fast, text)
    except (yaml.YAMLError, *CONVERSION_ERRORS):
        return None
    finally:
        fast.dispose()


def _load_pure(text: str) -> Parsed:
    try:
        loader = PositionLoader(text)
    except yaml.YAMLError as exc:
        return Parsed(None, Positions(), [YamlProblem(START, _one_line(f"invalid YAML: {exc}"))])
    try:
        return loader.load_with_positions(text)
    except LimitExceeded as exc:
        mark = Mark.of(exc.problem_mark) if exc.problem_mark is not None else START
        return Parsed(None, Positions(), [YamlProblem(mark, exc.problem or limits.too_deep())])
    except yaml.MarkedYAMLError as exc:
        return Parsed(None, Positions(), [_syntax_problem(exc)])
    except yaml.YAMLError as exc:
        return Parsed(None, Positions(), [YamlProblem(START, _one_line(f"invalid YAML: {exc}"))])
    finally:
        loader.dispose()


def _one_line(message: str) -> str:
    return " ".join(message.split())


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


def first_document(text: str) -> Any:
    """The data of the first of several YAML documents, built only if it is within `limits` (None otherwise).
    Raises yaml.YAMLError, or one of CONVERSION_ERRORS, for text that is not YAML."""
    loader = (_FAST_LOADER or PositionLoader)(text)
    try:
        node = loader.get_node() if loader.check_node() else None
        if node is None or limits.check_node(node) is not None:
            return None
        return loader.construct_document(node)
    finally:
        loader.dispose()
