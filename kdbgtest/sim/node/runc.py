"""The runc wrapper: containers and execs as foreground `runc run` / `runc exec` children of the sim.

Why foreground runc (a minimal shim per process) rather than `runc run -d` plus a subreaper: the exit status
comes back as runc's own exit code (128+N for signal N), with no waitpid(-1) that would race asyncio's child
watcher, and it works across PID namespaces, where the kernel never reparents an orphan to a subreaper
outside its namespace.

Containers of a sim node (`pid_parent`: the node's init pid) live in a PID namespace nested in the node's, as
on a kind node: runc runs as `nsenter --mount=<view> --pid=<node> -- runc ...`, where the view (views.py) is
a mount namespace with the node's /proc and only the host directories runc needs (`visible`, `expose`).
Overlays of node containers are mounted inside the view. Namespace paths in a config (`/proc/PID/ns/X`, host
pids) are translated into the view's pids; `Process.pid` is always the host pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kdbgtest.base import async_process, tools
from kdbgtest.sim.node import cgroups, mounts, procfs, spec, tasks, views
from kdbgtest.sim.node.spec import ContainerConfig, Mount
from kdbgtest.sim.node.tasks import Process

__all__ = ["ContainerConfig", "Mount", "Process", "Runc", "RuntimeFailure", "StartError"]

START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 20.0
CGROUP_MARKER = ".kdbgtest-cgroup"  # file in a runc root naming its cgroup parent (read by cleanup)
_POLL = 0.002


class StartError(Exception):
    """The process could not start; `message` is the runtime's text as containerd shows it."""

    def __init__(self, message: str, kind: str) -> None:
        self.message = message
        self.kind = kind  # "run" | "exec"
        super().__init__(message)


class RuntimeFailure(Exception):
    """A runc command other than starting a process failed (message: runc's)."""


def run_message(runc_error: str) -> str:
    """containerd's text for a failed container start, from runc's `runc run failed: ...`."""
    detail = runc_error.removeprefix("runc run failed: ").removeprefix("runc create failed: ")
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        f"runc create failed: {detail}: unknown"
    )


def exec_message(runc_error: str) -> str:
    """containerd's text for a failed exec, from runc's `exec failed: ...`."""
    detail = runc_error.removeprefix("runc exec failed: ")
    return f"OCI runtime exec failed: {detail}: unknown"


