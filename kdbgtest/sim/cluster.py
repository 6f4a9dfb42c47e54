"""Starting, finding, stopping and recovering a sim cluster: the Python API behind `kdbgtest sim`.

    with SimCluster(SimConfig(name="demo")) as kubeconfig:
        ...  # real kubectl --kubeconfig kubeconfig

`components()` and `set_component_version()` read and change the version each component runs, in place, while
the cluster runs (an upgrade; `kdbgtest.sim.versions`).

One daemon process per cluster name and state directory. `up` refuses to start a cluster whose daemon is
already running (it never attaches to someone else's cluster); leftovers of a crashed or killed daemon are
cleaned first, never reused. `down` works from any process, including after `kill -9` of the daemon.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kdbgtest.base import k8s, tools, waiting
from kdbgtest.base.errors import ClusterError, KdbgtestError, StepTimeout, ToolMissing
from kdbgtest.sim import kubeconfig, state, tls
from kdbgtest.sim.config import DEFAULT_STATE_ROOT, SimConfig
from kdbgtest.sim.node import cleanup, images

START_TIMEOUT = 30.0  # seconds for the daemon to answer /readyz
STOP_TIMEOUT = 30.0  # seconds for the daemon to stop its nodes after SIGTERM, before SIGKILL
KILL_TIMEOUT = 5.0
LOCK_TIMEOUT = 60.0  # seconds to wait while another `up` claims a cluster in the same parent directory
COMPONENTS_PATH = "/kdbgtest/v1/components"  # kdbgtest.sim.apiserver.components
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    phase: str
    node: str


@dataclass(frozen=True)
class SimStatus:
    """What `status()` found. `state`: running | starting | stopped | stale (leftovers of a dead daemon)."""

    name: str
    state: str
    state_dir: Path
    pid: int | None = None
    server: str | None = None
    kubeconfig: Path | None = None
    version: str | None = None
    nodes: list[NodeInfo] = field(default_factory=list)
    pods: list[PodInfo] = field(default_factory=list)
    error: str | None = None  # running, but the API did not answer as expected


class SimCluster:
    """One offline cluster, identified by its state directory (default /var/tmp/kdbgtest-sim/NAME)."""

    def __init__(self, config: SimConfig | None = None, *, kubeconfig_path: Path | None = None) -> None:
        self.config = config or SimConfig()
        self.paths = state.StateDir(self.config.state_path.resolve())
        self.kubeconfig_path = kubeconfig_path  # also merge the sim's entries into this file
        self.cleaned: list[str] = []  # what `up` removed of a crashed earlier run
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Path:
        return self.up()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    @property
    def cli_args(self) -> str:
        """The `--name`/`--state-dir` options that designate this cluster on the command line."""
        args = f"--name {self.config.name}"
        if self.paths.root != (DEFAULT_STATE_ROOT / self.config.name).resolve():  # a shell may lack the env
            args += f" --state-dir {self.paths.root}"
        return args

    # -- up --------------------------------------------------------------------------------------------------
    def up(self) -> Path:
        """Start the cluster and return its kubeconfig once the API server answers."""
        check_name(self.config.name)
        preflight()
        if self.kubeconfig_path is not None:
            kubeconfig.check_mergeable(self.kubeconfig_path.expanduser())
        with state.exclusive(self.paths.root.parent, timeout=LOCK_TIMEOUT):  # one `up` at a time claims it
            # Checked under the lock: outside it, a concurrent `up` may have created the directory but not yet
            # written cluster.json, and this one would call a cluster being born "not a sim state directory".
            self.paths.check_ours()
            self._refuse_running_or_clean_stale()
            try:
                self._launch()
            except BaseException as exc:
                self._abort(exc)
                raise
        try:
            ready = self._wait_ready()
            path = Path(ready.kubeconfig)
            if self.kubeconfig_path is not None:
                path = self._export(path, self.kubeconfig_path)
        except BaseException as exc:
            self._abort(exc)
            raise
        return path

    def _abort(self, exc: BaseException) -> None:
        """Undo a failed or interrupted start, noting on `exc` if even that fails."""
        try:
            self.down()
        except KdbgtestError as cleanup_error:
            exc.add_note(f"cleaning up after the failed start also failed: {cleanup_error}")

    def _refuse_running_or_clean_stale(self) -> None:
        pid = self.paths.daemon_pid()
        if pid is not None:
            ready = self.paths.read_ready()
            where = f" at {ready.server}, kubeconfig {ready.kubeconfig}" if ready else ""
            raise ClusterError(
                f"sim cluster '{self.config.name}' is already running (pid {pid}{where}); use it, or stop it "
                f"first with `kdbgtest sim down {self.cli_args}`"
            )
        if self.paths.exists():
            self.cleaned = self._remove_everything() or [f"stale state in {self.paths.root}"]

    def _launch(self) -> None:
        """Write the config and start the daemon in its own session, logging to the state dir."""
        self.paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.paths.write_config(self.config)
        with self.paths.log.open("ab") as log_file:
            self._proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                [sys.executable, "-m", state.DAEMON_MODULE, "--state-dir", str(self.paths.root)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",  # a daemon must not keep the caller's directory busy
                env=_daemon_env(),
            )
        self.paths.write_pid(self._proc.pid)

    def _wait_ready(self) -> state.Ready:
        try:
            ready: state.Ready = waiting.wait_for(
                self._probe_ready,
                timeout=START_TIMEOUT,
                what="the sim API server to answer",
                describe=str,
                interval=0.02,
            )
            return ready
        except (StepTimeout, _DaemonExited) as exc:
            tail = self.paths.log_tail()
            raise ClusterError(
                f"sim cluster '{self.config.name}' did not start: {exc}; the daemon log ends with:\n{tail}"
            ) from None

    def _probe_ready(self) -> tuple[bool, Any]:
        assert self._proc is not None
        code = self._proc.poll()
        if code is not None:
            raise _DaemonExited(f"the daemon exited with status {code}")
        ready = self.paths.read_ready()
        if ready is None:
            return False, "no ready.json yet"
        try:
            api_get(self.paths, ready.server, "/readyz", raw=True)
        except ClusterError as exc:
            return False, str(exc)
        return True, ready

    def _export(self, source: Path, target: Path) -> Path:
        """Merge the sim's kubeconfig entries into `target` (remembered, so `down` takes them out again)."""
        target = target.expanduser().absolute()
        created = kubeconfig.merge(target, kubeconfig.load(source))
        self.paths.add_export(target, created)
        return target

    # -- down ------------------------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop the daemon (SIGTERM, then SIGKILL after a deadline) and remove everything the cluster made.

        Returns what the stopped daemon had left behind (processes, mounts, runc containers, cgroups), all of
        which is then removed: empty after a clean shutdown, the crashed run's remains after a `kill -9`.
        """
        pid = self.paths.daemon_pid()
        if pid is None and self._proc is not None and self._proc.poll() is None:
            pid = self._proc.pid  # our own child, before it wrote its pidfile
        if pid is not None:
            _stop_daemon(pid)
        if self._proc is not None:
            self._proc.wait(timeout=KILL_TIMEOUT)  # reap our own child (it is dead by now)
            self._proc = None
        return self._remove_everything()

    def _remove_everything(self) -> list[str]:
        """Take the sim out of exported kubeconfigs and remove the state directory with all it holds.

        Returns what was left of a running cluster (see `down`). ClusterError if something cannot be removed.
        """
        self.paths.check_ours()
        for export in self.paths.read_exports():
            kubeconfig.remove(Path(export["path"]), self.config.name, delete_if_empty=export["created"])
        left = cleanup.leaks(self.paths.root)
        cleanup.remove_all(self.paths.root)
        remaining = cleanup.leaks(self.paths.root, removed=True)
        if remaining:
            raise ClusterError(
                f"could not remove everything of sim cluster '{self.config.name}': {'; '.join(remaining)}"
            )
        return left

    def state(self) -> str:
        """running | starting | stopped | stale, from the state directory and the process table only."""
        if self.paths.daemon_pid() is None:
            return "stale" if self.paths.exists() else "stopped"
        return "running" if self.paths.read_ready() is not None else "starting"

    # -- status ----------------------------------------------------------------------------------------------
    def status(self) -> SimStatus:
        """Whether the cluster runs, and if so its endpoint, version, nodes and pods."""
        name, root = self.config.name, self.paths.root
        pid = self.paths.daemon_pid()
        if pid is None:
            return SimStatus(name, "stale" if self.paths.exists() else "stopped", root)
        ready = self.paths.read_ready()
        if ready is None:
            return SimStatus(name, "starting", root, pid=pid)
        found = SimStatus(name, "running", root, pid=pid, server=ready.server, kubeconfig=Path(ready.kubeconfig))
        try:
            version = api_get(self.paths, ready.server, "/version")
            nodes = api_get(self.paths, ready.server, "/api/v1/nodes")["items"]
            pods = api_get(self.paths, ready.server, "/api/v1/pods")["items"]
        except (ClusterError, KeyError, TypeError, ValueError) as exc:
            return dataclasses.replace(found, error=str(exc))
        return dataclasses.replace(
            found,
            version=version.get("gitVersion"),
            nodes=[NodeInfo(n["metadata"]["name"], _node_ready(n)) for n in nodes],
            pods=[_pod_info(p) for p in pods],
        )

    # -- component versions (in-place upgrades) ------------------------------------------------------------
    def components(self) -> dict[str, str]:
        """The version ("1.N") each component runs now: kube-apiserver, kube-controller-manager, kube-scheduler,
        kubelet."""
        versions: dict[str, str] = api_send(self.paths, self._server(), "GET", COMPONENTS_PATH)
        return versions

    def set_component_version(self, component: str, version: str) -> dict[str, str]:
        """Run `version` ("1.N") of `component` from now on, in place; returns every component's version.

        ClusterError with the server's message if the component or the version is not one the sim runs.
        """
        path = f"{COMPONENTS_PATH}/{urllib.parse.quote(component, safe='')}"
        try:
            versions: dict[str, str] = api_send(self.paths, self._server(), "PUT", path, {"version": version})
        except ClusterError as exc:
            raise ClusterError(
                f"could not set {component} to {version} on sim cluster '{self.config.name}': {exc}"
            ) from None
        return versions

    def _server(self) -> str:
        ready = self.paths.read_ready() if self.paths.daemon_pid() is not None else None
        if ready is None:
            raise ClusterError(f"sim cluster '{self.config.name}' is not running ({self.state()})")
        return ready.server


class _DaemonExited(Exception):
    pass


def _stop_daemon(pid: int) -> None:
    """SIGTERM the daemon and wait for it to stop its nodes; SIGKILL it if it does not within the deadline."""
    started = state.start_time(pid)
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, KILL_TIMEOUT)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        try:
            waiting.wait_for(
                lambda: (state.start_time(pid) != started, pid),
                timeout=timeout,
                what=f"sim daemon pid {pid} to exit after {sig.name}",
                interval=0.05,
            )
            return
        except StepTimeout:
            continue
    raise ClusterError(f"sim daemon pid {pid} survived SIGKILL; check `ps -p {pid}` (stuck in D state?)")


def check_name(name: str) -> None:
    """A cluster name must be usable in node names, kubeconfig entries and paths."""
    if not _NAME.match(name):
        raise ClusterError(
            f"invalid sim cluster name {name!r}: use 1-40 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )


def preflight() -> None:
    """The sim needs root (containers, mounts), runc and busybox, and a well-formed KDBGTEST_SIM_IMAGES."""
    missing = []
    for tool in ("runc", "busybox"):
        try:
            tools.require(tool)
        except ToolMissing:
            missing.append(tool)
    if missing:
        raise ToolMissing(f"the sim needs {' and '.join(missing)}: apt-get install runc busybox-static")
    if os.geteuid() != 0:
        raise ClusterError("the sim needs root (it runs containers with runc and mounts); run it as root")
    images.mappings_from_env(os.environ.get(images.ENV_VAR))  # a malformed mapping fails here, in one line


def unavailable_reason() -> str | None:
    """Why the sim cannot run on this machine (for test skips), or None."""
    try:
        preflight()
    except KdbgtestError as exc:
        return str(exc)
    return None


def api_get(paths: state.StateDir, server: str, path: str, *, raw: bool = False) -> Any:
    """GET `path` from the sim's API server with its CA and token: JSON (text if `raw`), or ClusterError."""
    try:
        body = _request(paths, server, "GET", path)
    except (urllib.error.URLError, OSError) as exc:
        raise ClusterError(f"sim API server {server} did not answer GET {path}: {exc}") from None
    return body if raw else json.loads(body)


