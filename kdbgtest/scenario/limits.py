"""Bounds on what a scenario file may make the loader do, so that a hostile or broken file gives one error line
within a second and bounded memory instead of a traceback, a hang or gigabytes (an alias bomb, nesting 1000
deep, a recursive alias, NUL bytes, a file that is not UTF-8 text).

    text, breach = limits.decode(limits.read(path))    # size, UTF-8 (with the offending byte's position)
    limits.unprintable(text)                           # characters YAML does not allow (NUL, controls)
    limits.check_node(node)                            # a composed YAML node: depth, recursion, expanded size

Every bound is far above what a real scenario needs (the largest in `scenarios/` is 2.3 KiB, 8 levels deep and a
few hundred values). A breach is a position and a sentence; `positions` and `loader` turn it into an issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_BYTES = 64 * 1024
MAX_DEPTH = 64
MAX_VALUES = 20_000  # mapping keys, values and list items, with every alias expanded

# The characters YAML allows in a stream (what PyYAML's reader accepts); anything else is rejected up front.
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # what YAML counts as a line break
_NAMES = {0: "a NUL byte", 0x7F: "a DEL character", 0xFFFE: "the non-character U+FFFE", 0xFFFF: "U+FFFF"}


@dataclass(frozen=True)
class Breach:
    """A file that goes past a bound: where (1-based) and what to do about it."""

    line: int
    col: int
    message: str


def read(path: Path) -> bytes:
    """At most `MAX_BYTES + 1` bytes of `path` (enough to tell that it is too large). Raises OSError."""
    with path.open("rb") as stream:
        return stream.read(MAX_BYTES + 1)


def decode(data: bytes) -> tuple[str, Breach | None]:
    """The UTF-8 text of `data`, or a breach for a file that is too large or not UTF-8."""
    if len(data) > MAX_BYTES:
        return "", Breach(
            1,
            1,
            f"the file is larger than {MAX_BYTES // 1024} KiB, far more than a scenario needs; "
            "is it the right file? (keep large manifests in their own file and use `apply: {file: ...}`)",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        valid = data[: exc.start].decode("utf-8")
        line, col = position(valid, len(valid))
        return "", Breach(
            line,
            col,
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "cannot be decoded; save the file as UTF-8",
        )


def unprintable(text: str) -> Breach | None:
    """The first character YAML does not allow (NUL, other control characters), with its position."""
    found = _UNPRINTABLE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    name = _NAMES.get(code, f"the control character U+{code:04X}")
    line, col = position(text, found.start())
    return Breach(line, col, f"the file contains {name}, which YAML does not allow in a file; remove it")


def position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character `index`, counting line breaks as YAML does."""
    line, start = 1, 0
    for brk in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, brk.end()
    return line, index - start + 1


def check_node(root: yaml.Node) -> Breach | None:
    """A composed document that nests deeper than `MAX_DEPTH`, contains itself through an alias, or expands to
    more than `MAX_VALUES` values once its aliases are expanded. Iterative, and linear in the distinct nodes."""
    size: dict[int, int] = {}  # expanded values of each finished node
    height: dict[int, int] = {}  # levels of nesting below and including each finished node
    open_nodes: set[int] = set()  # collections whose children are being checked (a cycle comes back to one)
    todo: list[tuple[yaml.Node, int, list[yaml.Node] | None]] = [(root, 1, None)]  # children: set once expanded
    while todo:
        node, depth, children = todo.pop()
        key = id(node)
        if children is not None:  # every child is finished
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            height[key] = 1 + max((height[id(child)] for child in children), default=0)
            if size[key] > MAX_VALUES:
                return _breach(
                    node,
                    f"this value expands to more than {MAX_VALUES} values through its aliases "
                    "(an alias bomb?); a scenario needs a few hundred: remove the aliases",
                )
        elif key in open_nodes:
            return _breach(
                node,
                "this value contains itself through an alias (a recursive anchor); "
                "a scenario cannot be recursive: remove the alias",
            )
        elif key in size:  # an alias to a finished node
            if depth + height[key] - 1 > MAX_DEPTH:
                return _breach(node, too_deep())
        elif depth > MAX_DEPTH:
            return _breach(node, too_deep())
        elif isinstance(node, yaml.ScalarNode):
            size[key] = height[key] = 1
        else:
            open_nodes.add(key)
            children = _children(node)
            todo.append((node, depth, children))
            todo.extend((child, depth + 1, None) for child in reversed(children))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def too_deep() -> str:
    return f"the data nests more than {MAX_DEPTH} levels deep here; a scenario needs about 10: flatten it"


def _breach(node: yaml.Node, message: str) -> Breach:
    return Breach(node.start_mark.line + 1, node.start_mark.column + 1, message)
