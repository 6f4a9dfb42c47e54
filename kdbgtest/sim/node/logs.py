"""Container log files in the CRI format (`<RFC3339Nano> stdout|stderr F|P <text>`), written and served.

One file per container instance, as containerd keeps them (`<pod dir>/<container>/<restart>.log`); the
kubelet reads the current or previous one for `kubectl logs [--previous]` with --tail, --timestamps, --follow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

_STREAMS = {1: "stdout", 2: "stderr"}
FOLLOW_POLL = 0.05  # seconds between looks at a followed file
MAX_LINE = 16 * 1024  # containerd splits longer lines into partial (P) records


def rfc3339nano(ns: int) -> str:
    """Go's RFC3339Nano in UTC: fractional seconds with trailing zeros trimmed."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


class LogWriter:
    """Appends one instance's stdout/stderr to its CRI log file, a full line per record. A line's "\r\n" end
    is dropped as its "\n" is (containerd reads lines with Go's bufio ReadLine; a tty container's log on the
    local v1.37.2 cluster has no carriage returns)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("ab")
        self._pending: dict[int, bytes] = {1: b"", 2: b""}

    def write(self, stream: int, data: bytes) -> None:
        buf = self._pending[stream] + data
        while (cut := buf.find(b"\n")) != -1:
            self._record(stream, b"F", buf[:cut].removesuffix(b"\r"))
            buf = buf[cut + 1 :]
        while len(buf) > MAX_LINE:
            self._record(stream, b"P", buf[:MAX_LINE])
            buf = buf[MAX_LINE:]
        self._pending[stream] = buf
        self._file.flush()

    def close(self) -> None:
        """Flush unterminated output as a last full line and close the file."""
        if self._file.closed:
            return
        for stream, rest in self._pending.items():
            if rest:
                self._record(stream, b"F", rest)
        self._pending = {1: b"", 2: b""}
        self._file.close()

    def _record(self, stream: int, tag: bytes, text: bytes) -> None:
        stamp = rfc3339nano(time.time_ns()).encode()
        self._file.write(b"%s %s %s %s\n" % (stamp, _STREAMS[stream].encode(), tag, text))


def _parse(line: bytes) -> tuple[bytes, bytes, bool] | None:
    """(timestamp, text, full) of one record, None if malformed."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    text = parts[3] if len(parts) == 4 else b""
    return parts[0], text, parts[2] == b"F"


def _render(record: tuple[bytes, bytes, bool], timestamps: bool) -> bytes:
    stamp, text, full = record
    out = text + (b"\n" if full else b"")
    return stamp + b" " + out if timestamps else out


def read_records(path: Path) -> tuple[list[tuple[bytes, bytes, bool]], int]:
    """The complete records of a log file and how many bytes they span."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    complete = raw[: raw.rfind(b"\n") + 1]
    return [r for line in complete.splitlines(keepends=True) if (r := _parse(line))], len(complete)


async def serve(
    path: Path,
    *,
    follow: bool,
    tail_lines: int | None,
    timestamps: bool,
    finished: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """The log as the kubelet streams it; with `follow`, until `finished()` and the file is drained."""
    records, offset = read_records(path)
    if tail_lines is not None:
        records = records[-tail_lines:] if tail_lines > 0 else []
    for record in records:
        yield _render(record, timestamps)
    if not follow:
        return
    async for chunk in _follow(path, offset, finished):
        for line in chunk:
            if (parsed := _parse(line)) is not None:
                yield _render(parsed, timestamps)


async def _follow(path: Path, offset: int, finished: Callable[[], bool]) -> AsyncIterator[list[bytes]]:
    partial = b""
    while True:
        done = finished()  # checked before reading so the last writes are not missed
        data = b""
        if path.exists():
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read()
        offset += len(data)
        lines = (partial + data).splitlines(keepends=True)
        partial = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        if lines:
            yield lines
        if done and not data:
            return
        await asyncio.sleep(FOLLOW_POLL)