def api_send(paths: state.StateDir, server: str, method: str, path: str, body: Any = None) -> Any:
    """`method path` on the sim's API server with a JSON body (if any): the JSON answer, or ClusterError with
    the message of the Status the server answered with (or why it did not answer)."""
    try:
        return json.loads(_request(paths, server, method, path, body))
    except urllib.error.HTTPError as exc:
        raise ClusterError(f"{method} {path} failed with {exc.code}: {_status_message(exc)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ClusterError(f"sim API server {server} did not answer {method} {path}: {exc}") from None


def _request(paths: state.StateDir, server: str, method: str, path: str, body: Any = None) -> str:
    creds = tls.read(paths.tls)
    ctx = ssl.create_default_context(cadata=creds.ca_pem.decode())
    headers = {"Authorization": f"Bearer {creds.token}"}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(server + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=5, context=ctx) as response:
        text: str = response.read().decode()
    return text


def _status_message(error: urllib.error.HTTPError) -> str:
    """The `message` of the metav1.Status in an error answer, else the HTTP reason."""
    try:
        found = json.loads(error.read()).get("message")
    except (ValueError, AttributeError, OSError):
        found = None
    return found if isinstance(found, str) and found else str(error.reason)


def _node_ready(node: k8s.Node) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _pod_info(pod: k8s.Pod) -> PodInfo:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    return PodInfo(meta.get("namespace", ""), meta["name"], status.get("phase", ""), spec.get("nodeName", ""))


def _daemon_env() -> dict[str, str]:
    """The daemon's environment: ours, with the kdbgtest package importable even if it is not installed."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env
