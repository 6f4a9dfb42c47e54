"""`LocalCluster`: up, down and status of a real single-node Kubernetes on this host.

`up` builds what is missing, records what it is about to change (state.json, written before any change), then
starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (with the images imported) and
the kubelet, each waited for, and returns the admin kubeconfig once the node is Ready and the default service
account exists. Any failure or Ctrl-C on the way undoes everything. `down` stops the components in reverse
order and then removes whatever a crash may have left (`host.restore`), so `up` after `kill -9` starts clean.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdbgtest.base import interrupt, k8s, process, waiting
from kdbgtest.base.errors import ClusterError, KdbgtestError, StepTimeout
from kdbgtest.local import build, components, host, images, pki, procs
from kdbgtest.local import layout as paths
from kdbgtest.local import pins as pinning

API_TIMEOUT = 120.0
NODE_TIMEOUT = 180.0
CNI_PLUGINS = ("bridge", "host-local", "loopback")
# The components an in-place upgrade replaces, in the documented order (etcd and containerd keep running).
UPGRADE_ORDER = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet")
HEALTH_PORTS = {"kube-controller-manager": 10257, "kube-scheduler": 10259}  # their default secure ports
KUBELET_HEALTHZ = 10248  # the kubelet's default healthz port (plain HTTP on 127.0.0.1)
Progress = Callable[[str], None]


@dataclass
class LocalStatus:
    name: str
    state: str  # running, stopped, stale
    version: str = ""
    components: dict[str, bool] = field(default_factory=dict)  # name -> alive
    kubeconfig: str = ""
    nodes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # component -> its version (see component_versions)


class LocalCluster:
    """One local cluster, named `name` (one may run per host)."""

    def __init__(
        self,
        name: str = paths.DEFAULT_NAME,
        version: str = pinning.DEFAULT_VERSION,
        *,
        pins_root: Path | None = None,
        state_parent: Path | None = None,
        progress: Progress = lambda message: None,
    ) -> None:
        self.where = paths.Layout(name, state_parent)
        self.version = pinning.normalize(version)
        self.pins_root = pins_root
        self.progress = progress
        self.cleaned: list[str] = []  # what `up` removed of a crashed earlier run
        self._started: list[procs.Running] = []
        self.node = paths.Node("", "")  # set by `up`  # watched during start-up: one that dies fails `up` at once

    # ---- up ---------------------------------------------------------------------------------------------

    def up(self, *, export: Path | None = None) -> Path:
        """Start the cluster (building it first if needed); return the admin kubeconfig path."""
        preflight()
        pins = pinning.load(self.version, self.pins_root)
        with _locked(self.where.lock):
            self._refuse_running()
            if self.where.state.exists():
                self.cleaned = self._teardown()
            bin_dir = build.build(pins, progress=self.progress)
            try:
                self._start(pins, bin_dir)
            except BaseException:
                self.progress("start failed; removing what was started")
                self._teardown()
                raise
        if export is not None:
            export.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.where.kubeconfig, export)
            export.chmod(0o600)
        return self.where.kubeconfig

    def _start(self, pins: pinning.Pins, bin_dir: Path) -> None:
        where = self.where
        where.root.mkdir(parents=True, exist_ok=True)
        where.root.chmod(0o700)
        node = host.detect_node()
        self.node = node
        record: dict[str, Any] = {
            "node": node.name,
            "version": pins.kubernetes,
            "bin_dir": str(bin_dir),
            "host": host.snapshot(),
            "components": [],
            "started": time.time(),
        }
        self._save(record)
        began = time.monotonic()
        host.prepare()
        where.pki.generate(node.name, where.server, _serving_names())
        admin = pki.identities(node.name)[0]
        where.kubeconfig.write_text(
            where.pki.kubeconfig_text(admin, where.server, where.name, others=pki.named_identities())
        )
        where.kubeconfig.chmod(0o600)
        components.write_configs(where, pins, node)
        archives = images.build_archives(build.cache_root() / pins.kubernetes / "images", pins.pause)
        etcd, apiserver, *controllers = components.control_plane(where, bin_dir)
        self._launch(record, etcd)
        self._wait_url("http://127.0.0.1:2379/health", "etcd")
        self._launch(record, apiserver)
        waiting.wait_for(
            lambda: self._probe("/readyz"),
            timeout=API_TIMEOUT,
            what="kube-apiserver /readyz",
            interval=0.5,
            describe=str,
        )
        for component in controllers:
            self._launch(record, component)
        self._launch(record, components.containerd(where, bin_dir))
        waiting.wait_for(
            lambda: (where.containerd_socket.exists(), str(where.containerd_socket)),
            timeout=60,
            what="containerd's socket",
            interval=0.2,
        )
        self._import(bin_dir, archives)
        self._launch(record, components.kubelet(where, bin_dir, node))
        waiting.wait_for(
            self._node_ready,
            timeout=NODE_TIMEOUT,
            what=f"node {node.name} to be Ready",
            interval=1.0,
            describe=str,
        )
        waiting.wait_for(
            lambda: self._probe("/api/v1/namespaces/default/serviceaccounts/default"),
            timeout=60,
            what="the default service account",
            interval=0.5,
            describe=str,
        )
        self.progress(f"local cluster '{where.name}' ({pins.kubernetes}) is ready in {time.monotonic() - began:.1f}s")

    def _launch(self, record: dict[str, Any], component: components.Component) -> None:
        self.progress(f"starting {component.name}")
        env = {"PATH": f"{Path(component.argv[0]).parent}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}
        running = procs.start(component.name, component.argv, self.where.log(component.name), env)
        record["components"].append({**running.to_json(), "version": record["version"]})
        self._save(record)
        self._started.append(running)

    def _import(self, bin_dir: Path, archives: list[Path]) -> None:
        ctr = [str(bin_dir / "ctr"), "--address", str(self.where.containerd_socket), "-n", "k8s.io"]
        for archive in archives:
            process.run([*ctr, "images", "import", "--platform", "linux/amd64", str(archive)], timeout=120)

    # ---- in-place upgrades ------------------------------------------------------------------------------

    def component_versions(self) -> dict[str, str]:
        """Each component's version as recorded; one being replaced reads `v1.36.3 -> v1.37.2 (stopped)`."""
        record = self._load()
        found = {}
        for data in record.get("components", []):
            version = str(data.get("version", record.get("version", "")))
            if data.get("target"):
                version = f"{version} -> {data['target']} (stopped)"
            found[str(data["name"])] = version
        return found

    def replace_component(self, name: str, version: str) -> float:
        """Restart `name` from the binaries of `version`, keeping etcd's data, containerd and the pods; wait until
        it is healthy again (a kubelet: node Ready, reporting `version`). Returns the seconds it took.

        state.json says at every moment which version each component runs: the component is marked with its
        target before it is stopped, and the new process is recorded in the same signal-shielded block that
        starts it, so an interrupted upgrade names the one component caught between versions.
        """
        if name not in UPGRADE_ORDER:
            raise KdbgtestError(f"cannot upgrade {name!r} in place; the components are {', '.join(UPGRADE_ORDER)}")
        target = pinning.load(version, self.pins_root)
        bin_dir = build.build(target, progress=self.progress)
        began = time.monotonic()
        with _locked(self.where.lock):
            if self.state() != "running":
                raise ClusterError(f"local cluster '{self.where.name}' is not running (see `kdbgtest local status`)")
            record = self._load()
            self.node = host.detect_node()
            entry = next(c for c in record["components"] if c["name"] == name)
            self.progress(f"{name}: {entry.get('version', record['version'])} -> {target.kubernetes}")
            with interrupt.shielded() as deferred:
                entry["target"] = target.kubernetes
                self._save(record)
                procs.stop(procs.Running.from_json(entry))
                command = self._command(name, bin_dir)
                env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}
                running = procs.start(name, command.argv, self.where.log(name), env)
                entry.clear()
                entry.update({**running.to_json(), "version": target.kubernetes})
                self._save(record)
        if deferred:
            raise interrupt.Interrupted(deferred[0])
        self._started = [running]
        self._wait_healthy(name, target.kubernetes)
        return time.monotonic() - began

    def _command(self, name: str, bin_dir: Path) -> components.Component:
        if name == "kubelet":
            return components.kubelet(self.where, bin_dir, self.node)
        return next(c for c in components.control_plane(self.where, bin_dir) if c.name == name)

    def _wait_healthy(self, name: str, version: str) -> None:
        restarted = time.time()

        def probe() -> tuple[bool, str]:
            if name == "kube-apiserver":
                return self._probe("/readyz")
            if name == "kubelet":
                return self._kubelet_ready(version, restarted)
            return self._healthz(HEALTH_PORTS[name])

        what = f"{name} {version} to be healthy"
        waiting.wait_for(probe, timeout=NODE_TIMEOUT, what=what, interval=0.5, describe=str)

    def _kubelet_ready(self, version: str, restarted: float) -> tuple[bool, str]:
        """The new kubelet's own /healthz (its sync loop runs), and a Ready heartbeat it posted itself: the node's
        Ready condition alone is the old kubelet's until the new one reports."""
        healthy, said = self._healthz(KUBELET_HEALTHZ, tls=False)
        if not healthy:
            return False, f"kubelet /healthz: {said}"
        node: k8s.Node = self.api_get(f"/api/v1/nodes/{self.node.name}")
        reported = node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")
        conditions = node.get("status", {}).get("conditions", [])
        ready = next((c for c in conditions if c["type"] == "Ready"), k8s.Condition())
        beat = _seconds(ready.get("lastHeartbeatTime", ""))
        fresh = beat >= int(restarted)
        when = "after" if fresh else "before"
        state = f"kubeletVersion {reported}, Ready={ready.get('status')} (heartbeat {when} the restart)"
        return reported == version and ready.get("status") == "True" and fresh, state

    def _healthz(self, port: int, *, tls: bool = True) -> tuple[bool, str]:
        self._check_alive()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # its self-signed serving certificate; only /healthz is read
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=2, context=context if tls else None) as response:
                return response.status == 200, f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            return False, str(exc)

    # ---- probes -----------------------------------------------------------------------------------------

    def _check_alive(self) -> None:
        for running in self._started:
            if not running.alive():
                log = self.where.log(running.name)
                raise ClusterError(f"{running.name} exited during start-up; the end of {log}:\n" + procs.log_tail(log))

    def _probe(self, path: str) -> tuple[bool, str]:
        self._check_alive()
        try:
            self.api_get(path, raw=True)
            return True, "ok"
        except ClusterError as exc:
            return False, str(exc)

    def _node_ready(self) -> tuple[bool, str]:
        self._check_alive()
        try:
            node: k8s.Node = self.api_get(f"/api/v1/nodes/{self.node.name}")
        except ClusterError as exc:
            return False, str(exc)
        conditions = {c["type"]: c for c in node.get("status", {}).get("conditions", [])}
        ready = conditions.get("Ready", {})
        return ready.get("status") == "True", f"Ready={ready.get('status')} ({ready.get('message', '')})"

    def _wait_url(self, url: str, what: str) -> None:
        def probe() -> tuple[bool, str]:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return response.status == 200, f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                return False, str(exc)

        waiting.wait_for(probe, timeout=60, what=what, interval=0.2, describe=str)

    def api_get(self, path: str, *, raw: bool = False) -> Any:
        """GET `path` as the admin (JSON, or text with `raw`), or a ClusterError saying why not."""
        certs = self.where.pki
        context = ssl.create_default_context(cafile=str(certs.ca_cert))
        context.load_cert_chain(str(certs.cert("admin")), str(certs.key("admin")))
        try:
            with urllib.request.urlopen(self.where.server + path, timeout=5, context=context) as response:
                body = response.read().decode()
                return body if raw else json.loads(body or "null")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ClusterError(f"the local API server did not answer GET {path}: {exc}") from None

    # ---- down and status --------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop everything and undo every host change; return what was stopped and undone (for the user).

        Then check: a process, mount, cgroup, bridge or egress rule of a local cluster still on the host is a
        `ClusterError` naming it (the leak check `./dev local` and CI rely on).
        """
        with _locked(self.where.lock):
            removed = self._teardown()
            left = leftovers(self.where.root.parent)
        if left:
            raise ClusterError(f"the local cluster left behind after down: {'; '.join(left)}")
        return removed

    def _teardown(self) -> list[str]:
        record = self._load()
        forced: list[str] = []
        for data in reversed(record.get("components", [])):
            running = procs.Running.from_json(data)
            if running.alive() and procs.stop(running):
                forced.append(f"{running.name} (needed SIGKILL)")
        # any version's binaries: after an in-place upgrade components (and shims) run from two bin directories
        leftovers = host.restore(record.get("host", {}), self.where.root, build.cache_root())
        if self.where.root.exists():
            host.unmount_below(self.where.root)
            shutil.rmtree(self.where.root)
        return forced + leftovers

    def state(self) -> str:
        record = self._load()
        if not record:
            return "stopped"
        alive = [procs.Running.from_json(c).alive() for c in record.get("components", [])]
        return "running" if alive and all(alive) else "stale"

    def status(self) -> LocalStatus:
        record = self._load()
        result = LocalStatus(self.where.name, self.state(), _cluster_version(record, self.component_versions()))
        result.components = {c["name"]: procs.Running.from_json(c).alive() for c in record.get("components", [])}
        result.versions = self.component_versions()
        if result.state == "running":
            result.kubeconfig = str(self.where.kubeconfig)
            with contextlib.suppress(ClusterError):
                result.nodes = [n["metadata"]["name"] for n in self.api_get("/api/v1/nodes").get("items", [])]
        return result

    def _refuse_running(self) -> None:
        for other in sorted(self.where.root.parent.glob("*/state.json")):
            cluster = LocalCluster(other.parent.name, state_parent=self.where.root.parent)
            if cluster.state() == "running":
                raise ClusterError(
                    f"local cluster '{other.parent.name}' is already running (one per host); use it, or stop it "
                    f"with `kdbgtest local down --name {other.parent.name}`"
                )

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.where.state.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, record: dict[str, Any]) -> None:
        tmp = self.where.state.with_name(".state.json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(self.where.state)


def _seconds(stamp: str) -> int:
    """An API timestamp (2026-12-02T11:47:04Z) as epoch seconds; 0 if absent."""
    import calendar

    try:
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return 0


def _cluster_version(record: dict[str, Any], versions: dict[str, str]) -> str:
    """The Kubernetes version all upgradable components run, or `mixed (...)` in the middle of an upgrade."""
    found = {versions[name] for name in UPGRADE_ORDER if name in versions}
    if len(found) <= 1:
        return found.pop() if found else str(record.get("version", ""))
    return "mixed (" + ", ".join(f"{n} {versions[n]}" for n in UPGRADE_ORDER if n in versions) + ")"


def leftovers(state_parent: Path) -> list[str]:
    """What of any local cluster is still on the host (no baseline needed: none of it exists without one)."""
    found = host.footprint(state_parent, build.cache_root())
    problems = [f"{key}: {found[key]}" for key in ("processes", "mounts", "cgroups", "state dirs") if found[key]]
    problems += [key for key in ("bridge", "egress rule") if found[key]]
    return problems


def preflight() -> None:
    """Root, runc, iptables, ip and the CNI plugins; each missing piece named with its Debian package."""
    if os.geteuid() != 0:
        raise ClusterError("the local cluster runs kubelet and containerd on this host and needs root; run as root")
    needs = {"runc": "runc", "iptables": "iptables", "ip": "iproute2", "busybox": "busybox-static", "gcc": "gcc"}
    missing = sorted({pkg for tool, pkg in needs.items() if shutil.which(tool) is None})
    plugin_dirs = [Path(d) for d in components.CNI_PLUGIN_DIRS]
    if not all(any((d / p).is_file() for d in plugin_dirs) for p in CNI_PLUGINS):
        missing.append("containernetworking-plugins")
    if missing:
        raise ClusterError(f"the local cluster needs: apt-get install {' '.join(missing)}")
    if not Path("/dev/kmsg").exists():
        raise ClusterError("the kubelet needs /dev/kmsg, which this machine lacks")


def _serving_names() -> list[str]:
    return [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "127.0.0.1",
        "10.96.0.1",
        *_host_addresses(),
    ]


def _host_addresses() -> list[str]:
    """This host's own IPv4 addresses (the API server advertises the default route's)."""
    try:
        done = process.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], timeout=10, check=False)
    except KdbgtestError:
        return []
    return [line.split()[3].split("/")[0] for line in done.stdout.splitlines() if len(line.split()) > 3]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on the state parent: one `up` or `down` at a time on this host."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:

        def attempt() -> tuple[bool, str]:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False, "held by another kdbgtest local command"
            return True, ""

        try:
            waiting.wait_for(attempt, timeout=600, what=f"the lock on {directory}", interval=0.5, describe=str)
        except StepTimeout as exc:
            raise ClusterError(str(exc)) from None
        yield
    finally:
        os.close(fd)
