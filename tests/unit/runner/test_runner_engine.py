"""The runner against a recording fake kubectl: namespace, fixtures, steps, artifacts and cleanup.

Each test runs real kdbgtest code end to end with a real child process per kubectl call; only the cluster is
fake (tests/data/fake_kubectl.py keeps a tiny object store and records every argv).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kdbg_fakes import FakeKubectl, Recorder, Runner, write_scenario

from kdbgtest.cluster.base import ClusterInfo
from kdbgtest.runner import engine, events

NS = "kdbg-demo-r1"

PASSING = """
    name: demo
    vars:
      pod_name: app
    fixtures:
      - fixture: sleeper
    steps:
      - name: get-pod
        kubectl:
          args: [get, pod, "${pod_name}", -o, json]
        expect:
          stdout:
            regex: '"image": "(?P<image>[^"]+)"'
      - name: uses-capture
        assert:
          object: pod/app
          checks:
            - path: metadata.namespace
              equals: ${namespace}
            - path: spec.containers[0].image
              equals: ${image}
"""


def test_passing_run_creates_labelled_namespace_and_removes_it(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    result, recorder = run_scenario(PASSING)
    assert result.verdict == "passed", result.message
    create = next(r for r in fake_kubectl.records() if r["argv"][-3:] == ["create", "-f", "-"])
    assert yaml.safe_load(create["stdin"])["metadata"] == {
        "name": NS,
        "labels": {
            "app.kubernetes.io/managed-by": "kdbgtest",
            "kdbgtest.io/run-id": "r1",
            "kdbgtest.io/scenario": "demo",
        },
    }
    commands = fake_kubectl.commands()
    created = commands.index(["-n", NS, "create", "-f", "-"])
    assert commands[created + 1] == ["-n", NS, "get", "pod/app", "-o", "json", "--ignore-not-found"]
    assert ["delete", "namespace", NS, "--ignore-not-found", "--wait=false"] in commands
    assert not any(k.startswith(f"{NS}|") or k.endswith(f"|{NS}") for k in fake_kubectl.objects())
    assert not any(c[2:3] == ["describe"] for c in commands), "no artifacts on success"
    cleanup = recorder.of(events.CleanupFinished)
    assert cleanup == [events.CleanupFinished("demo", [f"namespace {NS}"], False, "", [])]
    assert [type(e).__name__ for e in recorder.events] == [
        "ScenarioStarted",
        "StepStarted",
        "StepFinished",
        "StepStarted",
        "StepFinished",
        "CleanupFinished",
        "ScenarioFinished",
    ]


FAILING = """
    name: demo
    fixtures:
      - fixture: sleeper
    steps:
      - name: wrong-image
        assert:
          object: pod/app
          checks:
            - path: spec.containers[0].image
              equals: alpine:3
      - name: never-runs
        assert:
          object: pod/app
          checks: [{path: metadata.name, equals: app}]
    finally:
      - name: always-runs
        assert:
          object: pod/app
          checks: [{path: metadata.name, equals: app}]
"""


def test_failing_step_stops_steps_runs_finally_collects_artifacts_then_cleans_up(
    run_scenario: Runner, fake_kubectl: FakeKubectl, tmp_path: Path
) -> None:
    result, recorder = run_scenario(FAILING)
    assert result.verdict == "failed"
    assert result.failed_step == "wrong-image"
    assert result.message == (
        f"{tmp_path / 'scenario.yaml'}:5, step 1 'wrong-image': "
        'spec.containers[0].image = "busybox:1.36", expected "alpine:3"'
    )
    assert [(s.step, s.verdict) for s in recorder.of(events.StepFinished)] == [
        ("wrong-image", "failed"),
        ("always-runs", "passed"),
    ]
    out = tmp_path / "artifacts" / "demo-r1"
    assert result.artifacts == out
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "app.app.log",
        "app.app.previous.log",
        "app.describe.txt",
        "app.ephemeral-statuses.json",
        "app.yaml",
        "events.json",
        "events.txt",
    ]
    assert (out / "app.app.log").read_text() == "log line of app/app\n"
    assert 'previous terminated container "app" in pod "app" not found' in (out / "app.app.previous.log").read_text()
    commands = fake_kubectl.commands()
    describe = commands.index(["-n", NS, "describe", "pod", "app"])
    delete = commands.index(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"])
    assert describe < delete, "artifacts are collected before the namespace goes"


def test_step_timeout_says_what_it_last_saw(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    creating = {
        "phase": "Pending",
        "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
        ],
    }
    fake_kubectl.configure(pod_status={"app": creating})
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: deploy
            apply:
              fixture: crashloop
              params: {name: app}
              wait: {pod: app, for: crashloop, restarts: 2, timeout: 1}
        """
    )
    assert result.verdict == "failed"
    assert result.message.endswith(
        "step 1 'deploy': timed out after 1s waiting for pod app to be crashloop (restarts >= 2); "
        "last seen: pod app: container app waiting (ContainerCreating), restarts 0"
    )
    assert ["delete", "namespace", NS, "--ignore-not-found", "--wait=false"] in fake_kubectl.commands()


