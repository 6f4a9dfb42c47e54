"""A privileged pod on a sim node must not reach the real host (kdbgtest/sim/sandbox.md).

From a `kubectl debug node/N --profile=sysadmin` pod and from a privileged pod with the node's PID, network and IPC
namespaces and its root at /host, on a running sim, through real kubectl, every known route to the host is tried: a
cgroup v1 hierarchy (mount + mkdir, release_agent), host-global /proc files (/proc/sys, /proc/sysrq-trigger, also
through a fresh proc mount and after unmounting the read-only /proc/sys), block devices (mknod, devtmpfs, the
devices cgroup), and other processes' roots (the runc processes a hostPID pod sees lead to the sim's state
directory: its bearer token, the image cache every sim shares). Each probe prints `ESCAPED ...` for a route that
worked and `refused ...` for one that did not; the host is checked too. A positive control shows that the pods keep
their capabilities and the node's own mounts, processes and root.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kdbgtest.base import process, tools
from kdbgtest.sim import testing
from kdbgtest.sim.node import images

pytestmark = [pytest.mark.chaos, pytest.mark.sim]

CGROUP_FS = Path("/sys/fs/cgroup")
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: privileged-probe}
spec:
  nodeName: NODE
  hostPID: true
  hostNetwork: true
  hostIPC: true
  restartPolicy: Never
  containers:
  - name: probe
    image: busybox:1.36
    command: [sleep, "3600"]
    securityContext: {privileged: true}
    volumeMounts: [{name: host-root, mountPath: /host}]
  volumes: [{name: host-root, hostPath: {path: /}}]
"""


@dataclass(frozen=True)
class Cluster:
    """The running sim, its kubectl, and the two privileged pods."""

    kubeconfig: Path
    state: Path
    node: str
    pods: dict[str, str]  # kind of pod -> pod name

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> process.Completed:
        argv = [str(tools.pinned_kubectl()), "--kubeconfig", str(self.kubeconfig), *args]
        return process.run(argv, timeout=timeout, check=False, stdin=stdin)

    def probe(self, pod: str, script: str) -> str:
        """Run `script` with sh in the pod; its output (stdout and stderr)."""
        done = self.kubectl("exec", "-i", pod, "--", "sh", "-s", stdin=script)
        return done.output

    @property
    def token(self) -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        return str(config["users"][0]["user"]["token"])

    @property
    def node_root(self) -> Path:
        return self.state / "nodes" / self.node / "root"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with testing.sim_cluster(tmp_path_factory, name="chaos-sandbox", nodes=1) as handle:
        state = handle.config.state_path
        node = handle.config.node_names[0]
        cluster = Cluster(handle.kubeconfig, state, node, {})
        debug = cluster.kubectl("debug", f"node/{node}", "--profile=sysadmin", "--image=busybox:1.36", "--",
                                "sleep", "3600")  # fmt: skip
        found = re.search(r"Creating debugging pod (node-debugger-\S+) with", debug.output)
        assert found is not None, f"kubectl debug node did not create a pod: {debug.output}"
        cluster.pods["sysadmin-node-debugger"] = found[1]
        applied = cluster.kubectl("apply", "-f", "-", stdin=PRIVILEGED_POD.replace("NODE", node))
        assert applied.returncode == 0, applied.output
        cluster.pods["privileged-pod"] = "privileged-probe"
        for pod in cluster.pods.values():
            ready = cluster.kubectl("wait", "--for=condition=Ready", f"pod/{pod}", "--timeout=90s", timeout=100)
            assert ready.returncode == 0, f"pod {pod} did not become ready: {ready.output}"
        yield cluster


@pytest.fixture(params=["sysadmin-node-debugger", "privileged-pod"])
def pod(request: pytest.FixtureRequest, cluster: Cluster) -> str:
    return cluster.pods[str(request.param)]


