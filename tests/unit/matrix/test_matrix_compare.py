"""Comparing run documents: grid, regressions and fixes between neighbours, behaviour differences."""

from __future__ import annotations

from pathlib import Path

from matrix_runs import Scenario, Step, write_run

from kdbgtest.matrix import model, normalise, report

PTRACE: dict[str, object] = {"capabilities": {"add": ["SYS_PTRACE"]}}
OLD_SESSION = (
    "Defaulting debug container name to debugger-x7k2p.\n/ # \nin kdbg-stable-names-aaaa1111\n"
    "Creating debugging pod node-debugger-kdbgmx-aaaaaa-worker-bcdfg with container debugger on node "
    "kdbgmx-aaaaaa-worker.\nStarted 5s ago at 2026-11-26T20:00:01Z on 10.244.1.7"
)


def _observed(name: str, security: dict[str, object]) -> dict[str, object]:
    return {
        "pod": "node-debugger-kdbgmx-{c}-worker-x7k2p",
        "container_field": "ephemeralContainers",
        "container": {"name": name, "image": "busybox:1.36", "securityContext": security},
        "pod_spec": {},
    }


def _runs(tmp_path: Path) -> tuple[model.Matrix, dict[str, str]]:
    older = [
        Scenario("regressed", steps=[Step("attach", output="ok", transcript="01-attach.transcript.txt")]),
        Scenario("fixed", "failed", [Step("exec", "failed", message="exit code 1, expected 0")]),
        Scenario(
            "stable-names",
            steps=[
                Step(
                    "shell",
                    output=OLD_SESSION,
                    observed=_observed("debugger-x7k2p", PTRACE),
                )
            ],
        ),
        Scenario("profile-changed", steps=[Step("general", observed=_observed("debugger", PTRACE))]),
        Scenario("message-changed", steps=[Step("exec", kind="exec", output="error: unable to upgrade")]),
        Scenario("skip-then-run", "skipped", message="needs ephemeral-containers, which the cluster lacks"),
        Scenario("both-failed", "failed", [Step("x", "failed", message="boom")]),
    ]
    newer = [
        Scenario(
            "regressed",
            "failed",
            [
                Step(
                    "attach",
                    "failed",
                    message="exit code 1, expected 0",
                    transcript="01-attach.transcript.txt",
                )
            ],
        ),
        Scenario("fixed", steps=[Step("exec")]),
        Scenario(
            "stable-names",
            steps=[
                Step(
                    "shell",
                    output="Defaulting debug container name to debugger-q9zzb.\n/ # \n/ # \n"
                    "in kdbg-stable-names-bbbb2222\nCreating debugging pod "
                    "node-debugger-kdbgmx-bbbbbb-worker-zz2x9 with container debugger on node "
                    "kdbgmx-bbbbbb-worker.\nStarted 12m3s ago at 2026-11-26T21:13:59.5Z on 10.244.2.9\n",
                    observed=_observed("debugger-q9zzb", PTRACE),
                )
            ],
        ),
        Scenario(
            "profile-changed",
            steps=[Step("general", observed=_observed("debugger", {**PTRACE, "runAsNonRoot": True}))],
        ),
        Scenario("message-changed", steps=[Step("exec", kind="exec", output="error: Internal error occurred")]),
        Scenario("skip-then-run", steps=[Step("y")]),
        Scenario("both-failed", "failed", [Step("x", "failed", message="boom again")]),
    ]
    a = write_run(tmp_path, "a", older, server_version="1.33", cluster_name="kdbgmx-aaaaaa", run_id="aaaa1111")
    b = write_run(tmp_path, "b", newer, server_version="1.34", cluster_name="kdbgmx-bbbbbb", run_id="bbbb2222")
    return report.build([a, b], tmp_path)


def test_grid_has_every_scenario_with_verdicts_reasons_and_links(tmp_path: Path) -> None:
    matrix, _ = _runs(tmp_path)
    assert [r.scenario for r in matrix.rows] == [
        "regressed", "fixed", "stable-names", "profile-changed", "message-changed", "skip-then-run",
        "both-failed",
    ]  # fmt: skip
    regressed = matrix.rows[0].cells
    assert regressed["a"] == model.Cell("passed", "", "a/results.json")
    assert regressed["b"] == model.Cell(
        "failed",
        "step 1 'attach' (debug): exit code 1, expected 0",
        "b/artifacts/regressed-bbbb2222/01-attach.transcript.txt",
    )
    assert (tmp_path / str(regressed["b"].link)).is_file()
    skipped = matrix.rows[5].cells["a"]
    assert (skipped.verdict, skipped.reason) == (
        "skipped",
        "needs ephemeral-containers, which the cluster lacks",
    )
    assert [c.server_version for c in matrix.columns] == ["1.33", "1.34"]


