"""Make two clusters' output comparable: what differs on every run anyway becomes a placeholder.

Replaced: the run's namespace (`<namespace>`), run id (`<run-id>`), the cluster's node names as whole words
(`<node>`: a sim's `kdbgtest-1a2b3c-worker` and a local cluster's `vm` compare equal), cluster name
(`<cluster>`), artifacts and kubeconfig paths, names kubectl generates
(`debugger-x7k2p` -> `debugger-<id>`, `node-debugger-<cluster>-worker-<id>`, `app-debug-<id>`, the API server's
`kube-api-access-<id>` volume), timestamps,
UIDs, long hashes (container IDs), IPv4 addresses and ages/durations (`5m2s`). In terminal output, lines that
are only a shell prompt (`/ # `) and blank lines are dropped: how many a session shows depends on timing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_RAND = "[bcdfghjklmnpqrstvwxz2456789]{5}"  # k8s.io/apimachinery rand.String's alphabet
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"--kubeconfig[= ]\S+"), "--kubeconfig=<kubeconfig>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uid>"),
    (re.compile(r"\b[0-9a-f]{32,}\b"), "<hash>"),
    (re.compile(r"\b((?:node-)?debugger-(?:[a-z0-9.<>-]*-)?)" + _RAND + r"\b"), r"\1<id>"),
    (re.compile(r"\b([a-z0-9.-]+-debug-)" + _RAND + r"\b"), r"\1<id>"),
    (re.compile(r"\b(kube-api-access-)" + _RAND + r"\b"), r"\1<id>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<ip>"),
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:ms|s|m|h|d)(?:\d+(?:s|m|h))?\b"), "<age>"),
)
_PROMPT = re.compile(r"^\s*(?:\S*\s?)?[#$>]\s*$")


@dataclass(frozen=True)
class Context:
    """Literal strings of one run (namespace, run id, ...) and the placeholder each becomes."""

    literals: tuple[tuple[str, str], ...] = ()
    words: tuple[re.Pattern[str], ...] = ()  # node names, replaced where they stand as a word

    @classmethod
    def of(
        cls,
        *,
        namespace: str | None = None,
        run_id: str | None = None,
        cluster: str | None = None,
        nodes: Iterable[str] = (),
        paths: Iterable[str] = (),
    ) -> Context:
        found = [(p, "<artifacts>") for p in paths if p]
        if namespace:
            found.append((namespace, "<namespace>"))
        if run_id:
            found.append((run_id, "<run-id>"))
        if cluster:
            found.append((cluster.split(" (", 1)[0], "<cluster>"))
        found.sort(key=lambda item: -len(item[0]))  # the namespace before the run id it contains
        longest_first = sorted(nodes, key=len, reverse=True)
        words = tuple(re.compile(rf"(?<![\w.]){re.escape(node)}(?!\w|\.\w)") for node in longest_first if node)
        return cls(tuple(found), words)


def text(value: str, ctx: Context) -> str:
    """`value` with the run's literals and every volatile pattern replaced."""
    for word in ctx.words:
        value = word.sub("<node>", value)
    for literal, placeholder in ctx.literals:
        value = value.replace(literal, placeholder)
    for pattern, replacement in RULES:
        value = pattern.sub(replacement, value)
    return value


def lines(value: str, ctx: Context) -> list[str]:
    """Terminal or command output as comparable lines (prompt-only and blank lines dropped)."""
    kept = []
    for line in text(value, ctx).splitlines():
        line = line.rstrip()
        if line and not _PROMPT.match(line):
            kept.append(line)
    return kept


def value(obj: Any, ctx: Context) -> Any:
    """A JSON value with every string in it normalised (keys too)."""
    if isinstance(obj, str):
        return text(obj, ctx)
    if isinstance(obj, dict):
        return {text(str(k), ctx): value(v, ctx) for k, v in obj.items()}
    if isinstance(obj, list):
        return [value(v, ctx) for v in obj]
    return obj


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": [1]}}` -> `{"a.b[0]": 1}`: leaves by path, to name what changed."""
    if isinstance(obj, dict) and obj:
        found: dict[str, Any] = {}
        for key in sorted(obj):
            found.update(flatten(obj[key], f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(obj, list) and obj:
        found = {}
        for index, item in enumerate(obj):
            found.update(flatten(item, f"{prefix}[{index}]"))
        return found
    return {prefix: obj}
