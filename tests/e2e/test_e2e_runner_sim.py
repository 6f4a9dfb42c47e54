"""The runner end to end on the offline cluster: real kubectl, real pods, real artifacts and real cleanup.

The cluster is described by the real kubeconfig provider (the same probes as for any existing cluster).
"""

from __future__ import annotations

import json
import shlex
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import suite_support as support

from kdbgtest.base import process, tools
from kdbgtest.cluster import base, kubeconfig
from kdbgtest.runner import engine, events
from kdbgtest.scenario import loader
from kdbgtest.sim import testing

pytestmark = pytest.mark.sim
pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[base.ClusterInfo]:
    with testing.sim_cluster(tmp_path_factory, name=f"run-{uuid.uuid4().hex[:6]}", nodes=2) as handle:
        yield kubeconfig.KubeconfigProvider(handle.kubeconfig).acquire()


def test_a_sim_reached_by_kubeconfig_offers_the_toolbox_its_nodes_hold(cluster: base.ClusterInfo) -> None:
    """The sim's nodes list the built archives in status.images as a kubelet would, so the kubeconfig
    provider (which knows nothing of the sim) offers toolbox-image exactly when the toolbox is built."""
    from kdbgtest.imagebuild import build as image_build

    built = "toolbox" not in image_build.missing()
    assert (base.TOOLBOX_IMAGE in cluster.capabilities) == built, (built, sorted(cluster.capabilities))


def kubectl(cluster: base.ClusterInfo, *args: str, check: bool = True) -> process.Completed:
    argv = [str(tools.pinned_kubectl()), f"--kubeconfig={cluster.kubeconfig}", *args]
    return process.run(argv, timeout=60, check=check)


def run(
    cluster: base.ClusterInfo, tmp_path: Path, text: str, **options: object
) -> tuple[events.ScenarioFinished, support.Recorder]:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    recorder = support.Recorder()
    settings = engine.RunOptions(artifacts=tmp_path / "art", **options)  # type: ignore[arg-type]
    return engine.run_one(loader.load_file(path), cluster, settings, [recorder]), recorder