def escapes(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ESCAPED")]


def refusals(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("refused")]


def check_refused(output: str, routes: int) -> None:
    """No route worked, and each of the `routes` attempts reported its refusal."""
    assert escapes(output) == [], f"the pod reached the host:\n{output}"
    assert len(refusals(output)) >= routes, f"expected {routes} refusals, the probe printed:\n{output}"


def test_cgroup_v1_hierarchy_cannot_be_mounted_or_written(cluster: Cluster, pod: str) -> None:
    probe = f"kdbgtest-escape-{secrets.token_hex(4)}"
    script = textwrap.dedent(f"""\
        for opts in pids memory rdma; do
          d=/tmp/cg-$opts; mkdir -p "$d"
          if err=$(mount -t cgroup -o "$opts" cgroup "$d" 2>&1); then
            if mkdir "$d/{probe}" 2>/dev/null; then
              echo "ESCAPED mkdir in cgroup v1 hierarchy $opts"; rmdir "$d/{probe}"
            else echo "refused mkdir in a mounted $opts hierarchy"; fi
            umount "$d"
          else echo "refused mount -t cgroup -o $opts: $err"; fi
        done
        d=/tmp/cg2; mkdir -p $d
        if mount -t cgroup2 cgroup2 $d 2>/dev/null && mkdir "$d/{probe}" 2>/dev/null; then
          echo "ESCAPED mkdir in cgroup2"; rmdir "$d/{probe}"
        else echo "refused cgroup2 mount or mkdir"; fi
        """)
    check_refused(cluster.probe(pod, script), 4)
    assert not list(CGROUP_FS.glob(f"*/{probe}")) and not list(CGROUP_FS.glob(f"*/kdbgtest-sim/**/{probe}"))


def test_release_agent_cannot_be_opened_for_writing(cluster: Cluster, pod: str) -> None:
    script = textwrap.dedent("""\
        for opts in rdma pids none,name=kdbgtest-agent; do
          d=/tmp/ra-$opts; mkdir -p "$d"
          if mount -t cgroup -o "$opts" cgroup "$d" 2>/dev/null; then
            if [ -e "$d/release_agent" ] && (: >> "$d/release_agent") 2>/dev/null; then
              echo "ESCAPED release_agent of $opts opened for writing"
            else echo "refused release_agent of a mounted $opts hierarchy"; fi
            umount "$d"
          else echo "refused mount of a $opts hierarchy for its release_agent"; fi
        done
        for f in $(find /sys/fs/cgroup -maxdepth 2 -name release_agent 2>/dev/null); do
          (: >> "$f") 2>/dev/null && echo "ESCAPED $f opened for writing" || echo "refused $f"
        done
        """)
    check_refused(cluster.probe(pod, script), 3)
    assert "kdbgtest-agent" not in Path("/proc/self/cgroup").read_text(), "a new v1 hierarchy was left on the host"


HOST_SYSCTLS = ("kernel/core_pattern", "kernel/modprobe", "vm/drop_caches", "kernel/sysrq")


def test_host_global_proc_files_cannot_be_opened_for_writing(cluster: Cluster, pod: str) -> None:
    """In place, through a fresh proc mount, and after unmounting the read-only /proc/sys bind mount."""
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    files = " ".join(f"sys/{name}" for name in HOST_SYSCTLS) + " sysrq-trigger"
    script = textwrap.dedent(f"""\
        try() {{ for f in {files}; do
            if [ ! -e "$1/$f" ]; then echo "refused $1/$f: not there"
            elif (: >> "$1/$f") 2>/dev/null; then echo "ESCAPED $1/$f opened for writing"
            else echo "refused $1/$f"; fi
          done; }}
        try /proc
        mkdir -p /tmp/fresh-proc
        if mount -t proc proc /tmp/fresh-proc 2>/dev/null; then try /tmp/fresh-proc; umount /tmp/fresh-proc
        else echo "refused a fresh proc mount"; fi
        if umount /proc/sys 2>/dev/null; then try /proc; else echo "refused umount /proc/sys"; fi
        """)
    check_refused(cluster.probe(pod, script), 2 * (len(HOST_SYSCTLS) + 1))
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


def test_block_devices_cannot_be_opened(cluster: Cluster, pod: str) -> None:
    """mknod of every disk the kernel lists, devtmpfs, and allowing them in the devices cgroup first."""
    script = textwrap.dedent("""\
        read_dev() { head -c 512 "$1" >/dev/null 2>&1; }
        disks=$(awk 'NR > 2 && $4 != "" {print $1 ":" $2 ":" $4}' /proc/partitions)
        for d in $disks; do
          set -- $(echo "$d" | tr : ' '); maj=$1 min=$2 name=$3
          if mknod "/tmp/blk-$name" b "$maj" "$min" 2>/dev/null; then
            read_dev "/tmp/blk-$name" && echo "ESCAPED read block device $name" || echo "refused read of $name"
          else echo "refused mknod $name"; fi
        done
        mkdir -p /tmp/devtmpfs
        if mount -t devtmpfs devtmpfs /tmp/devtmpfs 2>/dev/null; then
          for d in $disks; do n=${d##*:}; read_dev "/tmp/devtmpfs/$n" && echo "ESCAPED read $n via devtmpfs"; done
          echo "refused reads through devtmpfs"
        else echo "refused devtmpfs mount"; fi
        mkdir -p /tmp/devices
        if mount -t cgroup -o devices cgroup /tmp/devices 2>/dev/null; then
          own=$(awk -F: '$2 == "devices" {print $3}' /proc/self/cgroup)
          if echo a > "/tmp/devices$own/devices.allow" 2>/dev/null; then
            echo "ESCAPED the devices cgroup of the container was widened"
            for d in $disks; do n=${d##*:}; read_dev "/tmp/blk-$n" && echo "ESCAPED read $n after widening"; done
          else echo "refused devices.allow"; fi
        else echo "refused the devices hierarchy"; fi
        """)
    check_refused(cluster.probe(pod, script), 3)


def test_other_processes_roots_do_not_lead_to_the_sims_files(cluster: Cluster, pod: str) -> None:
    """Through /proc/PID/root (and cwd) of every process the pod sees, above all runc's: no token, no writes
    into the shared image cache."""
    probe = f"kdbgtest-escape-{secrets.token_hex(4)}"
    cache = images.DEFAULT_CACHE
    script = textwrap.dedent(f"""\
        self=$(readlink /proc/self/ns/mnt); runc=0
        for p in /proc/[0-9]*; do
          [ "$(readlink $p/ns/mnt 2>/dev/null)" = "$self" ] && continue
          if [ "$(cat $p/comm 2>/dev/null)" = runc ]; then
            runc=$((runc + 1))
            if kill -0 "$(basename $p)" 2>/dev/null; then echo "ESCAPED may signal runc ($p)"
            else echo "refused signals to runc ($p)"; fi
          fi
          for way in root cwd; do
            if cat "$p/$way{cluster.kubeconfig}" 2>/dev/null; then echo "ESCAPED read the kubeconfig via $p/$way"
            else echo "refused kubeconfig via $p/$way"; fi
            if touch "$p/$way{cache}/{probe}" 2>/dev/null; then echo "ESCAPED wrote into the image cache via $p/$way"
            else echo "refused image cache via $p/$way"; fi
          done
        done
        echo "runc processes seen: $runc"
        """)
    try:
        output = cluster.probe(pod, script)
        assert not (cache / probe).exists()
    finally:
        (cache / probe).unlink(missing_ok=True)  # a sim that let the pod write there: undo it
    check_refused(output, 4)
    assert cluster.token not in output
    seen = re.search(r"runc processes seen: (\d+)", output)
    assert seen is not None and int(seen[1]) >= 1, f"the route was not there to try (no runc seen):\n{output}"


def test_privileges_inside_the_node_stay(cluster: Cluster, pod: str) -> None:
    """Positive control: every capability in the pod's view, its own mounts and cgroup, the node's processes,
    hostname and network, and the node's root (writable, at /host) still work."""
    marker = f"kdbgtest-node-write-{secrets.token_hex(4)}"
    script = textwrap.dedent(f"""\
        c=$(awk '/^CapEff/ {{print $2}}' /proc/self/status)
        echo "SYS_ADMIN=$(( (0x$c >> 21) & 1 )) SYS_MODULE=$(( (0x$c >> 16) & 1 )) NET_ADMIN=$(( (0x$c >> 12) & 1 ))"
        mkdir -p /tmp/t && mount -t tmpfs none /tmp/t && echo "tmpfs $(grep -c /tmp/t /proc/mounts)"
        echo "pid1=$(cat /proc/1/comm) uts=$(hostname)"
        mkdir -p /tmp/own-cg
        mount -t cgroup -o pids cgroup /tmp/own-cg 2>/dev/null || mount -t cgroup2 cgroup2 /tmp/own-cg
        echo "own cgroup procs=$(wc -l < /tmp/own-cg/cgroup.procs)"
        ip -4 addr | grep -o 'inet 172[.]18[.]0[.][0-9]*'
        touch /host/{marker} && echo "node root writable"
        chroot /host /bin/sh -c 'echo "chroot $(cat /etc/hostname)"'
        """)
    output = cluster.probe(pod, script)
    assert "SYS_ADMIN=1 SYS_MODULE=1 NET_ADMIN=1" in output, output
    assert "tmpfs 1" in output and "node root writable" in output, output
    assert f"pid1=init uts={cluster.node}" in output and "inet 172.18.0.2" in output, output  # the node's
    assert f"chroot {cluster.node}" in output, output
    procs = re.search(r"own cgroup procs=(\d+)", output)
    assert procs is not None and int(procs[1]) >= 1, output  # its own cgroup, mounted and read
    assert (cluster.node_root / marker).is_file()