def test_regressions_and_fixes_between_neighbours(tmp_path: Path) -> None:
    matrix, _ = _runs(tmp_path)
    assert matrix.regressions == [
        model.Change(
            scenario="regressed",
            before="a",
            after="b",
            before_verdict="passed",
            after_verdict="failed",
            reason="exit code 1, expected 0",
            step="step 1 'attach' (debug)",
            link="b/artifacts/regressed-bbbb2222/01-attach.transcript.txt",
        )
    ]
    assert [(f.scenario, f.before_verdict, f.after_verdict, f.step) for f in matrix.fixes] == [
        ("fixed", "failed", "passed", "step 1 'exec' (debug)")
    ]
    assert matrix.exit_code == 1


def test_behaviour_differences_are_real_changes_only(tmp_path: Path) -> None:
    matrix, diffs = _runs(tmp_path)
    found = {(d.scenario, d.aspect): d for d in matrix.differences}
    # Generated names, namespaces, cluster names, times, ages, IPs and prompt lines are not differences;
    # failing on both sides is not one either.
    assert sorted(found) == [
        ("message-changed", "output"),
        ("profile-changed", "observed"),
        ("skip-then-run", "skipped-vs-run"),
    ]
    profile = found["profile-changed", "observed"]
    assert profile.summary == "API objects: container.securityContext.runAsNonRoot: (absent) -> true"
    assert (profile.step, profile.index, profile.before, profile.after) == ("general", 1, "a", "b")
    assert profile.links == {"a": "a/results.json", "b": "b/results.json"}
    assert '+      "runAsNonRoot": true' in diffs[str(profile.diff)]
    message = found["message-changed", "output"]
    assert message.summary == "output: error: unable to upgrade -> error: Internal error occurred"
    skip = found["skip-then-run", "skipped-vs-run"]
    assert skip.summary == (
        "skipped on sim 1.33 a (needs ephemeral-containers, which the cluster lacks); passed on sim 1.34 b"
    )


def test_sessions_are_compared_by_their_whole_transcript_not_the_tail(tmp_path: Path) -> None:
    session = "Creating debugging pod p\nline 1\n/ # \nline 2\n"
    older = Step("shell", output=session, tail="line 1\nline 2", transcript="01-shell.transcript.txt")
    prompts = session.replace("/ # ", "/ # \n/ # ")
    newer = Step("shell", output=prompts, tail="line 2", transcript="01-shell.txt")
    changed = Step("shell", output=session + "line 3\n", tail="line 2", transcript="01-shell.transcript.txt")
    columns = [
        write_run(tmp_path, "a", [Scenario("s", steps=[older])], server_version="1.32"),
        write_run(tmp_path, "b", [Scenario("s", steps=[newer])], server_version="1.33"),
        write_run(tmp_path, "c", [Scenario("s", steps=[changed])], server_version="1.34"),
    ]
    matrix, _ = report.build(columns, tmp_path)
    assert [(d.before, d.after, d.summary) for d in matrix.differences] == [("b", "c", "output: (nothing) -> line 3")]
    assert matrix.differences[0].links == {
        "b": "b/artifacts/s-0badc0de/01-shell.txt",
        "c": "c/artifacts/s-0badc0de/01-shell.transcript.txt",
    }


def test_only_neighbours_are_compared(tmp_path: Path) -> None:
    passing, failing = Scenario("s", steps=[Step("x")]), Scenario("s", "failed", [Step("x", "failed")])
    columns = [
        write_run(tmp_path, "v1", [passing], server_version="1.32"),
        write_run(tmp_path, "v2", [failing], server_version="1.33"),
        write_run(tmp_path, "v3", [failing], server_version="1.34"),
    ]
    matrix, _ = report.build(columns, tmp_path)
    assert [(c.before, c.after) for c in matrix.regressions] == [("v1", "v2")]


def test_a_cluster_that_could_not_be_used_shows_as_missing_with_exit_code_2(tmp_path: Path) -> None:
    ran = write_run(tmp_path, "ok", [Scenario("s", steps=[Step("x")])])
    broken = model.Column("broken", "kind 1.35", "kind", "clusters/kind-1.35.yaml", error="docker is not installed")
    matrix, _ = report.build([ran, broken], tmp_path)
    assert matrix.rows[0].cells["broken"] == model.Cell(
        "missing", "the cluster could not be used: docker is not installed"
    )
    assert matrix.regressions == [] and matrix.differences == []
    assert matrix.exit_code == 2


def test_node_names_compare_equal_across_clusters_but_only_as_whole_names() -> None:
    sim = normalise.Context.of(cluster="kdbgmx-1a2b3c (sim)", nodes=["kdbgmx-1a2b3c-worker"])
    local = normalise.Context.of(cluster="local Kubernetes v1.37.2 (built from upstream)", nodes=["vm"])
    said = "Creating debugging pod node-debugger-{n}-x7k2p with container debugger on node {n}."
    assert normalise.text(said.format(n="kdbgmx-1a2b3c-worker"), sim) == normalise.text(said.format(n="vm"), local)
    assert normalise.text("kvm vm.overcommit_memory", local) == "kvm vm.overcommit_memory"
