"""Each scenario is shown able to fail: mutated copies (a wrong expected string, a wrong target container, a
missing flag; see mutants.py) run through the engine on the suite's shared sim, and each must turn the verdict
to `failed`, at the mutated step or after it, with a readable reason (the step, what was expected, what was
seen; no traceback). A mutant that still passes is a finding: the scenario is too weak.
"""

from __future__ import annotations

import re
from pathlib import Path

import mutants
import pytest
import suite_support as support

from kdbgtest.runner import engine, events, selection
from kdbgtest.scenario import loader
from kdbgtest.scenario.issues import ScenarioIssues

pytestmark = pytest.mark.e2e

FILES = sorted(support.SCENARIOS.rglob("*.yaml"))
ALL = [mutant for path in FILES for mutant in mutants.of(path)]
ORIGINALS = {loaded.name: loaded for loaded in support.load_suite()}
# What a failure message shows of what was seen: tails of output, the last observation of a wait or poll,
# the actual value of an API field, the exit code.
SEEN = re.compile(r"lines seen|\(last \d+ lines\)|was empty|last seen:| = .*, expected|exit code \d+|must not exist: ")


def load_mutant(mutant: mutants.Mutant, directory: Path) -> loader.LoadedScenario | ScenarioIssues:
    """The mutant as the runner would load it, or the validation issues that refuse it before it runs."""
    try:
        return loader.load_file(mutant.write(directory))
    except ScenarioIssues as issues:
        return issues


def assert_refused_readably(issues: ScenarioIssues, mutant: mutants.Mutant) -> None:
    """A flag the step cannot do without: the file is refused, naming the step and kubectl's own error."""
    assert mutant.kind == "missing-flag", f"{mutant.describe} made the scenario invalid: {issues}"
    assert f"step {mutant.step_index + 1} '{mutant.step}'" in str(issues) and "(kubectl: " in str(issues)


def test_every_scenario_has_mutants_that_load(tmp_path: Path) -> None:
    names = set(ORIGINALS)
    assert len(names) == len(FILES)
    assert {m.scenario for m in ALL} == names
    assert {m.scenario for m in ALL if m.kind == "wrong-expected"} == names
    for mutant in ALL:
        loaded = load_mutant(mutant, tmp_path)
        if isinstance(loaded, ScenarioIssues):
            assert_refused_readably(loaded, mutant)
            continue
        assert loaded.name == mutant.scenario
        assert loaded.scenario.steps[mutant.step_index].name == mutant.step


def test_mutants_change_only_what_they_say() -> None:
    by_kind = {(m.scenario, m.kind): m for m in ALL}
    share = by_kind["copy-share-processes", "missing-flag"]
    assert share.doc["steps"][0]["debug"]["share_processes"] is False
    same = by_kind["copy-same-node", "missing-flag"]
    assert "same_node" not in same.doc["steps"][1]["debug"]
    target = by_kind["ephemeral-distroless-target", "wrong-target"]
    assert target.doc["steps"][1]["debug"]["target"] == mutants.WRONG_TARGET
    named = by_kind["ephemeral-named", "wrong-expected"]
    assert named.doc["steps"][0]["session"][1] == {
        "regex": "in app as uid 0-mutated",
        "timeout": mutants.EXPECT_TIMEOUT,
    }
    assert mutants.wrong_literal(r"(?m)^1\r?$", regex=True) == r"(?m)^1-mutated\r?$"
    # general + a custom capabilities.add is the same ephemeral container as no profile: custom is taken away
    custom = by_kind["profile-custom", "missing-flag"].doc["steps"][0]["debug"]
    assert "custom" not in custom and custom["profile"] == "general"


@pytest.mark.sim
@pytest.mark.parametrize("mutant", ALL, ids=[f"{m.scenario}:{m.kind}" for m in ALL])
def test_the_mutant_fails_readably(mutant: mutants.Mutant, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    sim, suite = _cluster_for(mutant, request)
    original = suite.result(mutant.scenario)
    assert original.verdict == "passed", (
        f"the unmutated scenario does not pass, so its mutant proves nothing: {original.message}"
    )
    loaded = load_mutant(mutant, tmp_path)
    if isinstance(loaded, ScenarioIssues):  # `kdbgtest run` refuses it with this message: nothing to run
        assert_refused_readably(loaded, mutant)
        return
    result = engine.run_one(loaded, sim.info, engine.RunOptions(artifacts=tmp_path / "artifacts"), [])
    assert result.verdict == "failed", (
        f"FINDING: {mutant.describe}: the scenario still {result.verdict}s {result.message}"
    )
    assert_readable(result, mutant, loaded)


def _cluster_for(mutant: mutants.Mutant, request: pytest.FixtureRequest) -> tuple[support.SuiteSim, support.SuiteRun]:
    """The suite's default sim, or the one without ephemeral containers where only that one can run it."""
    requires = ORIGINALS[mutant.scenario].scenario.requires
    sim: support.SuiteSim = request.getfixturevalue("suite_sim")
    if selection.unmet(requires, sim.info) is None:
        return sim, request.getfixturevalue("suite_run")
    off: support.SuiteSim = request.getfixturevalue("no_ephemeral_sim")
    reason = selection.unmet(requires, off.info)
    if reason is not None:
        pytest.skip(f"{mutant.scenario} runs on neither sim, so it cannot be mutated here: {reason}")
    return off, request.getfixturevalue("no_ephemeral_run")


def assert_readable(result: events.ScenarioFinished, mutant: mutants.Mutant, loaded: loader.LoadedScenario) -> None:
    """Failed at or after the mutated step; the message names the step, the expectation and what was seen."""
    names = [step.name for step in loaded.scenario.steps]
    assert result.failed_step in names[mutant.step_index :], (result.failed_step, result.message)
    if mutant.marker is not None:  # a wrong expectation fails where it is, and the message shows it
        assert (result.failed_step, mutant.marker in result.message) == (mutant.step, True), result.message
    step = loaded.scenario.steps[names.index(result.failed_step)]
    assert f"{loaded.where(step)}: " in result.message
    assert "Traceback" not in result.message and "kdbgtest bug" not in result.message
    assert SEEN.search(result.message), result.message