def test_failure_collects_real_artifacts_and_removes_the_namespace(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    result, recorder = run(
        cluster,
        tmp_path,
        """
        name: artifacts
        fixtures:
          - fixture: sleeper
        steps:
          - name: debugger-prints
            debug:
              mode: ephemeral
              pod: app
              image: "busybox:1.36"
              container: dbg
              command: [sh, -c, "echo from-debugger"]
          - name: debugger-done
            wait: {pod: app, for: container-terminated, container: dbg, timeout: 30}
          - name: exec-fails
            exec: {pod: app, command: [sh, -c, "echo about to fail; exit 3"]}
        """,
    )
    assert (result.verdict, result.failed_step) == ("failed", "exec-fails"), result.message
    assert "exit code 3, expected 0" in result.message and "about to fail" in result.message
    out = result.artifacts
    assert out is not None
    assert "Name:" in (out / "app.describe.txt").read_text()
    assert "ephemeralContainers" in (out / "app.yaml").read_text()
    statuses = json.loads((out / "app.ephemeral-statuses.json").read_text())
    assert [s["name"] for s in statuses] == ["dbg"] and "terminated" in statuses[0]["state"]
    assert (out / "app.dbg.log").read_text() == "from-debugger\n"
    assert (out / "app.app.previous.log").read_text().startswith("\n# kubectl logs app -c app --previous exited")
    assert "Scheduled" in (out / "events.txt").read_text() or "Started" in (out / "events.txt").read_text()
    namespace = recorder.of(events.ScenarioStarted)[0].namespace
    assert recorder.of(events.CleanupFinished)[0].removed == [f"namespace {namespace}"]
    gone = kubectl(cluster, "get", "namespace", namespace, check=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr


def test_node_debugger_pod_in_another_namespace_is_removed(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    result, recorder = run(
        cluster,
        tmp_path,
        """
        name: node-pods
        steps:
          - name: node-debug-in-default
            kubectl:
              args: [debug, "node/${node}", --image=busybox:1.36, -n, default, --, "true"]
            expect:
              stdout: {regex: 'Creating debugging pod (?P<leftover>node-debugger-\\S+) with'}
        """,
    )
    assert result.verdict == "passed", result.message
    (cleanup,) = recorder.of(events.CleanupFinished)
    assert cleanup.problems == []
    assert cleanup.removed[0].startswith("pod default/node-debugger-")
    selector = "app.kubernetes.io/managed-by=kubectl-debug"
    left = kubectl(cluster, "get", "pods", "-n", "default", "-l", selector, "-o", "name")
    assert left.stdout.strip() == ""


class Bystander(support.Recorder):
    """Someone else on the shared cluster: runs `kubectl debug node/N -n NS` while the scenario's step runs."""

    def __init__(self, cluster: base.ClusterInfo, namespace: str) -> None:
        super().__init__()
        self.cluster, self.namespace, self.pod = cluster, namespace, ""

    def handle(self, event: events.Event) -> None:
        super().handle(event)
        if isinstance(event, events.StepStarted) and event.step == "meanwhile":
            node = self.cluster.nodes[0]
            made = kubectl(self.cluster, "debug", f"node/{node}", "--image=busybox:1.36", "-n", self.namespace,
                           "--", "true")  # fmt: skip
            self.pod = made.stdout.split("Creating debugging pod ")[1].split()[0]


def test_a_node_debugger_pod_someone_else_makes_meanwhile_is_left_alone(
    cluster: base.ClusterInfo, tmp_path: Path
) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("name: bystander\nsteps:\n  - name: meanwhile\n    kubectl: {args: [get, pods]}\n")
    bystander = Bystander(cluster, "default")
    try:
        result = engine.run_one(
            loader.load_file(path), cluster, engine.RunOptions(artifacts=tmp_path / "art"), [bystander]
        )
        assert result.verdict == "passed", result.message
        assert bystander.pod.startswith("node-debugger-")
        (cleanup,) = bystander.of(events.CleanupFinished)
        assert [item for item in cleanup.removed if bystander.pod in item] == []
        assert kubectl(cluster, "get", "pod", bystander.pod, "-n", "default", "-o", "name").stdout.strip() == (
            f"pod/{bystander.pod}"
        )
    finally:
        if bystander.pod:
            kubectl(cluster, "delete", "pod", bystander.pod, "-n", "default", "--ignore-not-found", "--wait=false")


def test_keep_leaves_everything_and_the_printed_commands_remove_it(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    result, recorder = run(
        cluster,
        tmp_path,
        """
        name: kept
        fixtures:
          - fixture: sleeper
        steps:
          - name: running
            assert: {object: pod/app, checks: [{path: status.phase, equals: Running}]}
        """,
        keep=True,
    )
    assert result.verdict == "passed", result.message
    namespace = recorder.of(events.ScenarioStarted)[0].namespace
    assert kubectl(cluster, "get", "pod", "app", "-n", namespace, "-o", "name").stdout.strip() == "pod/app"
    (cleanup,) = recorder.of(events.CleanupFinished)
    commands = [line.strip() for line in cleanup.hint.splitlines()[1:]]
    assert len(commands) == 1
    process.run(shlex.split(commands[0]), timeout=60)
    done = kubectl(cluster, "wait", "--for=delete", f"namespace/{namespace}", "--timeout=60s", check=False)
    assert done.returncode == 0 or "NotFound" in done.stderr


def test_pytest_plugin_runs_a_scenario_on_a_session_sim(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, plugin_args: list[str]
) -> None:
    from kdbgtest.sim.config import DEFAULT_STATE_ROOT

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", str(repo))
    source = repo / "scenarios" / "node" / "host-namespaces.yaml"
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / source.name).write_text(source.read_text())
    pytester.makeconftest(
        """
        import pytest
        from kdbgtest.pytest_plugin import session

        @pytest.hookimpl(tryfirst=True)  # before the plugin releases the cluster
        def pytest_unconfigure(config):
            cluster = session.state(config).cluster
            with open("cluster-name.txt", "w") as out:
                out.write(cluster.name if cluster else "")
        """
    )
    result = pytester.runpytest_subprocess(
        *plugin_args, "--kdbgtest-cluster=sim", f"--kdbgtest-artifacts={pytester.path}/a"
    )
    result.assert_outcomes(passed=1)
    name = (pytester.path / "cluster-name.txt").read_text()
    assert name.startswith("kdbgtest-")
    assert not (DEFAULT_STATE_ROOT / name).exists(), f"the session's sim cluster {name} was not removed"


def test_pytest_xdist_runs_the_scenarios_on_one_cluster_with_serial_ones_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, plugin_args: list[str]
) -> None:
    """`pytest -n 2 scenarios/`: one item per scenario, every one passing, all on the one sim the controller
    started (and removed); the scenario marked `serial: true` overlaps no other."""
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (it is in the dev extras)")
    from kdbgtest.sim.config import DEFAULT_STATE_ROOT

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", str(repo))
    (pytester.path / "scenarios").mkdir()
    chosen = ["copy/same-node.yaml", "ephemeral/named-debugger.yaml", "ephemeral/auto-named-debugger.yaml"]
    for relative in chosen:
        source = repo / "scenarios" / relative
        (pytester.path / "scenarios" / source.name).write_text(source.read_text())
    alone = (repo / "scenarios" / "node" / "leftover-debugger-pod.yaml").read_text()
    alone = alone.replace("\nname: node-leftover-pod\n", "\nname: node-leftover-pod-alone\nserial: true\n")
    assert "serial: true" in alone
    (pytester.path / "scenarios" / "alone.yaml").write_text(alone)
    pytester.makeconftest(
        """
        import json, os, time
        import pytest
        from kdbgtest.pytest_plugin import session
        from kdbgtest.runner import events

        class Spans:  # when each scenario really ran (not counting a wait for the serial lock)
            def __init__(self, config):
                self.config, self.begun = config, {}

            def handle(self, event):
                if isinstance(event, events.ScenarioStarted):
                    self.begun[event.scenario] = time.time()
                elif isinstance(event, events.ScenarioFinished):
                    cluster = session.state(self.config).cluster
                    span = [event.scenario, self.begun[event.scenario], time.time(), cluster.name, os.getpid()]
                    with open("spans.jsonl", "a") as out:
                        out.write(json.dumps(span) + "\\n")

            def close(self):
                pass

        @pytest.hookimpl(trylast=True)
        def pytest_configure(config):
            session.reporters(config).append(Spans(config))

        @pytest.hookimpl(tryfirst=True)  # before the plugin releases the cluster
        def pytest_unconfigure(config):
            if not hasattr(config, "workerinput"):
                cluster = session.state(config).cluster
                with open("cluster-name.txt", "w") as out:
                    out.write(cluster.name if cluster else "")
        """
    )
    result = pytester.runpytest_subprocess(
        *plugin_args, "-n", "2", "-v", "--kdbgtest-cluster=sim", f"--kdbgtest-artifacts={pytester.path}/a", "scenarios"
    )
    result.assert_outcomes(passed=4)
    name = (pytester.path / "cluster-name.txt").read_text()
    assert name.startswith("kdbgtest-")
    spans = [json.loads(line) for line in (pytester.path / "spans.jsonl").read_text().splitlines()]
    assert sorted(s[0] for s in spans) == sorted(
        ["copy-same-node", "ephemeral-named", "ephemeral-auto-named", "node-leftover-pod-alone"]
    )
    assert {s[3] for s in spans} == {name}, "every worker ran on the controller's cluster"
    assert len({s[4] for s in spans}) == 2, "both workers ran scenarios"
    serial = next(s for s in spans if s[0] == "node-leftover-pod-alone")
    overlapping = [s[0] for s in spans if s is not serial and s[1] < serial[2] and s[2] > serial[1]]
    assert overlapping == [], f"the serial scenario ran together with {overlapping}"
    assert not (DEFAULT_STATE_ROOT / name).exists(), f"the session's sim cluster {name} was not removed"
    assert not [p for p in DEFAULT_STATE_ROOT.glob("kdbgtest-*") if p.name != name and p.stat().st_mtime > spans[0][1]]


def test_what_a_new_author_needs_holds_on_the_offline_cluster(cluster: base.ClusterInfo, tmp_path: Path) -> None:
    """Issue 11 on a real API server: a sim reached by kubeconfig says what it is; fixtures carry no
    last-applied annotation; a refused create is an expected result; `during` holds for an exited ephemeral
    container that is never restarted, and fails at the first poll where a restarting container is not running."""
    assert "offline kdbgtest cluster" in cluster.server and cluster.server_version in cluster.server
    assert cluster.kind == "kubeconfig" and cluster.name != "kubeconfig"
    result, _ = run(
        cluster,
        tmp_path,
        """
        name: authoring
        fixtures:
          - fixture: sleeper
        steps:
          - name: no-last-applied
            assert:
              object: pod/app
              checks:
                - {path: "metadata.annotations.\\"kubectl.kubernetes.io/last-applied-configuration\\"", exists: false}
          - name: create-twice
            apply:
              manifest:
                apiVersion: v1
                kind: Pod
                metadata: {name: app}
                spec: {containers: [{name: c, image: "busybox:1.36"}]}
            expect: {exit_code: 1, stderr: {contains: 'pods "app" already exists'}}
          - name: debugger-exits
            debug: {mode: ephemeral, pod: app, image: "busybox:1.36", container: dbg, command: ["true"]}
          - name: debugger-done
            wait: {pod: app, for: container-terminated, container: dbg, timeout: 30}
          - name: never-restarted
            assert:
              object: pod/app
              during: 3
              checks:
                - {path: "status.ephemeralContainerStatuses[?name=='dbg'] | [0].state.terminated.exitCode", equals: 0}
                - {path: "status.ephemeralContainerStatuses[?name=='dbg'] | [0].restartCount", equals: 0}
        """,
    )
    assert result.verdict == "passed", result.message
    started = time.monotonic()
    (tmp_path / "second").mkdir()
    result, _ = run(
        cluster,
        tmp_path / "second",
        """
        name: authoring-restarts
        fixtures:
          - fixture: sleeper
            params: {script: "sleep 1"}
        steps:
          - name: keeps-running
            assert:
              object: pod/app
              during: 20
              checks: [{path: "status.containerStatuses[0].state.running", exists: true}]
        """,
    )
    assert (result.verdict, result.failed_step) == ("failed", "keeps-running"), result.message
    assert "the checks on pod/app stopped holding after" in result.message
    assert "state.running does not exist (null), expected a value" in result.message
    assert time.monotonic() - started < 20


def test_the_harness_objects_go_through_the_keep_alive_client(cluster: base.ClusterInfo) -> None:
    """The run's namespace is created and deleted, and a pod deleted, over the client's connection, with
    kubectl's words for a refusal; the sim serves no service accounts, so none is awaited."""
    from kdbgtest.base.errors import ClusterError
    from kdbgtest.runner import kube, namespace

    client = kube.Kubectl(tools.pinned_kubectl(), cluster.kubeconfig, cluster.context).with_reader()
    assert client.reader is not None
    name = f"kdbg-harness-{uuid.uuid4().hex[:6]}"
    try:
        with process.counting() as started:
            assert not client.reader.serves("serviceaccounts") and client.reader.serves("pods")
            namespace.create(client, name, "harness", "r1")
            with pytest.raises(ClusterError, match=rf'Error from server \(AlreadyExists\): namespaces "{name}"'):
                namespace.create(client, name, "harness", "r1")
            assert namespace.is_ours(client, name, "r1")
            client.delete("pod/none-such", namespace=name, grace=1)  # not there: nothing to do
            assert namespace.delete(client, name, timeout=60) is None
        assert started == {}, "no kubectl process for the harness's own objects"
        assert kubectl(cluster, "get", "namespace", name, "--ignore-not-found").stdout == ""
    finally:
        kubectl(cluster, "delete", "namespace", name, "--ignore-not-found", "--wait=false")
        client.close()
