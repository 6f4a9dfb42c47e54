"""Namespaces, volumes and privileges of pod containers, checked from inside real containers (`sim`)."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
from node_harness import Harness, busybox, collect, container_status, until

pytestmark = pytest.mark.sim

SLEEPER = ("sh", "-c", "echo target-was-here > /tmp/marker; exec sleep 3600")


async def finished_log(h: Harness, pod: str, container: str, timeout: float = 15) -> str:
    """Wait for `container` to terminate and return its log."""
    await until(lambda: container_status(h.state.pod(pod), container).get("state", {}).get("terminated"),
                f"{container} terminated", timeout)  # fmt: skip
    return (await collect(h.node.logs("default", pod, container))).decode()


def waiting_of(h: Harness, pod: str, container: str) -> dict[str, Any]:
    return dict(container_status(h.state.pod(pod), container).get("state", {}).get("waiting") or {})


async def running(h: Harness, pod: str, container: str = "app") -> None:
    await until(lambda: container_status(h.state.pod(pod), container).get("state", {}).get("running"),
                f"{pod}/{container} running")  # fmt: skip


def test_ephemeral_container_with_target_sees_its_processes_and_filesystem(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("app", {"containers": [busybox("app", *SLEEPER)]})
        await running(h, "app")
        await until(lambda: True, "marker", 0.3)
        h.state.add_ephemeral("app", {**busybox("dbg", "sh", "-c", "ps; cat /proc/1/root/tmp/marker"),
                                      "targetContainerName": "app"})  # fmt: skip
        out = await finished_log(h, "app", "dbg")
        assert "sleep 3600" in out and "target-was-here" in out
        st = container_status(h.state.pod("app"), "dbg")
        assert (st["ready"], st["restartCount"], st["lastState"], "started" in st) == (False, 0, {}, False)
        await until(lambda: True, "no restart", 0.3)
        assert container_status(h.state.pod("app"), "dbg")["restartCount"] == 0  # never restarted
        # Without a target the debug container has a PID namespace of its own.
        h.state.add_ephemeral("app", busybox("alone", "ps"))
        assert "sleep 3600" not in await finished_log(h, "app", "alone")
        h.state.add_ephemeral("app", {**busybox("lost", "ps"), "targetContainerName": "nope"})
        waiting = await until(lambda: waiting_of(h, "app", "lost").get("message"), "target error")
        assert waiting == "unable to find target container nope"

    run_node(scenario)


def test_share_process_namespace_shows_every_container(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod(
            "shared",
            {
                "shareProcessNamespace": True,
                "restartPolicy": "Never",
                "containers": [
                    busybox("app", *SLEEPER),
                    busybox("side", "sh", "-c", "sleep 0.3; ps; cat /proc/1/cmdline"),
                ],
            },
        )
        out = await finished_log(h, "shared", "side")
        assert "sleep 3600" in out
        assert "    1 65535    /pause" in out  # PID 1 of the shared namespace is the sandbox's pause

    run_node(scenario)


def test_host_pid_and_network_see_the_node_never_the_host(run_node: Any) -> None:
    marker = f"sleep {secrets.randbelow(10**6) + 10**6}"
    host = subprocess.Popen(marker.split(), stdin=subprocess.DEVNULL)
    try:

        async def scenario(h: Harness) -> None:
            h.state.create_pod("other", {"containers": [busybox("app", "sleep", "3601")]})
            await running(h, "other")
            h.state.create_pod(
                "nodedbg",
                {
                    "hostPID": True,
                    "hostNetwork": True,
                    "restartPolicy": "Never",
                    "containers": [busybox("dbg", "sh", "-c", "ps; hostname; ip addr")],
                },
            )
            out = await finished_log(h, "nodedbg", "dbg")
            assert "sleep 3601" in out and "/sbin/init" in out  # the node's processes
            assert marker not in out  # never the real host's
            assert "kdbg-worker" in out and "172.18.0.3" in out  # the node's UTS and network
            pod = h.state.pod("nodedbg") or {}
            assert pod["status"]["podIP"] == "172.18.0.3"

        run_node(scenario)
    finally:
        host.kill()
        host.wait()


def test_host_path_root_is_the_node_root_not_the_host(run_node: Any) -> None:
    host_marker = Path("/tmp") / f"kdbgtest-host-only-{secrets.token_hex(4)}"
    host_marker.write_text("host")
    try:

        async def scenario(h: Harness) -> None:
            (h.node.sandbox.root / "node-marker").write_text("this is the node\n")
            volume = {"name": "host-root", "hostPath": {"path": "/"}}
            mount = {"name": "host-root", "mountPath": "/host"}
            h.state.create_pod(
                "nodefs",
                {
                    "restartPolicy": "Never",
                    "volumes": [volume],
                    "containers": [
                        busybox("dbg", "sh", "-c", "cat /host/node-marker; ls /host/tmp", volumeMounts=[mount])
                    ],
                },
            )
            out = await finished_log(h, "nodefs", "dbg")
            assert "this is the node" in out and host_marker.name not in out
            uid = (h.state.pod("nodefs") or {})["metadata"]["uid"]
            logs = h.node.sandbox.root / "var/log/pods" / f"default_nodefs_{uid}" / "dbg" / "0.log"
            assert b"stdout F this is the node" in logs.read_bytes()  # CRI log files where a node keeps them
            links = list((h.node.sandbox.root / "var/log/containers").glob("nodefs_default_dbg-*.log"))
            assert [str(link.readlink()) for link in links] == [f"/var/log/pods/default_nodefs_{uid}/dbg/0.log"]

        run_node(scenario)
    finally:
        host_marker.unlink()


def _caps(text: str, field: str) -> int:
    line = next(line for line in text.splitlines() if line.startswith(field + ":"))
    return int(line.split()[1], 16)


PROFILES = {
    "general": {"capabilities": {"add": ["SYS_PTRACE"]}},
    "baseline": {},
    "restricted": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    "netadmin": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
    "sysadmin": {"privileged": True},
}  # fmt: skip
DEFAULT = 0xA80425FB  # containerd's default capability set
BIT = {"SYS_PTRACE": 19, "NET_ADMIN": 12, "NET_RAW": 13, "SYS_ADMIN": 21}


def test_debug_profiles_security_contexts(run_node: Any) -> None:
    status = Path("/proc/self/status").read_text()
    bounding = _caps(status, "CapBnd")  # a privileged container gets what the runtime may grant

    async def scenario(h: Harness) -> None:
        h.state.create_pod("app", {"containers": [busybox("app", "sleep", "3600")]})
        await running(h, "app")
        for profile, sc in PROFILES.items():
            h.state.add_ephemeral(
                "app",
                {
                    **busybox(profile, "sh", "-c", "grep -E 'CapEff|NoNewPrivs' /proc/self/status; id -u"),
                    "securityContext": sc,
                },
            )
        got = {p: await finished_log(h, "app", p) for p in PROFILES}
        assert _caps(got["general"], "CapEff") == DEFAULT | 1 << BIT["SYS_PTRACE"]
        assert _caps(got["baseline"], "CapEff") == DEFAULT
        assert _caps(got["netadmin"], "CapEff") == DEFAULT | 1 << BIT["NET_ADMIN"]
        assert _caps(got["sysadmin"], "CapEff") == bounding and bounding & 1 << BIT["SYS_ADMIN"]
        restricted = got["restricted"]
        assert _caps(restricted, "CapEff") == 0 and "NoNewPrivs:\t1" in restricted
        assert restricted.strip().endswith("1000")
        # restricted as kubectl sets it (no runAsUser) on an image that runs as root: refused by the kubelet
        root_sc = {k: v for k, v in PROFILES["restricted"].items() if k != "runAsUser"}
        h.state.add_ephemeral("app", {**busybox("rootish", "id"), "securityContext": root_sc})
        reason = "CreateContainerConfigError"
        waiting = await until(lambda: waiting_of(h, "app", "rootish").get("reason") == reason
                              and waiting_of(h, "app", "rootish"), reason)  # fmt: skip
        uid = (h.state.pod("app") or {})["metadata"]["uid"]
        assert waiting["message"] == ("container has runAsNonRoot and image will run as root "
                                      f'(pod: "app_default({uid})", container: rootish)')  # fmt: skip

    run_node(scenario)


def test_exec_statuses_match_what_kubectl_receives(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        from kdbgtest.sim.contracts import StreamError

        h.state.create_pod("app", {"containers": [busybox("app", "sleep", "3600")]})
        await running(h, "app")
        stream = await h.node.exec("default", "app", "app", ["sh", "-c", "echo out; echo err >&2; exit 3"],
                                   stdin=False, tty=False)  # fmt: skip
        chunks = [c async for c in stream.output()]
        assert (1, b"out\n") in chunks and (2, b"err\n") in chunks
        assert await stream.result() == {
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: command terminated with exit code 3",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
        }  # fmt: skip
        ok = await h.node.exec("default", "app", "app", ["true"], stdin=False, tty=False)
        assert [c async for c in ok.output()] == [] and (await ok.result())["status"] == "Success"
        with pytest.raises(StreamError) as err:
            await h.node.exec("default", "app", "app", ["bash"], stdin=False, tty=False)
        message = err.value.status["message"]
        prefix = "Internal error occurred: " * 2  # the kubelet's InternalError, wrapped by the API server
        inner = 'error executing command in container: failed to exec in container: failed to start exec "'
        assert message.startswith(prefix + inner)
        assert message.endswith('exec: "bash": executable file not found in $PATH: unknown')
        assert err.value.status["code"] == 500 and err.value.status["reason"] == "InternalError"

    run_node(scenario)


def test_attach_relays_output_and_stdin_once_closes_the_container_stdin(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        cat = busybox("app", "sh", "-c", "echo ready; cat; echo bye", stdin=True, stdinOnce=True)
        h.state.create_pod("att", {"restartPolicy": "Never", "containers": [cat]})
        await running(h, "att")
        stream = await h.node.attach("default", "att", "app", stdin=True, tty=False)
        await stream.write_stdin(b"hello\n")
        await stream.close_stdin()
        out = b"".join([data async for _, data in stream.output()])
        assert out.endswith(b"hello\nbye\n")
        assert (await stream.result())["status"] == "Success"
        await until(lambda: (h.state.pod("att") or {})["status"]["phase"] == "Succeeded", "Succeeded")
        assert await collect(h.node.logs("default", "att", "app")) == b"ready\nhello\nbye\n"

    run_node(scenario)


def test_tty_attach_detach_keeps_the_container_running(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        shell = busybox("app", "sh", stdin=True, tty=True)
        h.state.create_pod("term", {"containers": [shell]})
        await running(h, "term")
        stream = await h.node.attach("default", "term", "app", stdin=True, tty=True)
        assert stream.tty
        await stream.resize(100, 30)
        await stream.write_stdin(b"stty size; echo hi-$((40+2))\r")
        out = b""
        async for channel, data in stream.output():
            assert channel == 1  # a terminal has one output stream
            out += data
            if b"hi-42" in out:
                break
        assert b"30 100" in out
        await stream.detach()
        await until(lambda: True, "a moment", 0.2)
        assert container_status(h.state.pod("term"), "app")["state"].get("running")
        again = await h.node.attach("default", "term", "app", stdin=True, tty=True)
        await again.write_stdin(b"exit\r")
        echoed = b"".join([data async for _, data in again.output()])  # ends when the shell exits
        assert b"exit" in echoed
        await until(lambda: container_status(h.state.pod("term"), "app").get("restartCount") == 1, "restarted")

    run_node(scenario)


def test_config_map_env_and_volume(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.configmaps[("default", "cfg")] = {"data": {"mode": "debug", "app.conf": "level=3\n"}}
        ref = {"configMapKeyRef": {"name": "cfg", "key": "mode"}}
        script = "echo $MODE; cat /etc/app/app.conf; touch /etc/app/x 2>/dev/null || echo ro"
        app = busybox("app", "sh", "-c", script,
                      env=[{"name": "MODE", "valueFrom": ref}],
                      volumeMounts=[{"name": "conf", "mountPath": "/etc/app", "readOnly": True}])  # fmt: skip
        h.state.create_pod("cm", {"restartPolicy": "Never", "containers": [app],
                                  "volumes": [{"name": "conf", "configMap": {"name": "cfg"}}]})  # fmt: skip
        assert await finished_log(h, "cm", "app") == "debug\nlevel=3\nro\n"  # readOnly: true is read-only
        missing = busybox(
            "app", "true", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "no", "key": "k"}}}]
        )
        h.state.create_pod("nocm", {"containers": [missing]})
        waiting = await until(lambda: waiting_of(h, "nocm", "app").get("message"), "config error")
        assert waiting == 'configmap "no" not found'
        assert waiting_of(h, "nocm", "app")["reason"] == "CreateContainerConfigError"

    run_node(scenario)


def test_ephemeral_container_starts_before_init_containers_finish(run_node: Any) -> None:
    async def scenario(h: Harness) -> None:
        h.state.create_pod("slow", {"initContainers": [busybox("wait", "sleep", "3600")],
                                    "containers": [busybox("app", "sleep", "3600")]})  # fmt: skip
        await running(h, "slow", "wait")
        h.state.add_ephemeral("slow", busybox("dbg", "sleep", "3600"))
        await running(h, "slow", "dbg")
        pod = h.state.pod("slow") or {}
        assert pod["status"]["phase"] == "Pending"
        assert container_status(pod, "app")["state"] == {"waiting": {"reason": "PodInitializing"}}

    run_node(scenario)


def test_runtime_default_seccomp_filters_syscalls(run_node: Any) -> None:
    from kdbgtest.sim.node import containers

    if not containers.RUNTIME_HAS_SECCOMP:
        pytest.skip("the runtime's ContainerConfig has no `seccomp` field yet (spec.py), so no filter is applied")

    async def scenario(h: Harness) -> None:
        h.state.create_pod("app", {"containers": [busybox("app", "sleep", "3600")]})
        await running(h, "app")
        script = "grep Seccomp: /proc/self/status; unshare -U true || echo refused"
        sc = {"seccompProfile": {"type": "RuntimeDefault"}}
        h.state.add_ephemeral("app", {**busybox("filtered", "sh", "-c", script), "securityContext": sc})
        h.state.add_ephemeral("app", busybox("plain", "sh", "-c", "grep Seccomp: /proc/self/status"))
        filtered = await finished_log(h, "app", "filtered")
        assert "Seccomp:\t2" in filtered and "refused" in filtered
        assert "Seccomp:\t0" in await finished_log(h, "app", "plain")

    run_node(scenario)
