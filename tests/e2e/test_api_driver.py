"""The issue's acceptance for the API driver: the same scenario run with both drivers gives the same verdict.

One scenario of each mode from `scenarios/` (ephemeral, copy, node; each with an interactive session) runs
through the engine on the suite's shared sim with `--driver kubectl` and with `--driver api`: both pass, and
the debug steps of the API run really went through the kubernetes client (their argv says so). Mutated copies
(a wrong expected string; a wrong target container) fail under both drivers, at the same step.
"""

from __future__ import annotations

from pathlib import Path

import mutants
import pytest
import suite_support as support
import yaml

from kdbgtest.debug import api_driver
from kdbgtest.runner import engine, events
from kdbgtest.scenario import loader

pytestmark = [pytest.mark.e2e, pytest.mark.sim]

SCENARIOS = {
    "ephemeral": "ephemeral/distroless-target.yaml",  # exec fails without a shell; --target; interactive
    "copy": "copy/share-processes.yaml",  # a copy with a shared process namespace; interactive
    "node": "node/host-namespaces.yaml",  # host namespaces, /host, chroot; interactive
}
DRIVERS = ("kubectl", "api")


def run(loaded: loader.LoadedScenario, sim: support.SuiteSim, driver: str, out: Path) -> events.ScenarioFinished:
    options = engine.RunOptions(artifacts=out / driver, driver=driver)
    return engine.run_one(loaded, sim.info, options, [])


def debug_argvs(result: events.ScenarioFinished) -> list[list[str]]:
    kinds = {step.step: step for step in result.steps}
    return [step.argv for step in kinds.values() if step.argv and "debug" in step.argv[:4]]


@pytest.mark.parametrize("mode", sorted(SCENARIOS))
def test_same_verdict_with_both_drivers(mode: str, suite_sim: support.SuiteSim, tmp_path: Path) -> None:
    (loaded,) = support.load_suite([support.SCENARIOS / SCENARIOS[mode]])
    assert mode in loaded.scenario.modes
    results = {driver: run(loaded, suite_sim, driver, tmp_path) for driver in DRIVERS}
    for driver, result in results.items():
        assert result.verdict == "passed", f"{driver}: {result.failed_step}: {result.message}"
    api_debug = debug_argvs(results["api"])
    assert api_debug and all(argv[0] == api_driver.ARGV_PREFIX for argv in api_debug)
    assert all(argv[0] != api_driver.ARGV_PREFIX for argv in debug_argvs(results["kubectl"]))


MUTANTS = [
    (mode, mutant)
    for mode, path in sorted(SCENARIOS.items())
    for mutant in mutants.of(support.SCENARIOS / path)
    if mutant.kind in ("wrong-expected", "wrong-target")
]


@pytest.mark.parametrize(("mode", "mutant"), MUTANTS, ids=[f"{mode}:{m.kind}" for mode, m in MUTANTS])
def test_mutants_fail_with_both_drivers(
    mode: str, mutant: mutants.Mutant, suite_sim: support.SuiteSim, tmp_path: Path
) -> None:
    loaded = loader.load_file(mutant.write(tmp_path))
    results = {driver: run(loaded, suite_sim, driver, tmp_path) for driver in DRIVERS}
    for driver, result in results.items():
        assert result.verdict == "failed", f"{driver}: {mutant.describe} still {result.verdict}s"
        assert "Traceback" not in result.message, result.message
    assert results["api"].failed_step == results["kubectl"].failed_step, (
        results["api"].message,
        results["kubectl"].message,
    )


def test_a_step_can_pick_the_api_driver(suite_sim: support.SuiteSim, tmp_path: Path) -> None:
    """`driver: api` on the debug steps of a run whose default is kubectl: those steps (and only those) go
    through the kubernetes client, and the scenario still passes."""
    source = support.SCENARIOS / SCENARIOS["ephemeral"]
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for step in doc["steps"]:
        if "debug" in step:
            step["debug"]["driver"] = "api"
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = run(loader.load_file(path), suite_sim, "kubectl", tmp_path)
    assert result.verdict == "passed", f"{result.failed_step}: {result.message}"
    argvs = [step.argv for step in result.steps if step.argv]
    by_client = [argv for argv in argvs if argv[0] == api_driver.ARGV_PREFIX]
    assert by_client and all("debug" in argv[:2] for argv in by_client)
    assert any(argv[0] != api_driver.ARGV_PREFIX for argv in argvs)  # the exec and kubectl steps
