"""Every scenario in `scenarios/` through the runner engine on one offline cluster, as
`kdbgtest run scenarios/ --cluster sim` runs them: each passes, or is skipped for exactly the requirement this
cluster lacks. Afterwards the cluster holds no kdbgtest namespace, copy or node-debugger pod, and the nodes
hold nothing the node-issue fixture planted; releasing the cluster at the end of the session must find nothing
leaked (conftest.py). The copy-mode fallback runs on a second sim whose EphemeralContainers gate is off.
"""

from __future__ import annotations

import shlex
import textwrap
import uuid
from pathlib import Path

import pytest
import suite_support as support

from kdbgtest.base import process, tools, waiting
from kdbgtest.cluster import base
from kdbgtest.runner import engine, events
from kdbgtest.scenario import loader
from kdbgtest.sim.node import toolbox

pytestmark = [pytest.mark.sim, pytest.mark.e2e]

FALLBACK = support.FALLBACK
TOOLBOX = "toolbox-every-tool-runs"
NODE_ISSUE = "node-find-runaway"
# The only skips allowed on the default sim, with the exact reason the runner must give.
ALLOWED_SKIPS = {
    FALLBACK: "runs only where ephemeral-containers is absent, and the cluster offers it",
    TOOLBOX: "needs toolbox-image, which the sim cluster does not offer",
}
TOOLBOX_DIR = "scenarios/toolbox/"  # every scenario there needs toolbox-image
NOT_OFFERED = "which the sim cluster does not offer"
SIM_CAPABILITIES = {
    base.EPHEMERAL_CONTAINERS, base.TARGET_NAMESPACE, base.NODE_DEBUG, base.PROFILES, base.SYSADMIN_PROFILE,
    base.NAMED_USERS,
}  # fmt: skip


def verdicts(results: tuple[events.ScenarioFinished, ...] | list[events.ScenarioFinished]) -> str:
    return "\n".join(f"{r.scenario}: {r.verdict} {r.message}" for r in results)


def test_the_sim_offers_what_the_suite_expects(suite_sim: support.SuiteSim) -> None:
    expected = SIM_CAPABILITIES | (set() if toolbox.missing() else {base.TOOLBOX_IMAGE})
    assert set(suite_sim.info.capabilities) == expected
    assert len(suite_sim.info.nodes) >= 1 and suite_sim.info.server_version == "1.34"


def test_every_scenario_passes_or_is_skipped_for_its_requirement(suite_run: support.SuiteRun) -> None:
    results = suite_run.summary.results
    assert len(results) == len(suite_run.scenarios) >= 20, verdicts(results)
    assert [r.scenario for r in results] == [s.name for s in suite_run.scenarios]
    skipped = {r.scenario: r.message for r in results if r.verdict == "skipped"}
    expected_skips = {FALLBACK: ALLOWED_SKIPS[FALLBACK]}
    if toolbox.missing():  # the sim offers the images `kdbgtest images build` made (./dev builds them)
        expected_skips.update(
            (s.name, ALLOWED_SKIPS[TOOLBOX]) for s in suite_run.scenarios if TOOLBOX_DIR in str(s.path)
        )
    assert skipped == expected_skips, verdicts(results)
    not_passed = [r for r in results if r.verdict not in ("passed", "skipped")]
    assert not not_passed, verdicts(not_passed)
    assert suite_run.summary.exit_code == 0


def test_every_run_cleaned_up_what_it_made(suite_run: support.SuiteRun) -> None:
    cleanups = suite_run.recorder.of(events.CleanupFinished)
    ran = [r for r in suite_run.summary.results if r.verdict != "skipped"]
    assert len(cleanups) == len(ran)
    assert [c.problems for c in cleanups if c.problems] == []
    assert all(any(item.startswith("namespace kdbg-") for item in c.removed) for c in cleanups)


def test_the_cluster_holds_nothing_after_the_suite(suite_run: support.SuiteRun) -> None:
    assert suite_run.in_cluster == []


def test_the_nodes_hold_nothing_planted_after_the_suite(
    suite_run: support.SuiteRun, suite_sim: support.SuiteSim
) -> None:
    assert all((root / "var" / "log").is_dir() for root in support.node_roots(suite_sim))  # the check looks there
    ran = {r.scenario: r.verdict for r in suite_run.summary.results}
    assert ran[NODE_ISSUE] == "passed"  # the fixture was planted (and found) during the suite
    assert suite_run.on_nodes == []


