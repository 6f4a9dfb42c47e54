"""Variables of a run, and substituting them into a step just before it runs.

Regex fields get the values escaped (a pod name with a `.` matches literally); a step's `name` is never
substituted, nor are mapping keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.scenario import model, variables

M = TypeVar("M", bound=BaseModel)

# Keys whose string values are regular expressions.
REGEX_KEYS = frozenset({"regex", "not_regex"})


def builtins(cluster: ClusterInfo, *, namespace: str, run_id: str, scenario: str, scenario_dir: Path) -> dict[str, str]:
    """The built-in variables (see `kdbgtest.scenario.variables.BUILTINS`)."""
    return {
        "namespace": namespace,
        "node": cluster.nodes[0] if cluster.nodes else "",
        "nodes": " ".join(cluster.nodes),
        "control_plane": cluster.control_plane,
        "run_id": run_id,
        "scenario": scenario,
        "kubeconfig": str(cluster.kubeconfig),
        "scenario_dir": str(scenario_dir.resolve()),
    }


def run_variables(
    cluster: ClusterInfo, scenario: model.Scenario, *, namespace: str, run_id: str, scenario_dir: Path
) -> variables.Variables:
    """Built-ins plus the scenario's `vars` (which may refer to built-ins)."""
    values = builtins(cluster, namespace=namespace, run_id=run_id, scenario=scenario.name, scenario_dir=scenario_dir)
    return variables.Variables(values, scenario.vars)


def _walk(value: Any, values: Mapping[str, str], key: str | None, regex_keys: frozenset[str]) -> Any:
    if isinstance(value, str):
        if key in regex_keys:
            return variables.substitute_regex(value, values)
        return variables.substitute(value, values)
    if isinstance(value, list):
        return [_walk(item, values, key, regex_keys) for item in value]
    if isinstance(value, dict):
        return {k: _walk(v, values, str(k), regex_keys) for k, v in value.items()}
    return value


class _Deferred(Mapping[str, str]):
    """Known values; any other name stays `${name}` (a capture made later in the same session)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.known = values

    def __getitem__(self, name: str) -> str:
        return self.known[name] if name in self.known else "${" + name + "}"

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


def resolve(obj: M, values: Mapping[str, str], *, skip: frozenset[str] = frozenset()) -> M:
    """A copy of the model `obj` with every `${name}` substituted (top-level keys in `skip` left as they are).

    In `session`, names not known yet are left as written: a dialogue may capture them itself.
    """
    data = obj.model_dump(by_alias=True, exclude_unset=True, warnings=False)
    regex_keys = REGEX_KEYS | ({"message"} if isinstance(obj, model.EventsStep) else frozenset())
    resolved = {
        key: value if key in skip or key == "name" else _walk(value, _values_for(key, values), key, regex_keys)
        for key, value in data.items()
    }
    return type(obj).model_validate(resolved)


def _values_for(key: str, values: Mapping[str, str]) -> Mapping[str, str]:
    return _Deferred(values) if key == "session" else values
