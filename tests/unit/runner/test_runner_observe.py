"""`StepFinished.observed`: the API objects a debug step produced, kept to compare clusters."""

from __future__ import annotations

from kdbg_fakes import FakeKubectl, Runner

from kdbgtest.runner import events, observe

POD = {
    "metadata": {"name": "node-debugger-w-x7k2p"},
    "spec": {
        "hostPID": True,
        "nodeName": "w",
        "containers": [{"name": "debugger", "image": "busybox", "securityContext": {"privileged": True}}],
        "dnsPolicy": "ClusterFirst",
    },
}


def test_facts_pick_the_named_container_and_only_pod_level_debug_settings() -> None:
    found = observe.facts(POD, "debugger")
    assert found == {
        "pod": "node-debugger-w-x7k2p",
        "container_field": "containers",
        "container": {"name": "debugger", "image": "busybox", "securityContext": {"privileged": True}},
        "pod_spec": {"hostPID": True, "nodeName": "w"},
    }
    assert observe.facts(POD, "other") is None


def test_debug_steps_record_the_container_the_server_stored(run_scenario: Runner, fake_kubectl: FakeKubectl) -> None:
    result, recorder = run_scenario(
        """
        name: demo
        fixtures:
          - fixture: sleeper
        steps:
          - name: named
            debug: {mode: ephemeral, pod: app, image: "busybox:1.36", container: dbg}
          - name: generated-name
            debug: {mode: ephemeral, pod: app, image: "busybox:1.36"}
          - name: node
            debug: {mode: node, node: "${node}", image: "busybox:1.36", command: ["true"]}
          - name: not-a-debug-step
            kubectl: {args: [get, pod, app]}
        """
    )
    assert result.verdict == "passed", result.message
    named, generated, node, other = recorder.of(events.StepFinished)
    assert named.observed is not None
    assert named.observed["container"] == {"name": "dbg", "image": "busybox:1.36"}
    assert named.observed["container_field"] == "ephemeralContainers" and named.observed["pod"] == "app"
    assert generated.observed is not None
    assert generated.observed["container"]["name"].startswith("debugger-")
    assert node.observed is not None and node.observed["pod"].startswith("node-debugger-kdbg-worker-")
    assert node.observed["pod_spec"] == {"nodeName": "kdbg-worker"}
    assert other.observed is None


def test_a_debug_step_that_made_nothing_records_nothing(run_scenario: Runner) -> None:
    result, recorder = run_scenario(
        """
        name: demo
        steps:
          - name: no-such-pod
            debug: {mode: ephemeral, pod: ghost, image: "busybox:1.36", container: dbg}
            expect: {exit_code: 1}
        """
    )
    assert result.verdict == "passed", result.message
    (step,) = recorder.of(events.StepFinished)
    assert step.observed is None