def test_fixture_default_wait_and_scenario_deadline(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(pod_status={"crashloop": {"phase": "Running", "containerStatuses": []}})
    result, recorder = run_scenario(
        """
        name: demo
        timeout: 1.5
        fixtures:
          - fixture: crashloop
        steps:
          - name: unreached
            assert: {object: pod/crashloop, checks: [{path: metadata.name, exists: true}]}
        """
    )
    assert result.verdict == "failed"
    assert result.failed_step == "fixture 1 (crashloop)"
    assert "waiting for pod crashloop to be crashloop (container app, restarts >= 2)" in result.message
    assert result.message.endswith("(the scenario's timeout of 1.5s ran out)"), "it caps the fixture's 120s"
    assert recorder.of(events.StepStarted) == []


def test_fixtures_are_created_in_order_then_awaited_together(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(pod_status={"crashloop": {"phase": "Running", "containerStatuses": []}})
    result, _ = run_scenario(
        """
        name: demo
        timeout: 1.5
        fixtures:
          - fixture: crashloop
          - fixture: sleeper
        steps:
          - name: unreached
            assert: {object: pod/app, checks: [{path: metadata.name, exists: true}]}
        """
    )
    assert result.verdict == "failed"
    assert result.failed_step == "fixture 1 (crashloop)", result.message
    commands = fake_kubectl.commands()
    creates = [i for i, c in enumerate(commands) if c[-3:] == ["create", "-f", "-"] and "-n" in c]
    first_look = next(i for i, c in enumerate(commands) if c[2:4] == ["get", "pod/crashloop"])
    assert len(creates) == 2 and creates[1] < first_look, "the second fixture was created before the first's wait"
    looked_at_app = [c for c in commands if c[2:4] == ["get", "pod/app"]]
    assert looked_at_app, "the second fixture was awaited while the first was still awaited"


def test_ctrl_c_during_a_step_still_cleans_up_and_reraises(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(rules=[{"match": ["pod/trigger"], "sigint_parent": True, "delay": 5}])
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            """
            name: demo
            steps:
              - name: interrupted
                assert: {object: pod/trigger, checks: [{path: metadata.name, exists: true}]}
              - name: not-reached
                assert: {object: pod/app, checks: [{path: metadata.name, exists: true}]}
            finally:
              - name: skipped-after-ctrl-c
                assert: {object: pod/app, checks: [{path: metadata.name, exists: true}]}
            """
        )
    commands = fake_kubectl.commands()
    assert ["delete", "namespace", NS, "--ignore-not-found", "--wait=false"] in commands
    assert f"|Namespace|{NS}" not in fake_kubectl.objects()
    assert not any("pod/app" in c for c in commands), "no further step after Ctrl-C"


def test_ctrl_c_result_events(fake_kubectl: FakeKubectl, cluster: ClusterInfo, tmp_path: Path) -> None:
    fake_kubectl.configure(rules=[{"match": ["pod/trigger"], "sigint_parent": True, "delay": 5}])
    loaded = write_scenario(
        tmp_path,
        """
        name: demo
        steps:
          - name: interrupted
            assert: {object: pod/trigger, checks: [{path: metadata.name, exists: true}]}
        """,
    )
    recorder = Recorder()
    options = engine.RunOptions(run_id="r1", artifacts=tmp_path / "a", kubectl=fake_kubectl.path)
    with pytest.raises(KeyboardInterrupt):
        engine.run_one(loaded, cluster, options, [recorder])
    (step,) = recorder.of(events.StepFinished)
    assert (step.verdict, step.message) == ("error", "interrupted by Ctrl-C")
    (finished,) = recorder.of(events.ScenarioFinished)
    assert (finished.verdict, finished.message, finished.failed_step) == (
        "error",
        "interrupted by Ctrl-C",
        "interrupted",
    )
    assert recorder.of(events.CleanupFinished)[0].removed == [f"namespace {NS}"]
    assert (tmp_path / "a" / "demo-r1" / "events.txt").exists(), "artifacts after Ctrl-C too"


def test_keep_deletes_nothing_and_prints_exact_commands(
    run_scenario: Runner, fake_kubectl: FakeKubectl, cluster: ClusterInfo
) -> None:
    result, recorder = run_scenario(PASSING, keep=True)
    assert result.verdict == "passed"
    assert not any(c[:1] == ["delete"] or "delete" in c[2:3] for c in fake_kubectl.commands())
    assert f"|Namespace|{NS}" in fake_kubectl.objects()
    (cleanup,) = recorder.of(events.CleanupFinished)
    assert cleanup.kept and cleanup.removed == []
    kubeconfig = cluster.kubeconfig
    assert cleanup.hint == (
        "kept for inspection; remove with:\n"
        f"  {fake_kubectl.path} --kubeconfig {kubeconfig} delete namespace {NS} --ignore-not-found"
    )


def test_namespace_that_does_not_go_is_a_reported_problem(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.configure(sticky_namespaces=True)
    result, recorder = run_scenario(PASSING, cleanup_timeout=1.0)
    (cleanup,) = recorder.of(events.CleanupFinished)
    assert cleanup.removed == []
    assert cleanup.problems == [
        f"namespace {NS}: timed out after 1s waiting for namespace {NS} to be deleted; last seen: phase Terminating"
    ]
    assert result.verdict == "error"
    assert result.message == "cleanup failed: " + cleanup.problems[0]


def test_failed_delete_is_never_ignored(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    forbidden = 'Error from server (Forbidden): namespaces "x" is forbidden: User cannot delete\n'
    fake_kubectl.configure(rules=[{"match": ["delete", "namespace"], "exit": 1, "stderr": forbidden}])
    result, recorder = run_scenario(PASSING)
    (cleanup,) = recorder.of(events.CleanupFinished)
    assert len(cleanup.problems) == 1
    assert cleanup.problems[0].startswith(f"namespace {NS}: delete failed: `")
    assert cleanup.problems[0].endswith("exited with 1: " + forbidden.strip())
    assert result.verdict == "error"


def test_existing_namespace_is_an_error_and_is_not_deleted(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    exists = f'Error from server (AlreadyExists): namespaces "{NS}" already exists\n'
    fake_kubectl.configure(rules=[{"match": ["create"], "exit": 1, "stderr": exists}])
    result, recorder = run_scenario(PASSING)
    assert result.verdict == "error"
    assert result.message.startswith(f"cannot create namespace {NS}: ")
    assert result.message.endswith(exists.strip())
    assert not any("delete" in c for c in fake_kubectl.commands())
    assert recorder.of(events.CleanupFinished)[0].removed == []


def test_unmet_requirements_skip_without_touching_the_cluster(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    result, recorder = run_scenario(PASSING.replace("vars:", "requires: {kubernetes: '>=1.99', nodes: 1}\n    vars:"))
    assert (result.verdict, result.message) == ("skipped", "needs Kubernetes >=1.99, the cluster runs 1.34")
    assert not (fake_kubectl.state / "calls.jsonl").exists()
    assert [type(e).__name__ for e in recorder.events] == ["ScenarioStarted", "ScenarioFinished"]


def test_events_step_filters_by_selector_and_message(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    event = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "app"},
        "reason": "BackOff",
        "type": "Warning",
        "message": "Back-off restarting failed container app",
    }
    fake_kubectl.configure(events=[event])
    result, _ = run_scenario(
        """
        name: demo
        steps:
          - name: backoff-event
            events: {object: pod/app, reason: BackOff, type: Warning, message: 'restarting failed container'}
          - name: no-oom
            events: {object: pod/app, reason: OOMKilling, absent: true}
          - name: missing
            events: {object: pod/app, reason: Pulled}
        """
    )
    assert result.verdict == "failed"
    assert result.failed_step == "missing"
    assert result.message.endswith("no event about pod/app with reason 'Pulled'; events about it: none")
    selectors = [c[c.index("--field-selector") + 1] for c in fake_kubectl.commands() if "--field-selector" in c]
    assert selectors == [
        "involvedObject.kind=Pod,involvedObject.name=app,reason=BackOff,type=Warning",
        "involvedObject.kind=Pod,involvedObject.name=app,reason=OOMKilling",
        "involvedObject.kind=Pod,involvedObject.name=app,reason=Pulled",
    ]


def test_node_debugger_pods_are_tracked_and_removed_even_in_other_namespaces(
    run_scenario: Runner, fake_kubectl: FakeKubectl
) -> None:
    result, recorder = run_scenario(
        """
        name: demo
        steps:
          - name: node-debug-here
            debug: {mode: node, node: "${node}", image: "busybox:1.36", command: ["true"]}
            expect:
              stdout: {regex: 'Creating debugging pod node-debugger-kdbg-worker-\\w{5} with container'}
          - name: node-debug-elsewhere
            kubectl: {args: [debug, "node/${node}", --image=busybox:1.36, -n, default]}
        """
    )
    assert result.verdict == "passed", result.message
    (cleanup,) = recorder.of(events.CleanupFinished)
    assert len(cleanup.removed) == 2 and cleanup.problems == []
    elsewhere, namespace = cleanup.removed
    assert elsewhere.startswith("pod default/node-debugger-kdbg-worker-")
    assert namespace == f"namespace {NS}"
    pod_name = elsewhere.split("/", 1)[1]
    delete = ["delete", "pod", pod_name, "--ignore-not-found", "--wait=false", "--grace-period=1"]
    commands = fake_kubectl.commands()
    assert ["-n", "default", *delete] in commands
    # The one in the run's namespace goes with it, but is ended first with the same short grace period.
    here = [c for c in commands if c[:4] == ["-n", NS, "delete", "pod"] and c[5:] == delete[3:]]
    assert here and all(c[4].startswith("node-debugger-kdbg-worker-") for c in here)
    ns_delete = ["delete", "namespace", NS, "--ignore-not-found", "--wait=false"]
    assert max(commands.index(c) for c in here) < commands.index(ns_delete)
    assert not [k for k in fake_kubectl.objects() if "node-debugger" in k], "kubectl never deletes them; we do"


def test_node_debugger_pods_from_before_the_run_are_left_alone(
    run_scenario: Runner, fake_kubectl: FakeKubectl, cluster: ClusterInfo
) -> None:
    from kdbgtest.base import process

    process.run([str(fake_kubectl.path), "-n", "default", "debug", "node/kdbg-worker", "--image=busybox"], timeout=30)
    before = [k for k in fake_kubectl.objects() if "node-debugger" in k]
    result, recorder = run_scenario(PASSING)
    assert result.verdict == "passed"
    assert recorder.of(events.CleanupFinished)[0].removed == [f"namespace {NS}"]
    assert [k for k in fake_kubectl.objects() if "node-debugger" in k] == before


class _BrokenDriver:
    """Stands in for a driver with a bug: the engine must still clean up, then let the bug through."""

    def kubectl(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    def close(self) -> None:
        pass


def test_a_kdbgtest_bug_still_cleans_up_then_propagates(
    fake_kubectl: FakeKubectl, cluster: ClusterInfo, tmp_path: Path
) -> None:
    loaded = write_scenario(tmp_path, "name: demo\nsteps:\n  - name: get\n    kubectl: {args: [get, pods]}\n")
    recorder = Recorder()
    options = engine.RunOptions(run_id="r1", artifacts=tmp_path / "a", kubectl=fake_kubectl.path)
    with pytest.raises(RuntimeError, match="boom"):
        engine.run_one(loaded, cluster, options, [recorder], driver_factory=lambda *_: _BrokenDriver())  # type: ignore[arg-type,return-value]
    (finished,) = recorder.of(events.ScenarioFinished)
    assert finished.verdict == "error"
    assert finished.message == "kdbgtest bug: RuntimeError: boom"
    assert recorder.of(events.CleanupFinished)[0].removed == [f"namespace {NS}"]


def test_a_step_may_choose_its_own_driver(fake_kubectl: FakeKubectl, cluster: ClusterInfo, tmp_path: Path) -> None:
    from kdbgtest.base.errors import KdbgtestError
    from kdbgtest.debug import kubectl_driver

    asked: list[str] = []

    def factory(client: Any, out: Path, name: str) -> Any:
        asked.append(name)
        if name != "kubectl":
            raise KdbgtestError(f"no {name} driver in this test")
        return kubectl_driver.KubectlDriver(client.path, client.kubeconfig, client.context, out)

    text = """
        name: demo
        steps:
          - name: default-driver
            kubectl: {args: [get, pods]}
          - name: via-api
            debug: {mode: ephemeral, pod: app, image: "busybox:1.36", driver: api}
        """
    loaded = write_scenario(tmp_path, text)
    options = engine.RunOptions(run_id="r1", artifacts=tmp_path / "a", kubectl=fake_kubectl.path)
    result = engine.run_one(loaded, cluster, options, [Recorder()], driver_factory=factory)
    assert asked == ["kubectl", "api"]
    assert result.verdict == "failed"
    assert result.message.endswith("step 2 'via-api': no api driver in this test")


def test_fixture_defaults_get_variables_substituted(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    result, _ = run_scenario(
        """
        name: demo
        fixtures:
          - fixture: node-issue
        steps:
          - name: planted
            assert: {object: pod/node-issue, checks: [{path: spec.nodeName, equals: "${node}"}]}
        """
    )
    assert result.verdict == "passed", result.message
    applied = next(r["stdin"] for r in fake_kubectl.records() if r["argv"][-5:] == ["-n", NS, "create", "-f", "-"])
    pod = yaml.safe_load(applied)
    assert pod["spec"]["nodeName"] == "kdbg-worker"
    assert "/host/var/log/kdbgtest-runaway-r1/fill.log" in pod["spec"]["initContainers"][0]["command"][2]
    assert "${" not in applied


def test_ctrl_c_while_creating_the_namespace_still_removes_it(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    # kubectl has created the namespace (the API call went through) when Ctrl-C arrives.
    fake_kubectl.configure(rules=[{"match": ["create"], "sigint_parent": True, "delay": 5, "exit": 1}])
    (fake_kubectl.state / "state.json").write_text(
        '{"objects": {"|Namespace|kdbg-demo-r1": {"kind": "Namespace", "metadata": {"name": "kdbg-demo-r1",'
        ' "labels": {"kdbgtest.io/run-id": "r1"}}, "status": {"phase": "Active"}}}}'
    )
    with pytest.raises(KeyboardInterrupt):
        run_scenario(PASSING)
    assert ["delete", "namespace", NS, "--ignore-not-found", "--wait=false"] in fake_kubectl.commands()
    assert f"|Namespace|{NS}" not in fake_kubectl.objects()


def test_someone_elses_namespace_with_our_name_is_never_deleted(
    run_scenario: Runner, fake_kubectl: FakeKubectl
) -> None:
    exists = f'Error from server (AlreadyExists): namespaces "{NS}" already exists\n'
    fake_kubectl.configure(rules=[{"match": ["create"], "exit": 1, "stderr": exists}])
    (fake_kubectl.state / "state.json").write_text(
        '{"objects": {"|Namespace|kdbg-demo-r1": {"kind": "Namespace", "metadata": {"name": "kdbg-demo-r1",'
        ' "labels": {"kdbgtest.io/run-id": "other"}}, "status": {"phase": "Active"}}}}'
    )
    result, _ = run_scenario(PASSING)
    assert result.verdict == "error"
    assert not any("delete" in c for c in fake_kubectl.commands())
    assert f"|Namespace|{NS}" in fake_kubectl.objects()


def test_ctrl_c_during_cleanup_is_deferred_until_cleanup_is_done(
    run_scenario: Runner, fake_kubectl: FakeKubectl
) -> None:
    rule = {"match": ["delete", "namespace"], "sigint_parent": True, "delay": 0.5, "continue": True}
    fake_kubectl.configure(rules=[rule])
    with pytest.raises(KeyboardInterrupt):
        run_scenario(PASSING)
    assert f"|Namespace|{NS}" not in fake_kubectl.objects()
    # the namespace delete finished, and its wait ran to the end, before the interrupt was passed on
    assert fake_kubectl.commands()[-1] == ["get", f"namespace/{NS}", "-o", "json", "--ignore-not-found"]