class Runc:
    """runc with one state root. Containers run with `pid_parent` live in that node's PID namespace."""

    def __init__(self, root: Path, *, binary: Path | None = None, visible: Sequence[Path] = ()) -> None:
        self.root = root
        self.binary = str(binary or tools.require("runc"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.cgroup_parent = "/kdbgtest-sim/" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
        (self.root / CGROUP_MARKER).write_text(self.cgroup_parent + "\n")
        self._nsenter = str(tools.require("nsenter"))
        self._views: dict[int, views.View] = {}
        self._where: dict[str, int | None] = {}  # container id -> pid_parent
        self._bundles: dict[str, Path] = {}
        self._view_lock = asyncio.Lock()
        self._exec_dir = self.root.with_name(self.root.name + "-execs")
        self._exec_dir.mkdir(exist_ok=True)
        self._visible = [root.resolve(), self._exec_dir.resolve(), *visible]

    @property
    def host(self) -> int:
        """`pid_parent` for a container in the host's PID namespace whose runc must still run in a view: one
        in a node's user namespace (its root must reach the rootfs: in a view only the directories given to
        `expose` are reachable, through world-searchable parents, whatever the modes of the real parents)."""
        return os.getpid()

    def expose(self, *paths: Path) -> None:
        """Let runc see host directories in views made from now on (bundles, image caches, volumes).

        The runc root is always visible."""
        self._visible += paths

    # ---- containers -----------------------------------------------------------------------------------

    async def run(self, cfg: ContainerConfig, bundle: Path, *, pid_parent: int | None = None) -> Process:
        """Create and start a container in `bundle` (created; removed by `delete`); return once it runs.

        Call `delete` for every container, even one that exited: it removes the bundle and its mounts.
        StartError (kind "run") carries containerd's message when the process cannot start.
        """
        if (self.root / cfg.id / "state.json").exists():  # runc's check, made before touching anything
            raise StartError(run_message("container with given ID already exists"), "run")
        view = await self._view(pid_parent) if pid_parent is not None else None
        if pid_parent is not None and "user" not in cfg.namespaces and _other_user_ns(pid_parent):
            # The kernel nests a PID namespace only in one of the same or an ancestor user namespace.
            cfg = dataclasses.replace(cfg, namespaces={**cfg.namespaces, "user": f"/proc/{pid_parent}/ns/user"})
        bundle.mkdir(parents=True, exist_ok=True)
        self._bundles[cfg.id] = bundle
        self._where[cfg.id] = pid_parent
        try:
            argv, log, pidfile = await self._prepare(cfg, bundle, view)
            return await self._start(argv, view, tty=cfg.tty, stdin=cfg.stdin, size=cfg.console_size,
                                     pidfile=pidfile, log=log, kind="run")  # fmt: skip
        except BaseException:
            with contextlib.suppress(RuntimeFailure):  # nothing half-made: no state, no mount, no bundle
                await asyncio.shield(self.delete(cfg.id))
            raise

    async def _prepare(
        self, cfg: ContainerConfig, bundle: Path, view: views.View | None
    ) -> tuple[list[str], Path, Path]:
        """Write the bundle (rootfs layer, /etc files, config.json); the `runc run` argv, log and pid file."""
        rootfs = cfg.rootfs
        if cfg.overlay:
            rootfs = await self._writable_rootfs(cfg.rootfs, bundle / "layer", view)
        etc = []
        if cfg.etc_files:
            (bundle / "etc").mkdir(exist_ok=True)
            etc = spec.etc_files(cfg, bundle / "etc")
        try:
            joined = {k: (view.translate(v) if view and v else v) for k, v in cfg.namespaces.items()}
        except ValueError as exc:
            raise StartError(run_message(f"unable to join namespaces: {exc}"), "run") from None
        translated = dataclasses.replace(cfg, namespaces=joined)
        config = spec.config(translated, rootfs, etc, f"{self.cgroup_parent}/{cfg.id}")
        (bundle / "config.json").write_text(json.dumps(config))
        log, pidfile = bundle / "runc.log", bundle / "init.pid"
        for stale in (log, pidfile):
            stale.unlink(missing_ok=True)
        argv = [*self._global(log), "run", "--bundle", str(bundle), "--pid-file", str(pidfile), cfg.id]
        return argv, log, pidfile

    async def exec(
        self,
        container_id: str,
        args: list[str],
        *,
        tty: bool = False,
        stdin: bool = False,
        env: list[str] | None = None,
        cwd: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        capabilities: list[str] | None = None,
        additional_gids: list[int] | None = None,
        console_size: tuple[int, int] = (80, 24),
    ) -> Process:
        """Start `args` in a running container; StartError (kind "exec", containerd's message) if it can't.

        As CRI exec does, the process inherits the container's env, cwd, user and capabilities; a keyword
        given here replaces the inherited value.
        """
        view = self._views.get(self._where.get(container_id) or -1)
        bundle = self._bundles.get(container_id)
        work = (bundle or self._exec_dir) / "execs"
        work.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex[:12]
        overrides = spec.ExecOverrides(env, cwd, uid, gid, additional_gids, capabilities)
        process = spec.exec_process(_init_process(bundle), args, tty, console_size, overrides)
        process_file, log, pidfile = work / f"{name}.json", work / f"{name}.log", work / f"{name}.pid"
        process_file.write_text(json.dumps(process))
        argv = [*self._global(log), "exec", "--process", str(process_file), "--pid-file", str(pidfile)]
        argv.append(container_id)
        try:
            return await self._start(argv, view, tty=tty, stdin=stdin, size=console_size,
                                     pidfile=pidfile, log=log, kind="exec")  # fmt: skip
        finally:
            for path in (process_file, log, pidfile):
                path.unlink(missing_ok=True)

    async def kill(self, container_id: str, sig: int = signal.SIGTERM) -> None:
        """Signal a container's init (`runc kill`); a container that is gone is not an error."""
        await self._command(container_id, "kill", container_id, str(int(sig)), missing_ok=True)

    async def delete(self, container_id: str, force: bool = True) -> None:
        """Remove a container (killing it with `force`), unmount its rootfs and remove its bundle."""
        args = ["delete", *(["--force"] if force else []), container_id]
        await self._command(container_id, *args, missing_ok=True)
        bundle = self._bundles.pop(container_id, None)
        where = self._where.pop(container_id, None)
        view = self._views.get(where or -1)
        if bundle is not None:
            if view is not None:
                await view.run(["umount", "-l", str(bundle / "layer" / "merged")])
            remove_bundle(bundle)
        if where == self.host and where not in self._where.values():
            await self.close_view(where)  # the last node is gone: nothing of the sim stays running

    async def state(self, container_id: str) -> dict[str, Any]:
        """`runc state` as a dict (status: created|running|stopped; pid as runc's namespace sees it)."""
        out = await self._command(container_id, "state", container_id)
        result: dict[str, Any] = json.loads(out)
        return result

    async def list_ids(self) -> list[str]:
        """Ids of every container not yet deleted: in runc's state, or exited with its bundle still there."""
        return sorted({p.parent.name for p in self.root.glob("*/state.json")} | set(self._bundles))

    async def close_view(self, pid_parent: int) -> None:
        """After a node's init has died: delete what is left of its containers and release its view."""
        view = self._views.pop(pid_parent, None)
        for container_id in [c for c, p in self._where.items() if p == pid_parent]:
            self._where[container_id] = None  # its processes died with the node: runc can run on the host
            with contextlib.suppress(RuntimeFailure):
                await self.delete(container_id)
        if view is not None:
            await view.close()

    async def close(self) -> None:
        """Release every view, and this root's cgroup parent if no container is left in it."""
        for pid_parent in list(self._views):
            await self.close_view(pid_parent)
        remove_cgroup_parent(self.cgroup_parent)

    # ---- internals ------------------------------------------------------------------------------------

    def _global(self, log: Path) -> list[str]:
        return [self.binary, "--root", str(self.root), "--log", str(log), "--log-format", "json"]

    def _prefix(self, container_id: str) -> list[str]:
        view = self._views.get(self._where.get(container_id) or -1)
        return view.prefix(self._nsenter) if view else []

    async def _start(
        self,
        argv: list[str],
        view: views.View | None,
        *,
        tty: bool,
        stdin: bool,
        size: tuple[int, int],
        pidfile: Path,
        log: Path,
        kind: str,
    ) -> Process:
        full = (view.prefix(self._nsenter) if view else []) + argv
        master: int | None = None
        if tty:
            master, slave = tasks.open_pty(*size)
            full = [str(tools.require("setsid")), "--ctty", *full]
            try:  # setsid makes the session (a session leader could not: it would fork and exit)
                proc = await async_process.spawn(full, stdin=slave, stdout=slave, stderr=slave, new_session=False)
            finally:
                os.close(slave)
        else:
            pipe = async_process.PIPE
            proc = await async_process.spawn(
                full, stdin=pipe if stdin else async_process.DEVNULL, stdout=pipe, stderr=pipe
            )
        try:
            pid = await _started(proc, pidfile, log, kind)
            host_pid = pid if view is None else await _host_pid(proc.pid, view, pid)
        except BaseException:
            if master is not None:
                os.close(master)
            if proc.returncode is None:
                await async_process.stop(proc, grace=0)
            raise
        return Process(proc, host_pid, tty=tty, master=master)

    async def _writable_rootfs(self, image_rootfs: Path, layer: Path, view: views.View | None) -> Path:
        """The image under a private writable layer; mounted inside the node's view for node containers
        (a mount made on the host would not reach the view unless made below a shared mount)."""
        if view is None:
            return mounts.writable_rootfs(image_rootfs, layer)[0]
        merged, upper, work = mounts.make_layer_dirs(image_rootfs, layer)
        options = f"lowerdir={image_rootfs},upperdir={upper},workdir={work}"
        overlay = ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)]
        if await view.run(overlay) is not None:
            shutil.rmtree(merged)
            shutil.copytree(image_rootfs, merged, symlinks=True)
        return merged

    async def _view(self, pid_parent: int) -> views.View:
        async with self._view_lock:
            view = self._views.get(pid_parent)
            if view is not None and view.holder.returncode is None:
                return view
            view = await views.make(pid_parent, self.root.resolve().parent, self._visible)
            self._views[pid_parent] = view
            return view

    async def _command(self, container_id: str, *args: str, missing_ok: bool = False) -> str:
        argv = [*self._prefix(container_id), self.binary, "--root", str(self.root), *args]
        try:
            done = await async_process.run(argv, timeout=COMMAND_TIMEOUT, check=False)
        except async_process.ProcessTimeout as exc:
            raise RuntimeFailure(str(exc)) from None
        text = done.stderr.strip()
        if done.returncode != 0:
            if missing_ok and ("does not exist" in text or "not running" in text or "not exist" in text):
                return ""
            raise RuntimeFailure(f"`runc {' '.join(args)}` failed: {text or done.returncode}")
        return done.stdout


