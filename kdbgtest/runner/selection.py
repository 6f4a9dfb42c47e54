"""Choosing scenarios: requirements against a cluster, and `-k EXPR` / `--tag` selection.

`-k` works as in pytest: words matched as substrings of the scenario's name, tags and debug modes,
combined with `and`, `or`, `not` and parentheses (`-k "crash and not node"`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kdbgtest.base.errors import KdbgtestError
from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.scenario import model

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class BadExpression(KdbgtestError):
    """A `-k` expression that cannot be parsed."""


def unmet(requires: model.Requirements, cluster: ClusterInfo) -> str | None:
    """Why `cluster` cannot run a scenario with these requirements, or None if it can."""
    reasons: list[str] = []
    minor = cluster.minor
    if requires.kubernetes:
        wanted = int(requires.kubernetes.split(".")[1])
        if minor < wanted:
            reasons.append(f"needs Kubernetes {requires.kubernetes}, the cluster runs {cluster.server_version}")
    if requires.below and minor >= int(requires.below.split(".")[1]):
        reasons.append(f"runs only below Kubernetes {requires.below}, the cluster runs {cluster.server_version}")
    lacking = [c for c in requires.capabilities if c not in cluster.capabilities]
    if lacking:
        reasons.append(f"needs {', '.join(lacking)}, which the {cluster.kind} cluster does not offer")
    present = [c for c in requires.missing if c in cluster.capabilities]
    if present:
        reasons.append(f"runs only where {', '.join(present)} is absent, and the cluster offers it")
    if len(cluster.nodes) < requires.nodes:
        reasons.append(f"needs {requires.nodes} schedulable nodes, the cluster has {len(cluster.nodes)}")
    return "; ".join(reasons) or None


def words(scenario: model.Scenario) -> set[str]:
    """What `-k` matches against: the name, the tags and the debug modes."""
    return {scenario.name, *scenario.tags, *scenario.modes}


def matches(expression: str, haystack: Iterable[str]) -> bool:
    """Evaluate a `-k` expression; each word is true if it is a substring of any of `haystack`."""
    tokens = _TOKEN.findall(expression)
    texts = [h.lower() for h in haystack]
    value, rest = _parse_or(tokens, texts)
    if rest:
        raise BadExpression(f"-k {expression!r}: unexpected {rest[0]!r}; use words with and, or, not, ( )")
    return value


_Parser = Callable[[list[str], list[str]], tuple[bool, list[str]]]


def _parse_or(tokens: list[str], texts: list[str]) -> tuple[bool, list[str]]:
    return _parse_chain("or", _parse_and, tokens, texts)


def _parse_and(tokens: list[str], texts: list[str]) -> tuple[bool, list[str]]:
    return _parse_chain("and", _parse_not, tokens, texts)


def _parse_chain(word: str, operand: _Parser, tokens: list[str], texts: list[str]) -> tuple[bool, list[str]]:
    """`operand (word operand)*`, left to right: true if any operand is (`or`) or every one is (`and`)."""
    value, rest = operand(tokens, texts)
    values = [value]
    while rest and rest[0] == word:
        value, rest = operand(rest[1:], texts)
        values.append(value)
    return (any(values) if word == "or" else all(values)), rest


def _parse_not(tokens: list[str], texts: list[str]) -> tuple[bool, list[str]]:
    if not tokens:
        raise BadExpression("-k: the expression ends too early; a word is missing")
    head, rest = tokens[0], tokens[1:]
    if head == "not":
        value, rest = _parse_not(rest, texts)
        return not value, rest
    if head == "(":
        value, rest = _parse_or(rest, texts)
        if not rest or rest[0] != ")":
            raise BadExpression("-k: a '(' is not closed")
        return value, rest[1:]
    if head in ("and", "or", ")"):
        raise BadExpression(f"-k: unexpected {head!r}; a word is missing before it")
    return any(head.lower() in text for text in texts), rest


def selected(scenario: model.Scenario, keyword: str | None, tags: Iterable[str]) -> bool:
    """Whether `-k keyword` and every `--tag` select the scenario (tags: any of them present)."""
    wanted = list(tags)
    if wanted and not set(wanted) & set(scenario.tags):
        return False
    return keyword is None or not keyword.strip() or matches(keyword, words(scenario))
