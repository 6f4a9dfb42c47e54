"""Node and pod sandboxes: a node is its own PID/network/UTS world; pods live inside it (`sim`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from runtime_support import Rt, read_until, run_to_end, runtime

from kdbgtest.sim.node import cleanup, procfs, runc, sandbox

pytestmark = pytest.mark.sim


def _pid_ns(pid: int | str) -> str:
    return str(Path(f"/proc/{pid}/ns/pid").readlink())


def _host_pids_in(ns: str) -> set[int]:
    """Pids (as the namespace numbers them) of the host processes whose own PID namespace is `ns`."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if _pid_ns(entry.name) == ns:
                    found.add(procfs.ns_pids(int(entry.name))[-1])
            except (OSError, IndexError):
                continue
    return found


def test_host_pid_container_sees_the_node_and_its_pods_never_the_host(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        node = sandbox.NodeSandbox("kdbg-worker", rt.state, rt.runc, rt.images, index=1)
        await node.start()
        try:
            pod = await rt.run("pod-app", ["sleep", "600"], pid_parent=node.pid)
            assert len(procfs.ns_pids(pod.pid)) == 3, "a pod's PID namespace nests in the node's"
            script = (
                "ps -o pid,comm; cat /proc/1/cmdline; echo; readlink /proc/self/ns/pid; hostname;"
                "cat /proc/1/root/etc/os-release"
            )
            namespaces = {kind: node.ns_path(kind) for kind in ("pid", "network", "uts")}
            argv = ["sh", "-c", script]
            code, out, err = await run_to_end(rt, "debug", argv, namespaces=namespaces, pid_parent=node.pid)
            assert code == 0, err
            lines = out.splitlines()
            table = {int(line.split()[0]): line.split()[1] for line in lines[1:] if line.split()[0].isdigit()}
            assert table[1] == "init" and "/sbin/init" in out
            assert "sleep" in table.values(), "the pod's process is visible from the node"
            node_ns = _pid_ns(node.pid)
            assert node_ns in out and node_ns != _pid_ns("self")
            assert _host_pids_in(node_ns) <= set(table), "every process of the node is listed"
            assert len(table) < 20, table
            assert not {"python", "pytest"} & set(table.values()), f"host processes leaked into the node: {table}"
            assert "kdbg-worker" in lines and 'NAME="kdbgtest sim node"' in out
            pod.kill(9)
            await pod.wait()
            await rt.runc.delete("pod-app")
        finally:
            await node.stop()
        assert not node.dir.exists()

    runtime(tmp_path_factory, scenario)


def test_pod_sandbox_gives_ip_hostname_and_shared_pid_namespace(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async def scenario(rt: Rt) -> None:
        node = sandbox.NodeSandbox("kdbg-worker2", rt.state, rt.runc, rt.images, index=2)
        await node.start()
        try:
            box = sandbox.PodSandbox(node, "web-0")
            await box.start()
            assert box.ip == "10.244.2.2"  # .1 is the node (the pods' gateway)
            ns = {k: box.ns_path(k) for k in ("network", "ipc", "uts", "pid")}
            app = await rt.run("app", ["sh", "-c", "echo up; exec sleep 600"], namespaces=ns, pid_parent=node.pid)
            await read_until(app.output(), "up")
            script = "hostname; ip -4 -o addr show dev eth0; ip route; ps -o pid,args"
            code, out, err = await run_to_end(rt, "side", ["sh", "-c", script], namespaces=ns, pid_parent=node.pid)
            assert code == 0, err
            assert out.startswith("web-0\n") and "inet 10.244.2.2/16" in out and "default via 10.244.2.1" in out
            assert "    1 /pause" in out and "sleep 600" in out
            app.kill(9)
            await app.wait()
            await rt.runc.delete("app")
            await box.stop()
            host = sandbox.PodSandbox(node, "hostnet", host_network=True)
            await host.start()
            assert host.ip == node.ip == "172.18.0.4"
            joined = {"network": host.ns_path("network"), "uts": host.ns_path("uts")}
            argv = ["sh", "-c", "hostname; ip -4 -o addr show dev eth0"]
            code, out, _ = await run_to_end(rt, "h", argv, namespaces=joined, pid_parent=node.pid)
            assert out.startswith("kdbg-worker2\n") and "inet 172.18.0.4/16" in out
            await host.stop()
        finally:
            await node.stop()

    runtime(tmp_path_factory, scenario)


def test_host_path_resolves_inside_the_node_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        node = sandbox.NodeSandbox("kdbg-cp", rt.state, rt.runc, rt.images)
        await node.start()
        try:
            source = node.root / "var" / "log"
            mount = runc.Mount(str(source), "/host-log", "bind", ["rbind", "rw"])
            code, _, err = await run_to_end(
                rt,
                "writer",
                ["sh", "-c", "echo from-pod > /host-log/pod.txt"],
                mounts=[mount],
                pid_parent=node.pid,
            )
            assert code == 0, err
            assert (source / "pod.txt").read_text() == "from-pod\n"
            assert not Path("/var/log/pod.txt").exists()
        finally:
            await node.stop()
        assert cleanup.leaks(rt.state) == []

    runtime(tmp_path_factory, scenario)


def test_no_process_in_the_node_leads_to_the_host_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        node = sandbox.NodeSandbox("kdbg-iso", rt.state, rt.runc, rt.images)
        await node.start()
        try:
            sleeper = await rt.run("pod", ["sleep", "600"], pid_parent=node.pid)  # a runc process stays in the node
            host_only = Path(sys.executable).resolve()  # exists on the host, not in the sim
            script = (
                "n=0; for p in /proc/[0-9]*; do n=$((n+1)); "
                f"if [ -e $p/root{host_only} ]; then echo LEAK $p $(cat $p/comm); fi; done; echo checked $n"
            )
            joined = {kind: node.ns_path(kind) for kind in ("pid", "network", "ipc", "uts")}
            code, out, err = await run_to_end(
                rt, "sysadmin", ["sh", "-c", script], namespaces=joined, privileged=True, pid_parent=node.pid
            )
            assert code == 0, err
            assert "LEAK" not in out and int(out.split()[-1]) >= 5, out
            sleeper.kill(9)
            await sleeper.wait()
            await rt.runc.delete("pod")
        finally:
            await node.stop()

    runtime(tmp_path_factory, scenario)


def test_pods_and_nodes_reach_each_other_across_nodes(tmp_path_factory: pytest.TempPathFactory) -> None:
    async def scenario(rt: Rt) -> None:
        nodes = [sandbox.NodeSandbox(f"net-{i}", rt.state, rt.runc, rt.images, index=i) for i in range(2)]
        boxes: list[sandbox.PodSandbox] = []
        try:
            for node in nodes:
                await node.start()
            boxes = [sandbox.PodSandbox(nodes[0], "server"), sandbox.PodSandbox(nodes[1], "client")]
            for box in boxes:
                await box.start()
            server_ns = {k: boxes[0].ns_path(k) for k in ("network", "ipc", "uts")}
            argv = ["/app", "--port=8080", "--message=across nodes"]
            app = await rt.run("server", argv, image="kdbgtest/distroless-app", namespaces=server_ns,
                               pid_parent=nodes[0].pid)  # fmt: skip
            await read_until(app.output(), "listening")
            url = f"http://{boxes[0].ip}:8080/"
            client_ns = {k: boxes[1].ns_path(k) for k in ("network", "ipc", "uts")}
            code, out, err = await run_to_end(rt, "client", ["wget", "-qO-", url], namespaces=client_ns,
                                              pid_parent=nodes[1].pid)  # fmt: skip
            assert (code, out) == (0, "across nodes\n"), err
            host_net = {"network": nodes[1].ns_path("network")}  # kubectl debug node/net-1: hostNetwork
            script = f"wget -qO- {url} && ping -c1 -W2 {nodes[0].ip} >/dev/null && echo node-ok"
            code, out, err = await run_to_end(rt, "node-debug", ["sh", "-c", script], namespaces=host_net,
                                              pid_parent=nodes[1].pid)  # fmt: skip
            assert (code, out) == (0, "across nodes\nnode-ok\n"), err
            app.kill(9)
            await app.wait()
            await rt.runc.delete("server")
        finally:
            for box in boxes:
                await box.stop()
            for node in nodes:
                await node.stop()
        assert not list(rt.state.glob("*.pidrec")), "the cluster network's holder is gone with the last node"

    runtime(tmp_path_factory, scenario)
