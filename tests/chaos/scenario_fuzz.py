"""A seeded mutator of real scenario files: hostile and broken variants for `kdbgtest validate`.

    for mutant in scenario_fuzz.mutants(seed=1, count=200):
        mutant.name, mutant.data     # "0007-alias_bomb+nul_byte(node/find-node-issue.yaml)", b"..."

Each mutant is one seed file from `scenarios/` with one to three mutations applied: byte flips, truncation,
duplication, alias bombs, recursive aliases, deep nesting, type swaps, tags, unicode, NUL and control bytes,
invalid UTF-8, oversized files. The same seed and count always give the same mutants.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

Mutation = Callable[[random.Random, bytes], bytes]


@dataclass(frozen=True)
class Mutant:
    name: str
    data: bytes


def seed_files() -> list[Path]:
    return sorted(SCENARIOS.rglob("*.yaml"))


def mutants(seed: int, count: int) -> Iterator[Mutant]:
    """`count` mutants of the real scenario files, the same ones for the same `seed`."""
    rng = random.Random(seed)
    files = [(f.relative_to(SCENARIOS).as_posix(), f.read_bytes()) for f in seed_files()]
    for index in range(count):
        source, data = rng.choice(files)
        names = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            name, mutation = rng.choice(MUTATIONS)
            data = mutation(rng, data)
            names.append(name)
        yield Mutant(f"{index:04d}-{'+'.join(names)}({source})", data)


# -- helpers -----------------------------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def _insert(rng: random.Random, data: bytes, chunk: bytes) -> bytes:
    at = _pos(rng, data)
    return data[:at] + chunk + data[at:]


def _value_spans(data: bytes) -> list[tuple[int, int]]:
    """Byte spans of the values after `key: ` on block-mapping lines (the value to its line end)."""
    return [m.span(1) for m in re.finditer(rb"(?m)^[ -]*[\w.\"']+: +(\S[^\n]*)$", data)]


def _replace_value(rng: random.Random, data: bytes, new: bytes) -> bytes:
    spans = _value_spans(data)
    if not spans:
        return data + new
    start, end = rng.choice(spans)
    return data[:start] + new + data[end:]


# -- byte-level mutations ----------------------------------------------------------------------------------


def byte_flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(rng: random.Random, data: bytes) -> bytes:
    return _insert(rng, data, rng.randbytes(rng.randint(1, 32)))


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: _pos(rng, data)]


def delete_range(rng: random.Random, data: bytes) -> bytes:
    start = _pos(rng, data)
    return data[:start] + data[start + rng.randint(1, 200) :]


def duplicate_range(rng: random.Random, data: bytes) -> bytes:
    start = _pos(rng, data)
    chunk = data[start : start + rng.randint(1, 400)]
    return _insert(rng, data, chunk * rng.randint(1, 4))


def duplicate_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    start = rng.randrange(len(lines))
    block = lines[start : start + rng.randint(1, 12)]
    at = rng.randrange(len(lines) + 1)
    return b"".join(lines[:at] + block * rng.randint(1, 3) + lines[at:])


def swap_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return b"".join(lines)


def reindent(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    index = rng.randrange(len(lines))
    shift = rng.choice((b" ", b"  ", b"\t", b"    "))
    lines[index] = shift + lines[index] if rng.random() < 0.5 else lines[index].lstrip(b" ")
    return b"".join(lines)


def nul_byte(rng: random.Random, data: bytes) -> bytes:
    return _insert(rng, data, b"\x00" * rng.randint(1, 3))


def control_chars(rng: random.Random, data: bytes) -> bytes:
    return _insert(rng, data, bytes(rng.choice([*range(1, 9), 11, 12, *range(14, 32), 127])))


def invalid_utf8(rng: random.Random, data: bytes) -> bytes:
    chunk = rng.choice((b"\xff", b"\xc3", b"\xe9", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"))
    return _insert(rng, data, chunk)


def unicode_text(rng: random.Random, data: bytes) -> bytes:
    chars = [
        "\u00e9",
        "\u202e",
        "\u0301",
        "\U0001f600",
        "\ufeff",
        "\u2028",
        "\u0085",
        "\ufffe",
        "\u00a0",
        "\u200b",
        "\U0010ffff",
        "\u4e2d",
    ]
    return _insert(rng, data, "".join(rng.choices(chars, k=rng.randint(1, 6))).encode())


def crlf(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\n", rng.choice((b"\r\n", b"\r", b"\n\n")))


def bom(rng: random.Random, data: bytes) -> bytes:
    return rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) + data


def oversize(rng: random.Random, data: bytes) -> bytes:
    filler = rng.choice((b"# padding\n", b"\n", b"x" * 1000))
    return data + filler * (rng.randint(200_000, 2_000_000) // len(filler))


def long_line(rng: random.Random, data: bytes) -> bytes:
    return _replace_value(rng, data, b"a" * rng.randint(10_000, 300_000))


# -- YAML-level mutations ----------------------------------------------------------------------------------


def alias_bomb(rng: random.Random, data: bytes) -> bytes:
    """Billion laughs: each level lists the previous one `width` times (9**9 values from ~400 bytes)."""
    width, depth = rng.randint(4, 10), rng.randint(5, 12)
    levels = [b"a0: &a0 [" + b",".join([b"lol"] * width) + b"]"]
    for i in range(1, depth):
        levels.append(b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * width)))
    if rng.random() < 0.5:  # inline, in place of some value
        return _replace_value(rng, data, b"{" + b", ".join(levels) + b"}")
    return data + b"vars:\n" + b"".join(b"  " + level + b"\n" for level in levels)


def merge_bomb(rng: random.Random, data: bytes) -> bytes:
    levels = [b"m0: &m0 {k0: v}\n"]
    for i in range(1, rng.randint(10, 40)):
        levels.append(b"m%d: &m%d {<<: *m%d, k%d: [*m%d, *m%d]}\n" % (i, i, i - 1, i, i - 1, i - 1))
    return data + b"vars:\n" + b"".join(b"  " + line for line in levels)


def recursive_alias(rng: random.Random, data: bytes) -> bytes:
    value = rng.choice((b"&r [*r]", b"&r {a: *r}", b"&r {<<: *r}", b"&r [a, [b, *r]]", b"&r {k: [*r, *r]}"))
    return _replace_value(rng, data, value)


def undefined_alias(rng: random.Random, data: bytes) -> bytes:
    return _replace_value(rng, data, rng.choice((b"*nope", b"&a x", b"[*a, &a y]", b"*")))


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((50, 200, 999, 1000, 1001, 5000, 50_000))
    kind = rng.randrange(3)
    if kind == 0:
        value = b"[" * depth + b"]" * depth
    elif kind == 1:
        value = b"{a: " * depth + b"1" + b"}" * depth
    else:
        value = b"[" * depth  # unclosed
    return _replace_value(rng, data, value)


def deep_block(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice((100, 500, 1200))
    block = b"".join(b"  " * i + b"k%d:\n" % i for i in range(depth)) + b"  " * depth + b"end\n"
    return data + b"vars:\n" + b"".join(b"  " + line for line in _lines(block))


def type_swap(rng: random.Random, data: bytes) -> bytes:
    values = [
        b"null",
        b"~",
        b"[]",
        b"{}",
        b"[1, 2]",
        b"{a: b}",
        b"42",
        b"-1",
        b"1e400",
        b".nan",
        b".inf",
        b"true",
        b"no",
        b"0x1F",
        b"0o17",
        b"2024-01-01",
        b"2024-13-45T99:99:99",
        b"12:30:00",
        b"''",
        b'"\\x00"',
        b'"\\ud800"',
        b'"\\U0010ffff"',
        b"!!binary aGVsbG8=",
        b"!!binary ***",
        b"!!timestamp 2024-99-99",
        b"!!int abc",
        b"!!float abc",
        b"!!bool maybe",
        b"!!null x",
        b"!!set {a, b}",
        b"!!omap [a: 1]",
        b"!!pairs [a: 1]",
        b"!!python/object/apply:os.system [id]",
        b"!!python/name:os.system",
        b"!custom tag",
        b"!!str",
        b"? [a, b]",
        b"'unterminated",
        b'"a\\nb"',
        b">\n  folded",
        b"|\n  lit",
        b"!!merge x",
        b"!!map [a]",
        b"!!seq {a: b}",
        b"!!str [a]",
        b"!!int [1]",
        b"&anc value",
        b"!!int ''",
        b"!!float _",
        b"!!timestamp abc",
        b"!!bool ''",
        b"1" + b"0" * 5000,
        b"1:2:3",
        b"0b102",
    ]
    return _replace_value(rng, data, rng.choice(values))


def key_swap(rng: random.Random, data: bytes) -> bytes:
    keys = [
        b"? [a, b]",
        b"? {a: b}",
        b"<<",
        b"!!null ''",
        b"1",
        b"true",
        b"'a\\nb'",
        b'"a\\nb"',
        b'"\\x00"',
        b"~",
        b"2024-01-01",
        b"!!binary aGk=",
        b"name",
        b"steps",
    ]
    lines = _lines(data)
    index = rng.randrange(len(lines))
    lines[index] = re.sub(rb"^(\s*-?\s*)[\w.]+(?=:)", lambda m: m.group(1) + rng.choice(keys), lines[index])
    return b"".join(lines)


def directives(rng: random.Random, data: bytes) -> bytes:
    head = rng.choice(
        (
            b"%YAML 1.1\n---\n",
            b"%YAML 9.9\n---\n",
            b"%TAG ! tag:x,2000:\n---\n",
            b"---\n",
            b"--- |\n",
            b"%FOO bar\n---\n",
            b"...\n",
        )
    )
    tail = rng.choice((b"", b"---\n", b"...\n", b"---\nname: second\n"))
    return head + data + tail


def many_keys(rng: random.Random, data: bytes) -> bytes:
    count = rng.choice((1000, 10_000, 30_000))
    return data + b"vars:\n" + b"".join(b"  k%d: v\n" % i for i in range(count))


def many_steps(rng: random.Random, data: bytes) -> bytes:
    step = b"  - name: s%d\n    kubectl: {args: [get, pods]}\n"
    return data + b"".join(step % i for i in range(rng.choice((100, 1000, 3000))))


def long_string_escape(rng: random.Random, data: bytes) -> bytes:
    return _replace_value(rng, data, b'"' + b"\\u00e9\\t" * rng.randint(1, 20_000) + b'"')


def many_anchors(rng: random.Random, data: bytes) -> bytes:
    return data + b"vars:\n" + b"".join(b"  a%d: &a%d v\n  b%d: *a%d\n" % (i, i, i, i) for i in range(3000))


# Mutations that make large files run less often, so that most mutants exercise the parser and validator.
HEAVY = {"oversize", "long_line", "many_keys", "many_steps", "long_string_escape", "many_anchors", "deep_block"}
ALL: list[Mutation] = [
    byte_flip,
    random_bytes,
    truncate,
    delete_range,
    duplicate_range,
    duplicate_lines,
    swap_lines,
    reindent,
    nul_byte,
    control_chars,
    invalid_utf8,
    unicode_text,
    crlf,
    bom,
    oversize,
    long_line,
    alias_bomb,
    merge_bomb,
    recursive_alias,
    undefined_alias,
    deep_nesting,
    deep_block,
    type_swap,
    key_swap,
    directives,
    many_keys,
    many_steps,
    long_string_escape,
    many_anchors,
]
MUTATIONS: list[tuple[str, Mutation]] = [
    (fn.__name__, fn) for fn in ALL for _ in range(1 if fn.__name__ in HEAVY else 4)
]