def _other_user_ns(pid: int) -> bool:
    """Whether process `pid` is in a user namespace other than the sim's (a node's)."""
    return Path(f"/proc/{pid}/ns/user").stat().st_ino != Path("/proc/self/ns/user").stat().st_ino


def _init_process(bundle: Path | None) -> dict[str, Any] | None:
    """The container's init process spec (from its config.json), None if unknown."""
    if bundle is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        process: dict[str, Any] = json.loads((bundle / "config.json").read_text())["process"]
        return process
    return None


async def _started(proc: asyncio.subprocess.Process, pidfile: Path, log: Path, kind: str) -> int:
    """Wait for runc's pid file (written once the user process runs); StartError if runc exits first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(pidfile.read_text())
        if proc.returncode is not None:
            break
        if loop.time() > deadline:
            raise StartError(f"runc did not start the process within {START_TIMEOUT:g}s", kind)
        await asyncio.sleep(_POLL)
    error = _last_error(log) or f"runc exited with code {proc.returncode} before the process started"
    raise StartError(run_message(error) if kind == "run" else exec_message(error), kind)


def _last_error(log: Path) -> str | None:
    """The last error message in runc's JSON log."""
    message = None
    with contextlib.suppress(FileNotFoundError):
        for line in log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    message = str(entry.get("msg", ""))
    return message


