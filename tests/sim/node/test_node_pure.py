"""Unit tests of the node agent's pure parts: back-off, security mapping, command/env, status, logs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kdbgtest.sim.node import backoff, command, logs, pulling, seccomp, security, status, streams, volumes


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_backoff_doubles_caps_and_resets() -> None:
    clock = FakeClock()
    b = backoff.Backoff(clock=clock)
    assert not b.in_backoff_since("k", b.now())  # first failure: restart at once
    b.next("k", b.now())
    assert b.get("k") == 10
    assert b.in_backoff_since("k", b.now())
    clock.t += 11
    assert not b.in_backoff_since("k", b.now() - 11)
    delays = []
    for _ in range(8):
        b.next("k", b.now())
        delays.append(b.get("k"))
    assert delays == [20, 40, 80, 160, 300, 300, 300, 300]
    clock.t += 601  # ran 10 minutes without a failure
    b.next("k", b.now())
    assert b.get("k") == 10


def test_backoff_scale_shortens_real_wait() -> None:
    clock = FakeClock()
    b = backoff.Backoff(scale=0.1, clock=clock)
    start = b.now()
    b.next("k", start)
    assert b.remaining("k", start) == pytest.approx(1.0)
    clock.t += 0.5
    assert b.in_backoff_since("k", start)
    clock.t += 0.6
    assert not b.in_backoff_since("k", start)


@pytest.mark.parametrize(("secs", "text"), [(10, "10s"), (80, "1m20s"), (300, "5m0s"), (3600, "1h0m0s")])
def test_go_duration(secs: float, text: str) -> None:
    assert backoff.go_duration(secs) == text


POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {}}


def test_default_capabilities_and_profiles(tmp_path: Path) -> None:
    general = security.resolve(
        POD, {"name": "d", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}, "", tmp_path
    )
    assert "CAP_SYS_PTRACE" in general.capabilities and "CAP_CHOWN" in general.capabilities
    netadmin = security.capabilities({"add": ["NET_ADMIN", "NET_RAW"]})
    assert netadmin == [*security.DEFAULT_CAPS, "CAP_NET_ADMIN"]
    assert security.capabilities({"drop": ["ALL"]}) == []
    assert security.capabilities({"drop": ["ALL"], "add": ["CHOWN"]}) == ["CAP_CHOWN"]
    assert "CAP_KILL" not in security.capabilities({"drop": ["kill"]})
    sysadmin = security.resolve(POD, {"name": "d", "securityContext": {"privileged": True}}, "", tmp_path)
    assert sysadmin.privileged and "CAP_SYS_ADMIN" in sysadmin.capabilities and not sysadmin.no_new_privileges


def test_restricted_profile_with_root_image_is_config_error(tmp_path: Path) -> None:
    sc = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    with pytest.raises(security.ContainerConfigError) as err:
        security.resolve(POD, {"name": "dbg", "securityContext": sc}, "", tmp_path)
    assert str(err.value) == 'container has runAsNonRoot and image will run as root (pod: "p_ns(u1)", container: dbg)'
    ident = security.resolve(POD, {"name": "dbg", "securityContext": sc}, "65532:65532", tmp_path)
    assert (ident.uid, ident.gid, ident.capabilities, ident.no_new_privileges) == (65532, 65532, [], True)


def test_pod_level_user_and_named_image_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    pod = {**POD, "spec": {"securityContext": {"runAsUser": 1000, "supplementalGroups": [5], "fsGroup": 7}}}
    ident = security.resolve(pod, {"name": "a"}, "", tmp_path)
    assert (ident.uid, ident.gid, ident.additional_gids) == (1000, 0, [5, 7])
    named = security.resolve(POD, {"name": "a"}, "nobody", tmp_path)
    assert (named.uid, named.gid) == (65534, 65534)
    with pytest.raises(security.ContainerConfigError, match="non-numeric user"):
        security.resolve(POD, {"name": "a", "securityContext": {"runAsNonRoot": True}}, "nobody", tmp_path)


def test_command_args_over_entrypoint_cmd() -> None:
    env = {"WHO": "world"}
    assert command.argv({}, ["/ep"], ["c1"], env) == ["/ep", "c1"]
    assert command.argv({"args": ["a"]}, ["/ep"], ["c1"], env) == ["/ep", "a"]
    assert command.argv({"command": ["sh"]}, ["/ep"], ["c1"], env) == ["sh"]
    assert command.argv({"command": ["echo", "$(WHO)", "$$(WHO)", "$(NOPE)"]}, [], [], env) == [
        "echo", "world", "$(WHO)", "$(NOPE)"]  # fmt: skip
    with pytest.raises(command.NoCommand):
        command.argv({}, [], [], env)


def test_environment_order_and_field_refs() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1"},
        "status": {"podIP": "10.0.0.5"},
    }
    container = {"env": [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "$(A)-x"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "PATH", "value": "/custom"},
    ]}  # fmt: skip
    env = command.environment(pod, container, ["PATH=/bin", "HOME=/root"])
    assert env["B"] == "1-x" and env["POD"] == "p" and env["IP"] == "10.0.0.5"
    assert env["PATH"] == "/custom" and env["HOME"] == "/root" and env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    missing = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}
    with pytest.raises(command.ConfigError, match='configmap "cm" not found'):
        command.environment(pod, missing, [])


def _rec(name: str, kind: str = "regular", **kw: object) -> status.ContainerRecord:
    return status.ContainerRecord(name=name, kind=kind, image="busybox", **kw)  # type: ignore[arg-type]


def test_phase_rules() -> None:
    pod = {"spec": {"containers": [{"name": "a"}], "restartPolicy": "Always"}}
    assert status.phase(pod, {"a": _rec("a")}) == "Pending"
    assert status.phase(pod, {"a": _rec("a", state={"running": {}})}) == "Running"
    crashed = _rec("a", state={"waiting": {"reason": "CrashLoopBackOff"}}, last_state={"terminated": {"exitCode": 1}})
    assert status.phase(pod, {"a": crashed}) == "Running"
    never = {"spec": {**pod["spec"], "restartPolicy": "Never"}}
    assert status.phase(never, {"a": _rec("a", state={"terminated": {"exitCode": 1}})}) == "Failed"
    assert status.phase(never, {"a": _rec("a", state={"terminated": {"exitCode": 0}})}) == "Succeeded"
    init = {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}], "restartPolicy": "Never"}}
    assert status.phase(init, {"i": _rec("i", "init", state={"running": {}})}) == "Pending"
    assert status.phase(init, {"i": _rec("i", "init", state={"terminated": {"exitCode": 2}})}) == "Failed"


def test_conditions_and_statuses() -> None:
    pod = {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "b"}, {"name": "a"}]}}
    recs = {"i": _rec("i", "init", state={"running": {}}), "a": _rec("a"), "b": _rec("b")}
    conds = {c["type"]: c for c in status.conditions(pod, recs, "Pending", True)}
    assert [c for c in conds] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert conds["Initialized"]["message"] == "containers with incomplete status: [i]"
    assert conds["Ready"]["message"] == "containers with unready status: [b a]"
    statuses = status.container_statuses(recs, "regular", ["b", "a"])
    assert [s["name"] for s in statuses] == ["a", "b"] and statuses[0]["started"] is False
    ec = _rec("dbg", "ephemeral", state={"running": {"startedAt": "t"}}, ready=True).to_status()
    assert ec["ready"] is False and "started" not in ec and ec["lastState"] == {}


def test_qos_classes() -> None:
    def pod(res: dict[str, object]) -> dict[str, object]:
        return {"spec": {"containers": [{"name": "a", "resources": res}]}}

    assert status.qos_class(pod({})) == "BestEffort"
    assert status.qos_class(pod({"requests": {"cpu": "1"}})) == "Burstable"
    assert status.qos_class(pod({"limits": {"cpu": "1", "memory": "1Gi"}})) == "Guaranteed"


def test_log_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c" / "0.log"
    writer = logs.LogWriter(path)
    writer.write(1, b"one\ntw")
    writer.write(2, b"err\n")
    writer.write(1, b"o\nthree")
    writer.close()

    async def collect(**kw: object) -> bytes:
        out = [chunk async for chunk in logs.serve(path, finished=lambda: True, **kw)]  # type: ignore[arg-type]
        return b"".join(out)

    assert asyncio.run(collect(follow=False, tail_lines=None, timestamps=False)) == b"one\nerr\ntwo\nthree\n"
    assert asyncio.run(collect(follow=False, tail_lines=2, timestamps=False)) == b"two\nthree\n"
    stamped = asyncio.run(collect(follow=True, tail_lines=1, timestamps=True))
    assert stamped.endswith(b"Z three\n") and stamped[:4].isdigit()
    assert logs.rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"


def test_a_tty_line_end_is_logged_without_its_carriage_return(tmp_path: Path) -> None:
    """containerd reads a container's output with Go's ReadLine: "\r\n" ends a line as "\n" does (a tty
    container's log on the local v1.37.2 cluster has no carriage returns); a "\r" inside a line stays."""
    path = tmp_path / "0.log"
    writer = logs.LogWriter(path)
    writer.write(1, b"0 0\r\nspin\rner\r")
    writer.write(1, b"\nlast\r")
    writer.close()
    texts = [line.split(b" ", 3)[3] for line in path.read_bytes().split(b"\n")[:-1]]
    assert texts == [b"0 0", b"spin\rner", b"last\r"]


def test_secure_join_never_leaves_the_node_root(tmp_path: Path) -> None:
    root = tmp_path / "node"
    (root / "etc").mkdir(parents=True)
    (root / "abs").symlink_to("/etc")  # absolute: must mean the node's /etc
    (root / "rel").symlink_to("../../../../..")  # climbing out: clamped at the node root
    assert volumes.secure_join(root, "/abs/passwd") == root / "etc" / "passwd"
    assert volumes.secure_join(root, "/rel/etc") == root / "etc"
    assert volumes.secure_join(root, "/../../etc") == root / "etc"
    assert volumes.secure_join(root, "/") == root


def test_host_path_types(tmp_path: Path) -> None:
    root = tmp_path / "node"
    root.mkdir()
    made = volumes.host_path({"path": "/var/data", "type": "DirectoryOrCreate"}, root, "v")
    assert made == root / "var" / "data" and made.is_dir()
    file = volumes.host_path({"path": "/var/data/f", "type": "FileOrCreate"}, root, "v")
    assert file.is_file()
    with pytest.raises(volumes.VolumeError, match='volume "v" : hostPath type check failed: /nope is not a directory'):
        volumes.host_path({"path": "/nope", "type": "Directory"}, root, "v")
    with pytest.raises(volumes.VolumeError, match="is not a file"):
        volumes.host_path({"path": "/missing/f", "type": "FileOrCreate"}, root, "v")


def test_exec_statuses_by_version() -> None:
    assert streams.exit_status(3, ["sh", "-c", "exit 3"], 29)["message"] == (
        "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
    )
    assert streams.internal_error("boom", 29)["message"] == "Internal error occurred: boom"
    assert streams.internal_error("boom", 34)["message"] == "Internal error occurred: Internal error occurred: boom"


def test_default_pull_policy_and_durations() -> None:
    assert pulling.default_policy("busybox") == "Always"
    assert pulling.default_policy("busybox:latest") == "Always"
    assert pulling.default_policy("localhost:5000/app") == "Always"
    assert pulling.default_policy("localhost:5000/app:1.0") == "IfNotPresent"
    assert pulling.default_policy("busybox@sha256:" + "0" * 64) == "IfNotPresent"
    assert [pulling.go_millis(s) for s in (0.0123, 1.2345, 62.5)] == ["12ms", "1.234s", "1m2.5s"]


def test_a_deleted_pod_ends_succeeded_or_failed() -> None:
    pod = {"spec": {"containers": [{"name": "a"}], "restartPolicy": "Always"}}
    killed = {"a": _rec("a", state={"terminated": {"exitCode": 137}})}
    assert status.phase(pod, killed) == "Running"
    assert status.phase(pod, killed, terminal=True) == "Failed"
    clean = {"a": _rec("a", state={"terminated": {"exitCode": 0}})}
    assert status.phase(pod, clean, terminal=True) == "Succeeded"


def test_seccomp_profiles() -> None:
    pod: dict[str, object] = {"spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}
    assert seccomp.profile_type({"spec": {}}, {}) == "Unconfined"
    assert seccomp.profile_type(pod, {}) == "RuntimeDefault"
    unconfined = {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert seccomp.oci(pod, unconfined, privileged=False) is None
    profile = seccomp.oci(pod, {}, privileged=False)
    assert profile is not None and "mount" in profile["syscalls"][0]["names"]
    assert seccomp.oci(pod, {}, privileged=True) is None  # containerd: privileged runs unconfined


def test_conditions_before_1_29_have_no_sandbox_condition() -> None:
    pod = {"spec": {"containers": [{"name": "a"}]}}
    types = [c["type"] for c in status.conditions(pod, {"a": _rec("a")}, "Pending", True, minor=28)]
    assert types == ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
