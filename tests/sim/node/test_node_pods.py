"""The node agent runs real runc containers: statuses, restarts, deletion (`@pytest.mark.sim`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import node_harness
import pytest
from node_harness import Harness, busybox, collect, container_status, spawn, until

from kdbgtest.sim.contracts import LogsUnavailable
from kdbgtest.sim.node import cleanup

pytestmark = pytest.mark.sim


def test_pod_goes_pending_to_running_with_kubelet_statuses(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        start = time.monotonic()
        h.state.create_pod("web", {"containers": [busybox("app", "sleep", "3600")]})
        await until(lambda: container_status(h.state.pod("web"), "app").get("state", {}).get("running"), "running")
        took = time.monotonic() - start
        print(f"\nbusybox pod Running {took * 1000:.0f} ms after create")
        phases = [s["status"]["phase"] for s in h.state.history if s["name"] == "web"]
        assert phases[0] == "Pending" and phases[-1] == "Running"
        first = h.state.history[0]["status"]["containerStatuses"][0]
        assert first["state"] == {"waiting": {"reason": "ContainerCreating"}} and first["ready"] is False
        pod = h.state.pod("web")
        assert pod is not None
        status = pod["status"]
        st = container_status(pod, "app")
        assert st["containerID"].startswith("containerd://") and len(st["containerID"]) == len("containerd://") + 64
        assert st["image"] == "docker.io/library/busybox:1.36"
        assert st["imageID"].startswith("docker.io/library/busybox@sha256:")
        assert (st["ready"], st["started"], st["restartCount"], st["lastState"]) == (True, True, 0, {})
        conditions = {c["type"]: c["status"] for c in status["conditions"]}
        assert conditions == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                              "ContainersReady": "True", "PodScheduled": "True"}  # fmt: skip
        assert status["podIP"].startswith("10.244.") and status["hostIP"] == "172.18.0.3"
        assert status["qosClass"] == "BestEffort" and status["startTime"].endswith("Z")
        assert h.state.reasons("web")[:4] == ["Pulling", "Pulled", "Created", "Started"]
        assert {e.field_path for e in h.state.events if e.pod == "web"} == {"spec.containers{app}"}
        node = h.state.nodes["kdbg-worker"]
        ready = next(c for c in node["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
        assert node["nodeInfo"]["kubeletVersion"] == "v1.34.0"

    run_node(scenario)


def _waiting(h: Harness, pod: str, name: str) -> dict[str, Any]:
    return dict(container_status(h.state.pod(pod), name).get("state", {}).get("waiting") or {})


def test_crash_loop_backs_off_with_growing_delays_and_keeps_previous_logs(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("crash", {"containers": [busybox("app", "sh", "-c", "echo boom $$; exit 1")]})
        st = await until(
            lambda: (s := container_status(h.state.pod("crash"), "app")).get("restartCount", 0) >= 3
            and s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff" and s,
            "restartCount >= 3 in CrashLoopBackOff", timeout=30,
        )  # fmt: skip
        assert st["lastState"]["terminated"]["exitCode"] == 1
        assert st["lastState"]["terminated"]["reason"] == "Error"
        pod = h.state.pod("crash")
        assert pod is not None and pod["status"]["phase"] == "Running"
        ref = f"crash_default({pod['metadata']['uid']})"
        messages = [
            s["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("message", "") for s in h.state.history
        ]
        delays = [m.split()[1] for m in dict.fromkeys(messages) if m.startswith("back-off")]
        assert delays[:2] == ["10s", "20s"]
        assert f"back-off 10s restarting failed container=app pod={ref}" in messages
        backoffs = [e for e in h.state.events if e.reason == "BackOff"]
        assert backoffs[0].type == "Warning"
        assert backoffs[0].message == f"Back-off restarting failed container app in pod {ref}"
        previous = b"".join([c async for c in h.node.logs("default", "crash", "app", previous=True)])
        assert previous.startswith(b"boom ") and previous.endswith(b"\n")
        log_dir = h.node.sandbox.root / "var/log/pods" / f"default_crash_{pod['metadata']['uid']}" / "app"
        assert len(list(log_dir.iterdir())) <= 2  # the current and the previous instance, as after container GC

    run_node(scenario, time_scale=0.02)


def test_restart_never_fails_the_pod_and_logs_say_why(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod(
            "once",
            {"restartPolicy": "Never", "containers": [busybox("app", "sh", "-c", "exit 3")]},
        )
        await until(lambda: (h.state.pod("once") or {})["status"].get("phase") == "Failed", "phase Failed")
        st = container_status(h.state.pod("once"), "app")
        term = st["state"]["terminated"]
        assert (term["exitCode"], term["reason"], st["restartCount"]) == (3, "Error", 0)
        assert term["containerID"] == st["containerID"]
        with pytest.raises(LogsUnavailable, match='previous terminated container "app" in pod "once" not found'):
            await collect(h.node.logs("default", "once", "app", previous=True))
        with pytest.raises(LogsUnavailable, match='container "nope" in pod "once" is not available'):
            await collect(h.node.logs("default", "once", "nope"))

        def sandbox_ready() -> str:
            conditions = {c["type"]: c for c in (h.state.pod("once") or {})["status"]["conditions"]}
            return str(conditions["PodReadyToStartContainers"]["status"])

        await until(lambda: sandbox_ready() == "False", "the sandbox of a finished pod removed")

    run_node(scenario)


def test_unknown_image_is_err_image_pull_then_image_pull_back_off(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        image = "registry.example.invalid/nope:1.0"
        h.state.create_pod("img", {"containers": [{"name": "app", "image": image}]})
        first = await until(lambda: _waiting(h, "img", "app").get("reason") == "ErrImagePull" and
                            _waiting(h, "img", "app"), "ErrImagePull")  # fmt: skip
        assert first["message"].startswith("rpc error: code = Unknown desc = failed to pull and unpack image")
        back = await until(lambda: _waiting(h, "img", "app").get("reason") == "ImagePullBackOff" and
                           _waiting(h, "img", "app"), "ImagePullBackOff")  # fmt: skip
        assert back["message"] == f'Back-off pulling image "{image}": ErrImagePull: {first["message"]}'
        with pytest.raises(LogsUnavailable, match="is waiting to start: trying and failing to pull image"):
            await collect(h.node.logs("default", "img", "app"))
        reasons = h.state.reasons("img")
        assert reasons[:3] == ["Pulling", "Failed", "Failed"] and "BackOff" in reasons
        assert (h.state.pod("img") or {})["status"]["phase"] == "Pending"

    run_node(scenario, time_scale=0.2)  # ErrImagePull shows for 0.2 s, then ImagePullBackOff for 1.8 s


def test_deletion_sends_sigterm_then_sigkill_after_grace_and_removes_the_pod(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        trap = "trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done"
        h.state.create_pod("polite", {"containers": [busybox("app", "sh", "-c", trap)]})
        h.state.create_pod("stubborn", {"containers": [busybox("app", "sleep", "3600")]})
        for name in ("polite", "stubborn"):
            await until(lambda n=name: container_status(h.state.pod(n), "app").get("ready"), f"{name} ready")
        start = time.monotonic()
        h.state.delete_pod("polite", grace=30)
        h.state.delete_pod("stubborn", grace=1)
        await until(lambda: "polite" in h.state.finished, "polite removed")
        polite = time.monotonic() - start
        await until(lambda: "stubborn" in h.state.finished, "stubborn removed")
        stubborn = time.monotonic() - start
        assert polite < 1.5, polite  # exited on SIGTERM, long before its 30s grace
        assert 1.9 < stubborn < 4, stubborn  # PID 1 ignores SIGTERM: SIGKILL after the 2s minimum grace
        assert "Killing" in h.state.reasons("stubborn")
        finals = {s["name"]: s["status"]["phase"] for s in h.state.history}  # the last status written
        assert finals == {"polite": "Succeeded", "stubborn": "Failed"}
        assert not list((h.node.sandbox.dir / "pods").iterdir())
        for logs in ("var/log/pods", "var/log/containers"):
            assert not list((h.node.sandbox.root / logs).iterdir())

    run_node(scenario)


def test_a_container_that_exits_at_once_completes(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("quick", {"restartPolicy": "Never", "containers": [busybox("app", "echo", "done")]})
        await until(lambda: (h.state.pod("quick") or {})["status"].get("phase") == "Succeeded", "Succeeded")
        assert await collect(h.node.logs("default", "quick", "app")) == b"done\n"

    run_node(scenario)


def test_twenty_pods_leave_nothing_behind(run_node: Any, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    async def scenario(h: Harness) -> None:
        h.state.create_pod("warmup", {"containers": [busybox("app", "sleep", "3600")]})
        await until(lambda: container_status(h.state.pod("warmup"), "app").get("ready"), "warm-up pod ready")
        h.state.delete_pod("warmup", grace=0)
        await until(lambda: not h.state.pods, "warm-up pod removed")
        baseline = set(cleanup.leaks(state_dir))  # the node: its container, cgroup, bundle, mounts, runc view
        kinds = [
            [busybox("app", "sleep", "3600")],
            [busybox("app", "sh", "-c", "exit 1")],
            [busybox("app", "true")],
            [
                busybox("app", "sleep", "3600"),
                busybox("side", "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"),
            ],
        ]
        start = time.monotonic()
        for i in range(20):
            h.state.create_pod(f"p{i}", {"containers": kinds[i % 4], "terminationGracePeriodSeconds": 1})
        for i in range(0, 20, 4):
            await until(lambda i=i: container_status(h.state.pod(f"p{i}"), "app").get("ready"), f"p{i} ready")
            h.state.add_ephemeral(f"p{i}", {**busybox("dbg", "sleep", "3600"), "targetContainerName": "app"})
        await until(lambda: all(container_status(h.state.pod(f"p{i}"), "dbg").get("state", {}).get("running")
                                for i in range(0, 20, 4)), "debug containers running")  # fmt: skip
        print(f"\n20 pods started in {time.monotonic() - start:.2f}s")
        assert set(cleanup.leaks(state_dir)) > baseline  # the pods are real: they show up as leaks now
        for i in range(20):
            h.state.delete_pod(f"p{i}", grace=1)
        await until(lambda: not h.state.pods, "every pod removed", timeout=30)
        assert set(cleanup.leaks(state_dir)) == baseline

    run_node(scenario, time_scale=0.05)
    assert cleanup.leaks(state_dir) == []


def test_init_containers_run_in_order_before_the_app(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        vol = [{"name": "work", "mountPath": "/work"}]
        h.state.create_pod("ordered", {
            "volumes": [{"name": "work", "emptyDir": {}}],
            "initContainers": [
                busybox("one", "sh", "-c", "sleep 0.2; echo one >> /work/order", volumeMounts=vol),
                busybox("two", "sh", "-c", "echo two >> /work/order", volumeMounts=vol),
            ],
            "containers": [busybox("app", "sh", "-c", "cat /work/order; exec sleep 3600", volumeMounts=vol)],
        })  # fmt: skip
        await until(lambda: container_status(h.state.pod("ordered"), "one").get("state", {}).get("running"), "one")
        pod = h.state.pod("ordered") or {}
        assert pod["status"]["phase"] == "Pending"
        assert container_status(pod, "app")["state"] == {"waiting": {"reason": "PodInitializing"}}
        init = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
        assert init["message"] == "containers with incomplete status: [one two]"
        await until(lambda: container_status(h.state.pod("ordered"), "app").get("ready"), "app ready")
        assert (h.state.pod("ordered") or {})["status"]["phase"] == "Running"
        for name in ("one", "two"):
            term = container_status(h.state.pod("ordered"), name)["state"]["terminated"]
            assert (term["exitCode"], term["reason"]) == (0, "Completed")
        out = b""
        async for chunk in h.node.logs("default", "ordered", "app", follow=True, timestamps=True):
            out += chunk
            if b"two" in out:
                break
        lines = out.decode().splitlines()
        assert [line.split(" ", 1)[1] for line in lines] == ["one", "two"]
        assert all(line[:4].isdigit() and line.split(" ")[0].endswith("Z") for line in lines)

    run_node(scenario)


def test_follow_streams_until_the_container_exits(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        script = "for i in 1 2 3; do echo line $i; sleep 0.2; done"
        h.state.create_pod("talk", {"restartPolicy": "Never", "containers": [busybox("app", "sh", "-c", script)]})
        await until(lambda: container_status(h.state.pod("talk"), "app").get("state", {}).get("running"), "run")
        start = time.monotonic()
        out = await collect(h.node.logs("default", "talk", "app", follow=True))
        assert out == b"line 1\nline 2\nline 3\n" and time.monotonic() - start > 0.3
        assert await collect(h.node.logs("default", "talk", "app", tail_lines=1)) == b"line 3\n"

    run_node(scenario)


def test_readiness_and_liveness_probes(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}
        app = busybox("app", "sh", "-c", "sleep 0.5; touch /tmp/healthy; exec sleep 3600", readinessProbe=probe)
        h.state.create_pod("ready", {"containers": [app]})
        await until(lambda: container_status(h.state.pod("ready"), "app").get("state", {}).get("running"), "run")
        assert container_status(h.state.pod("ready"), "app")["ready"] is False
        await until(lambda: container_status(h.state.pod("ready"), "app")["ready"], "ready after the probe passes")
        assert "Unhealthy" in h.state.reasons("ready")
        unhealthy = next(e for e in h.state.events if e.reason == "Unhealthy")
        assert unhealthy.message == "Readiness probe failed: cat: can't open '/tmp/healthy': No such file or directory"

        live = {"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 1, "failureThreshold": 2}
        h.state.create_pod(
            "dying",
            {
                "terminationGracePeriodSeconds": 1,
                "containers": [busybox("app", "sleep", "3600", livenessProbe=live)],
            },
        )
        await until(lambda: container_status(h.state.pod("dying"), "app").get("restartCount", 0) >= 1, "restart")
        assert "Container app failed liveness probe, will be restarted" in [
            e.message for e in h.state.events if e.pod == "dying" and e.reason == "Killing"
        ]
        last = container_status(h.state.pod("dying"), "app")["lastState"]["terminated"]
        assert (last["exitCode"], last["reason"]) == (137, "Error")

    run_node(scenario, time_scale=0.1)


def test_http_and_tcp_probes_reach_the_pod_network(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        # The server starts 3 s late: a probe spawns a Python interpreter, which took over 0.5 s on a busy machine.
        http = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
        tcp = {"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
        serve = "mkdir /www; echo ok > /www/index.html; sleep 3; exec httpd -f -p 8080 -h /www"
        h.state.create_pod("web", {"containers": [
            busybox("app", "sh", "-c", serve, readinessProbe=http),
            busybox("side", "sleep", "3600", readinessProbe=tcp)]})  # fmt: skip
        await until(lambda: container_status(h.state.pod("web"), "app").get("ready") and
                    container_status(h.state.pod("web"), "side").get("ready"), "both ready", 30)  # fmt: skip
        failures = [e.message for e in h.state.events if e.reason == "Unhealthy"]
        ip = (h.state.pod("web") or {})["status"]["podIP"]
        refused = f'Get "http://{ip}:8080/": dial tcp {ip}:8080: connect: connection refused'
        assert f"Readiness probe failed: {refused}" in failures

    run_node(scenario, time_scale=0.2)


def test_stopping_the_node_stops_every_container(run_node: Any, tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("a", {"containers": [busybox("app", "sleep", "3600")]})
        h.state.create_pod("b", {"hostPID": True, "containers": [busybox("app", "sleep", "3600")]})
        for name in ("a", "b"):
            await until(lambda n=name: container_status(h.state.pod(n), "app").get("ready"), f"{name} ready")

    run_node(scenario)
    assert cleanup.leaks(tmp_path / "state") == []


def test_invalid_image_name_and_never_pull_policy(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("badref", {"containers": [{"name": "app", "image": "Busy Box"}]})
        h.state.create_pod(
            "never", {"containers": [{"name": "app", "image": "busybox:9.9", "imagePullPolicy": "Never"}]}
        )
        bad = await until(lambda: _waiting(h, "badref", "app").get("reason") == "InvalidImageName"
                          and _waiting(h, "badref", "app"), "InvalidImageName")  # fmt: skip
        assert bad["message"].startswith('Failed to apply default image tag "Busy Box"')
        never = await until(lambda: _waiting(h, "never", "app").get("reason") == "ErrImageNeverPull"
                            and _waiting(h, "never", "app"), "ErrImageNeverPull")  # fmt: skip
        assert never["message"] == 'Container image "busybox:9.9" is not present with pull policy of Never'
        assert "Pulling" not in h.state.reasons("badref") + h.state.reasons("never")

    run_node(scenario)


def test_a_pod_removed_from_the_store_is_torn_down(run_node: Any, tmp_path: Path) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("forced", {"containers": [busybox("app", "sleep", "3600")]})
        await until(lambda: container_status(h.state.pod("forced"), "app").get("ready"), "ready")
        pid = next(iter(h.node.workers.values())).current["app"].pid
        h.state.finish_pod_deletion("default", "forced")  # as `kubectl delete --force --grace-period=0`
        await until(lambda: not h.node.workers, "the worker gone", timeout=5)  # SIGTERM, SIGKILL after 2s
        assert not Path(f"/proc/{pid}").exists()

    run_node(scenario)


def test_termination_messages(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        wrote = busybox(
            "wrote",
            "sh",
            "-c",
            "echo config missing > /dev/termination-log; exit 2",
            terminationMessagePath="/dev/termination-log",
            terminationMessagePolicy="File",
        )
        logged = busybox("logged", "sh", "-c", "echo first; echo last words >&2; exit 1",
                         terminationMessagePath="/dev/termination-log",
                         terminationMessagePolicy="FallbackToLogsOnError")  # fmt: skip
        h.state.create_pod("msg", {"restartPolicy": "Never", "containers": [wrote, logged]})
        await until(lambda: (h.state.pod("msg") or {})["status"]["phase"] == "Failed", "Failed")
        pod = h.state.pod("msg")
        assert container_status(pod, "wrote")["state"]["terminated"]["message"] == "config missing\n"
        assert container_status(pod, "logged")["state"]["terminated"]["message"] == "first\nlast words\n"

    run_node(scenario)


def test_a_leftover_task_that_never_ends_fails_the_test_instead_of_hanging(
    run_node: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_harness, "LEFTOVER_WAIT", 0.5)

    async def stubborn() -> None:
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    async def scenario(h: Harness) -> None:
        spawn(stubborn())

    start = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"did not end within 0.5s(?s:.*)stubborn \("):
        run_node(scenario)
    assert time.monotonic() - start < 30
