"""`${name}` substitution at run time: recursion, escapes, regex escaping, captures, clear errors."""

from __future__ import annotations

import re

import pytest

from kdbgtest.base import errors
from kdbgtest.scenario import variables

BUILTINS = {"namespace": "kdbg-demo-ab12", "node": "worker-1", "run_id": "ab12", "scenario": "demo"}


def test_substitutes_recursively_through_lists_and_dict_values_but_not_keys() -> None:
    value = {"${node}": ["on ${node}", {"ns": "${namespace}/${run_id}"}], "n": 3, "b": True, "z": None}
    assert variables.substitute(value, BUILTINS) == {
        "${node}": ["on worker-1", {"ns": "kdbg-demo-ab12/ab12"}],
        "n": 3,
        "b": True,
        "z": None,
    }


def test_tuples_are_substituted_and_stay_tuples() -> None:
    assert variables.substitute(("${node}", "x"), BUILTINS) == ("worker-1", "x")


def test_double_dollar_escapes_a_literal_reference() -> None:
    assert variables.substitute("echo $${HOME} ${node} $$ $x", {"node": "n"}) == "echo ${HOME} n $$ $x"


def test_value_is_inserted_once_not_rescanned() -> None:
    assert variables.substitute("${a}", {"a": "${b}", "b": "no"}) == "${b}"


def test_unknown_variable_at_run_time_names_it_and_suggests() -> None:
    with pytest.raises(variables.UnknownVariable) as caught:
        variables.substitute(["ok", "get pod ${nod}"], BUILTINS)
    message = str(caught.value)
    assert message.startswith("variable ${nod} has no value; did you mean ${node}? (in 'get pod ${nod}')")
    assert "known: namespace, node, run_id, scenario" in message
    assert isinstance(caught.value, errors.ScenarioError)


@pytest.mark.parametrize("text", ["${", "a ${node", "${1x}", "${ node }", "${}"])
def test_malformed_reference_is_an_error(text: str) -> None:
    with pytest.raises(variables.UnknownVariable, match="malformed variable reference"):
        variables.substitute(text, BUILTINS)


def test_regex_substitution_escapes_the_value() -> None:
    pattern = variables.substitute_regex(r"^pod ${name} \d+$", {"name": "a.b+(c)"})
    assert pattern == r"^pod a\.b\+\(c\) \d+$"
    assert re.search(pattern, "pod a.b+(c) 12")
    assert not re.search(pattern, "pod axb+(c) 12")


def test_references_lists_each_reference_with_its_offset() -> None:
    refs = list(variables.references("a ${x} $${y} ${bad name} ${z"))
    found = [(r.name, r.start, r.well_formed) for r in refs]
    assert found == [("x", 2, True), ("bad name", 13, False), ("z", 25, False)]


def test_variables_resolve_scenario_vars_with_builtins_and_earlier_vars() -> None:
    values = variables.Variables(BUILTINS, {"copy": "${scenario}-copy", "target": "pod/${copy}"})
    assert values["copy"] == "demo-copy"
    assert values["target"] == "pod/demo-copy"
    assert len(values) == len(BUILTINS) + 2
    assert set(values) >= {"copy", "target", "node"}


def test_a_var_using_an_unknown_name_fails_when_the_run_starts() -> None:
    with pytest.raises(variables.UnknownVariable, match=r"\$\{later\} has no value"):
        variables.Variables(BUILTINS, {"a": "${later}", "later": "x"})


def test_captures_skip_groups_that_did_not_participate() -> None:
    values = variables.Variables(BUILTINS)
    line = "Defaulting debug container name to debugger-k7x2p."
    match = re.search(r"(?P<debugger>debugger-\w+)|(?P<other>x)", line)
    assert match is not None
    values.capture(match.groupdict())
    assert values["debugger"] == "debugger-k7x2p"
    assert "other" not in values
    values.set("debug_pod", "node-debugger-w1-abcde")
    assert variables.substitute("${debugger}@${debug_pod}", values) == "debugger-k7x2p@node-debugger-w1-abcde"


def test_every_builtin_and_debug_capture_is_documented() -> None:
    expected = {"namespace", "node", "nodes", "control_plane", "run_id", "scenario", "kubeconfig", "scenario_dir"}
    assert set(variables.BUILTINS) == expected
    assert set(variables.DEBUG_CAPTURES) == {"debug_container", "debug_pod"}
    assert all(text for text in [*variables.BUILTINS.values(), *variables.DEBUG_CAPTURES.values()])
