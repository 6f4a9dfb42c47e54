"""What the kubelet serves for a pod: logs (`validateContainerLogStatus`), attach, exec, with its messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kdbgtest.sim.contracts import LogsUnavailable, StreamError
from kdbgtest.sim.node import logs, streams
from kdbgtest.sim.node.instance import Instance
from kdbgtest.sim.node.podcontext import ExecFailed
from kdbgtest.sim.node.pods import PodWorker

Obj = dict[str, Any]


def _record_status(worker: PodWorker, container: str) -> Obj | None:
    rec = worker.records.get(container)
    return rec.to_status() if rec is not None else None


def log_instance_id(worker: PodWorker, container: str, previous: bool) -> str:
    """The container id whose log to serve, or LogsUnavailable with the kubelet's message."""
    pod = worker.name
    st = _record_status(worker, container)
    if st is None:
        raise LogsUnavailable(f'container "{container}" in pod "{pod}" is not available')
    last = st["lastState"].get("terminated")
    state = st["state"]
    if previous:
        if not last or not last.get("containerID"):
            raise LogsUnavailable(f'previous terminated container "{container}" in pod "{pod}" not found')
        return str(last["containerID"])
    if "running" in state:
        return str(st["containerID"])
    if "terminated" in state:
        cid = state["terminated"].get("containerID") or (last or {}).get("containerID")
        if not cid:
            raise LogsUnavailable(f'container "{container}" in pod "{pod}" is terminated')
        return str(cid)
    if last:
        return str(last["containerID"])
    reason = state.get("waiting", {}).get("reason", "")
    texts = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}
    raise LogsUnavailable(f'container "{container}" in pod "{pod}" is waiting to start: {texts.get(reason, reason)}')


async def logs_of(
    worker: PodWorker,
    container: str,
    *,
    previous: bool,
    follow: bool,
    tail_lines: int | None,
    timestamps: bool,
) -> AsyncIterator[bytes]:
    """The chosen instance's log file; LogsUnavailable (on the first chunk, before any data) if there is none.

    The status is read when the stream is first read, as the kubelet does when the request arrives.
    """
    cid = log_instance_id(worker, container, previous)
    inst = worker.by_id.get(cid)
    path = inst.log_path if inst is not None else Path("/nonexistent")

    def finished() -> bool:
        return inst is None or not inst.running

    async for chunk in logs.serve(path, follow=follow and not previous, tail_lines=tail_lines,
                                  timestamps=timestamps, finished=finished):  # fmt: skip
        yield chunk


def upgrade_error(text: str, minor: int) -> StreamError:
    """The kubelet refused the stream before upgrading (container not running...), as kubectl sees it."""
    message = f"unable to upgrade connection: {text}"
    if minor < 30:
        return StreamError({"metadata": {}, "status": "Failure", "message": message, "code": 500})
    return StreamError(streams.internal_error(message, minor=29))


def running_instance(worker: PodWorker, container: str) -> Instance | None:
    inst = worker.current.get(container)
    return inst if inst is not None and inst.running else None


async def exec_in(
    worker: PodWorker, container: str, command: list[str], *, stdin: bool, tty: bool, minor: int
) -> streams.ExecStream:
    inst = running_instance(worker, container)
    if inst is None:
        raise upgrade_error(f'container not found ("{container}")', minor)
    cfg = worker.configs[inst.container_id.removeprefix("containerd://")]
    try:
        process = await worker.ctx.runtime.exec(cfg, command, tty=tty, stdin=stdin)
    except ExecFailed as exc:
        raise StreamError(streams.internal_error(f"error executing command in container: {exc}", minor)) from exc
    return streams.ExecStream(process, command, tty=tty, stdin=stdin, minor=minor)


def attach_to(worker: PodWorker, container: str, *, stdin: bool, tty: bool, minor: int) -> streams.AttachStream:
    inst = running_instance(worker, container)
    if inst is None:
        full = f"{worker.name}_{worker.namespace}"
        raise upgrade_error(f"container {container} not found in pod {full}", minor)
    spec_tty = any(
        c.get("tty")
        for key in ("containers", "initContainers", "ephemeralContainers")
        for c in worker.pod["spec"].get(key) or []
        if c["name"] == container
    )
    return streams.AttachStream(inst, stdin=stdin, tty=tty and spec_tty)
