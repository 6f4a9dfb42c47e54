"""Variable flow: built-ins, scenario vars, substitution into steps (regexes escaped, session deferred)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.runner import resolve
from kdbgtest.scenario import model, variables

CLUSTER = ClusterInfo(
    "sim", "kdbg", Path("/tmp/kc"), None, "1.34", ("kdbg-worker", "kdbg-worker2"), control_plane="kdbg-cp"
)


def step(data: dict[str, object]) -> model.StepBase:
    for cls in (model.DebugStep, model.AssertStep, model.KubectlStep, model.EventsStep):
        try:
            return cls.model_validate(data)
        except ValueError:
            continue
    raise AssertionError(data)


def test_builtins_and_scenario_vars() -> None:
    scenario = model.Scenario.model_validate(
        {
            "name": "demo",
            "vars": {"target": "${node}-x"},
            "steps": [{"name": "s", "kubectl": {"args": ["get"]}}],
        }
    )
    values = resolve.run_variables(
        CLUSTER, scenario, namespace="kdbg-demo-r1", run_id="r1", scenario_dir=Path("/srv/suite")
    )
    assert dict(values) == {
        "namespace": "kdbg-demo-r1",
        "node": "kdbg-worker",
        "nodes": "kdbg-worker kdbg-worker2",
        "control_plane": "kdbg-cp",
        "run_id": "r1",
        "scenario": "demo",
        "kubeconfig": "/tmp/kc",
        "scenario_dir": "/srv/suite",
        "target": "kdbg-worker-x",
    }


def test_regex_values_are_escaped_literals_elsewhere_and_name_untouched() -> None:
    original = step(
        {
            "name": "get-${pod}",
            "kubectl": {"args": ["get", "pod/${pod}"]},
            "expect": {"stdout": {"contains": "${pod}", "regex": "^${pod}$"}},
        }
    )
    resolved = resolve.resolve(original, {"pod": "a.b"})
    assert isinstance(resolved, model.KubectlStep)
    assert resolved.name == "get-${pod}"
    assert resolved.kubectl.args == ["get", "pod/a.b"]
    assert resolved.expect is not None and resolved.expect.stdout is not None
    assert resolved.expect.stdout.contains == "a.b"
    assert resolved.expect.stdout.regex == r"^a\.b$"


def test_session_leaves_names_captured_later_in_the_same_session() -> None:
    original = step(
        {
            "name": "debug",
            "debug": {"mode": "ephemeral", "pod": "${pod}", "image": "busybox", "interactive": True},
            "session": [{"regex": "(?P<pid>\\d+)"}, {"send": "kill ${pid} in ${namespace}"}],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolved = resolve.resolve(original, {"pod": "app", "namespace": "ns1"})
    assert isinstance(resolved, model.DebugStep) and resolved.session is not None
    assert resolved.debug.pod == "app"
    assert resolved.session[1] == model.SendLine(send="kill ${pid} in ns1")


def test_explicit_null_survives_substitution_and_unknown_variables_raise() -> None:
    original = step({"name": "a", "assert": {"object": "pod/${pod}", "checks": [{"path": "x", "equals": None}]}})
    resolved = resolve.resolve(original, {"pod": "app"})
    assert isinstance(resolved, model.AssertStep)
    assert "equals" in resolved.assert_.checks[0].model_fields_set
    with pytest.raises(variables.UnknownVariable, match=r"variable \$\{pod\} has no value"):
        resolve.resolve(original, {"namespace": "n"})


def test_event_message_is_a_regex() -> None:
    original = step({"name": "e", "events": {"object": "pod/${pod}", "message": "pulling ${image}"}})
    resolved = resolve.resolve(original, {"pod": "app", "image": "busybox:1.36"})
    assert isinstance(resolved, model.EventsStep)
    assert (resolved.events.object, resolved.events.message) == ("pod/app", r"pulling busybox:1\.36")