async def _host_pid(nsenter_pid: int, view: views.View, ns_pid: int) -> int:
    """Host pid of the process runc reported as `ns_pid` in the node's namespace (a descendant of nsenter).

    GONE if it has already exited (a process that fast cannot be signalled or joined anyway)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline:
        found = procfs.descendant_with_ns_pid(nsenter_pid, view.level, ns_pid)
        if found is not None:
            return found
        if not view.has_pid(ns_pid):
            return tasks.GONE
        await asyncio.sleep(_POLL)
    raise RuntimeFailure(f"cannot find the host pid of node pid {ns_pid} under process {nsenter_pid}")


def remove_bundle(bundle: Path) -> None:
    """Unmount a bundle's overlay (lazily if busy) and remove the bundle directory."""
    merged = bundle / "layer" / "merged"
    if os.path.ismount(merged):
        try:
            mounts.umount(merged)
        except OSError:
            mounts.umount(merged, lazy=True)
    shutil.rmtree(bundle, ignore_errors=True)


def remove_cgroup_parent(parent: str, layout: cgroups.Layout | None = None) -> None:
    """Remove a root's (empty) cgroup parent directory in every hierarchy; one still in use stays."""
    for directory in (layout or cgroups.detect()).dirs(parent):
        with contextlib.suppress(OSError):
            directory.rmdir()