def test_the_leftover_checks_see_a_kept_run(suite_sim: support.SuiteSim, tmp_path: Path) -> None:
    """The checks above can fail: a node-issue run kept with --keep is seen by them until it is removed."""
    (scenario,) = [s for s in support.load_suite() if s.name == NODE_ISSUE]
    before = support.all_pods(suite_sim.info)
    recorder = support.Recorder()
    options = engine.RunOptions(artifacts=tmp_path, keep=True)
    result = engine.run_one(scenario, suite_sim.info, options, [recorder])
    assert result.verdict == "passed", result.message
    left = support.cluster_leftovers(suite_sim.info, before)
    assert any(item.startswith("namespace kdbg-node-find-runaway-") for item in left), left
    assert any(item.startswith("node-debugger pod kdbg-node-find-runaway-") for item in left), left
    planted = support.planted_on_nodes(suite_sim)
    assert any(f"kdbgtest-runaway-{options.run_id}" in item for item in planted), planted
    assert any(item.startswith("process ") for item in planted), planted
    (kept,) = recorder.of(events.CleanupFinished)
    for command in kept.hint.splitlines()[1:]:
        process.run(shlex.split(command.strip()), timeout=60)

    def clean() -> tuple[bool, list[str]]:
        found = support.cluster_leftovers(suite_sim.info, before) + support.planted_on_nodes(suite_sim)
        return not found, found

    waiting.wait_for(clean, timeout=60, what="the kept run to be removed", interval=0.2)


def test_another_runs_node_debugger_pod_is_left_to_it(suite_sim: support.SuiteSim, tmp_path: Path) -> None:
    """Two kdbgtest runs on one cluster: a node-debugger pod that appears in the other run's namespace while
    this run goes is the other run's to remove, not this one's."""
    other = f"kdbg-other-run-{uuid.uuid4().hex[:6]}"
    text = f"""
        name: concurrent
        steps:
          - name: other-run-namespace
            kubectl: {{args: [create, namespace, {other}]}}
          - name: other-run-label
            kubectl: {{args: [label, namespace, {other}, app.kubernetes.io/managed-by=kdbgtest]}}
          - name: other-runs-node-debugger
            kubectl: {{args: [debug, "node/${{node}}", --image=busybox:1.36, -n, {other}, --, "true"]}}
        """
    path = tmp_path / "concurrent.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    recorder = support.Recorder()
    options = engine.RunOptions(artifacts=tmp_path / "artifacts")
    try:
        result = engine.run_one(loader.load_file(path), suite_sim.info, options, [recorder])
        assert result.verdict == "passed", result.message
        (cleanup,) = recorder.of(events.CleanupFinished)
        assert [item for item in cleanup.removed if other in item] == []
        pods = support.kubectl_json(suite_sim.info, "get", "pods", "-n", other)["items"]
        assert [p["metadata"]["name"].startswith("node-debugger-") for p in pods] == [True]
    finally:
        argv = [str(tools.pinned_kubectl()), f"--kubeconfig={suite_sim.info.kubeconfig}"]
        process.run([*argv, "delete", "namespace", other, "--ignore-not-found", "--wait=true"], timeout=90)


def test_the_fallback_runs_where_ephemeral_containers_are_off(
    no_ephemeral_sim: support.SuiteSim, no_ephemeral_run: support.SuiteRun
) -> None:
    capabilities = no_ephemeral_sim.info.capabilities
    assert base.EPHEMERAL_CONTAINERS not in capabilities
    assert len(no_ephemeral_run.scenarios) >= 10
    fallback = no_ephemeral_run.result(FALLBACK)
    assert fallback.verdict == "passed", fallback.message
    named = no_ephemeral_run.result("ephemeral-named")
    assert (named.verdict, named.message) == ("skipped", f"needs {base.EPHEMERAL_CONTAINERS}, {NOT_OFFERED}")
    for loaded in no_ephemeral_run.scenarios:
        if loaded.name != FALLBACK:
            lacking = [c for c in loaded.scenario.requires.capabilities if c not in capabilities]
            result = no_ephemeral_run.result(loaded.name)
            assert (result.verdict, result.message) == (
                "skipped",
                f"needs {', '.join(lacking)}, {NOT_OFFERED}",
            )
    assert (no_ephemeral_run.in_cluster, no_ephemeral_run.on_nodes) == ([], [])


# Releasing each cluster at the end of the session must find nothing leaked: see conftest.py.
