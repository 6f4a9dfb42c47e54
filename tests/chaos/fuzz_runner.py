"""Runs `kdbgtest validate` on one file in a forked child, with a memory limit and a deadline, and judges it.

The child is a fork of this process (kdbgtest already imported, so an input costs milliseconds, not an interpreter
start) that calls the real `kdbgtest.cli.main(["validate", FILE])` with its stdout and stderr in files, under
`RLIMIT_AS`. The parent kills it at the deadline. `problems()` lists what a hostile input must never cause.

A campaign from the command line (numbers for a report, the worst inputs kept):

    .venv/bin/python tests/chaos/fuzz_runner.py --seed 1 --count 5000 [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import scenario_fuzz

from kdbgtest import cli

# Every error line of `kdbgtest validate` names a place: `path:line:col: message`.
ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*): \S")
MEMORY_MB = int(os.environ.get("KDBGTEST_FUZZ_MEMORY_MB", "512"))  # address space a child may add
VALIDATE_EXIT_CODES = (0, 1)  # valid, or issues found (`kdbgtest validate` documents 1 for issues)


@dataclass(frozen=True)
class Outcome:
    """How one `kdbgtest validate FILE` ended."""

    code: int | None  # None: killed at the deadline, or by a signal
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float
    timed_out: bool


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _child(path: Path, out: Path, err: Path, limit: int) -> None:
    """In the forked child: validate `path` with stdout and stderr in files (pytest's capture replaced sys.stdout,
    so both the file descriptors and the Python streams are pointed at them), then exit at once."""
    code = 98
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        sys.stdout = out.open("w", encoding="utf-8", errors="backslashreplace")
        sys.stderr = err.open("w", encoding="utf-8", errors="backslashreplace")
        os.dup2(sys.stdout.fileno(), 1)
        os.dup2(sys.stderr.fileno(), 2)
        code = cli.main(["validate", str(path)])
    except BaseException:  # noqa: BLE001 - anything escaping main() is what we are looking for
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_forked(path: Path, *, deadline: float, memory_mb: int = MEMORY_MB) -> Outcome:
    """`kdbgtest validate path` in a forked child: killed after `deadline` s, `memory_mb` MiB more address space."""
    with tempfile.TemporaryDirectory(prefix="kdbg-fuzz-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        limit = _address_space() + memory_mb * 1024 * 1024
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(path, out, err, limit)
        status, usage, timed_out = _wait(pid, started + deadline)
        seconds = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status) if not timed_out else None
        return Outcome(
            code=code if code is not None and code >= 0 else None,
            stdout=out.read_text(errors="replace") if out.exists() else "",
            stderr=err.read_text(errors="replace") if err.exists() else "",
            seconds=seconds,
            max_rss_mb=usage.ru_maxrss / 1024,
            timed_out=timed_out,
        )


def _wait(pid: int, deadline: float) -> tuple[int, resource.struct_rusage, bool]:
    """Reap `pid`, killing it at `deadline`: (wait status, its resource usage, whether it was killed)."""
    while True:
        found, status, usage = os.wait4(pid, os.WNOHANG)
        if found == pid:
            return status, usage, False
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage, True
        time.sleep(0.005)


def problems(outcome: Outcome, path: Path, *, deadline: float) -> list[str]:
    """What is wrong with how `validate` handled a hostile file: empty when it behaved."""
    found = []
    if outcome.timed_out:
        found.append(f"still running after {deadline:.0f} s (killed)")
    elif outcome.code is None:
        found.append("killed by a signal (crash, or out of memory)")
    elif outcome.code not in VALIDATE_EXIT_CODES:
        found.append(f"exit code {outcome.code}, expected one of {VALIDATE_EXIT_CODES}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        found.append("a traceback: " + _last_line(outcome.stderr + outcome.stdout))
    if outcome.code == 1:
        first = outcome.stdout.splitlines()[0] if outcome.stdout else ""
        if not ERROR_LINE.match(first) or not first.startswith(f"{path}:"):
            found.append(f"first line is not `{path}:line:col: message`: {first[:200]!r}")
    return found


def _last_line(text: str) -> str:
    """The exception line of a traceback (the line before kdbgtest's own "this is a bug" line)."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("kdbgtest: ")]
    return lines[-1][:300] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--deadline", type=float, default=20.0, help="seconds before an input counts as a hang")
    parser.add_argument("--keep", type=Path, help="copy every misbehaving input into this directory")
    args = parser.parse_args()
    bad, slowest, biggest, started = 0, (0.0, ""), (0.0, ""), time.monotonic()
    kinds: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="kdbg-fuzz-") as tmp:
        for mutant in scenario_fuzz.mutants(args.seed, args.count):
            path = Path(tmp, "scenario.yaml")
            path.write_bytes(mutant.data)
            outcome = run_forked(path, deadline=args.deadline)
            found = problems(outcome, path, deadline=args.deadline)
            slowest = max(slowest, (outcome.seconds, mutant.name))
            biggest = max(biggest, (outcome.max_rss_mb, mutant.name))
            if found:
                bad += 1
                kind = "hang" if outcome.timed_out else "traceback" if "a traceback" in found[-1] else found[0][:40]
                kinds[kind] = kinds.get(kind, 0) + 1
                print(f"{mutant.name}: {'; '.join(found)}", flush=True)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / f"{mutant.name.replace('/', '_')}.yaml").write_bytes(mutant.data)
    print(f"{args.count} mutants (seed {args.seed}) in {time.monotonic() - started:.0f} s: {bad} misbehaved {kinds}")
    print(f"slowest {slowest[0]:.2f} s ({slowest[1]}); largest max RSS {biggest[0]:.0f} MiB ({biggest[1]})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
