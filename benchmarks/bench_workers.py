"""`kdbgtest run -n N` again and again on one sim, then several such runs at once (issue 14's flake check).

Run as root: `.venv/bin/python benchmarks/bench_workers.py [--workers 4] [--in-a-row 10] [--at-once 3]
[PATHS...]` (default PATHS: scenarios/). Everything goes through the real command line: `kdbgtest sim up` on a
private state directory (at the suite's time scale), `--in-a-row` runs of `kdbgtest run --cluster kubeconfig
-n N` one after the other, then `--at-once` of them concurrently, then `kdbgtest sim down` (which reports
anything a run left behind). Prints each run's wall time, its counts from the JSON report and the load average
(a flaky run's log, report and artifacts are kept, and where is printed); exits 1 when any run did not pass
everything (a flake), 2 when the sim could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kdbgtest.cluster.sim import SUITE_TIME_SCALE

HERE = Path(__file__).resolve().parents[1]
KDBGTEST = Path(sys.executable).with_name("kdbgtest")
RUN_DEADLINE = 900  # seconds for one run (or for the concurrent ones together) on a busy 2-core machine


def start_run(kubeconfig: Path, workers: int, paths: list[str], out: Path, label: str) -> subprocess.Popen[bytes]:
    argv = [
        str(KDBGTEST), "run", *paths, "--cluster", "kubeconfig", "--kubeconfig", str(kubeconfig),
        "-n", str(workers), "-q", "--json", str(out / f"{label}.json"), "--artifacts", str(out / f"{label}-art"),
    ]  # fmt: skip
    log = (out / f"{label}.log").open("wb")
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    finally:
        log.close()


def finish(proc: subprocess.Popen[bytes], out: Path, label: str, began: float) -> dict[str, object]:
    try:
        code = proc.wait(timeout=max(1.0, RUN_DEADLINE - (time.monotonic() - began)))
    except subprocess.TimeoutExpired:
        proc.send_signal(2)  # as Ctrl-C: the run cleans up
        code = proc.wait(timeout=120)
    wall = time.monotonic() - began
    report = out / f"{label}.json"
    summary = json.loads(report.read_text())["summary"] if report.exists() else {}
    ok = code == 0 and summary.get("failed") == 0 and summary.get("errors") == 0
    tail = "" if ok else (out / f"{label}.log").read_text(errors="replace")[-1500:]
    return {"label": label, "code": code, "wall": wall, "summary": summary, "ok": ok, "tail": tail}


def show(result: dict[str, object]) -> None:
    summary = result["summary"]
    assert isinstance(summary, dict)
    counts = ", ".join(f"{summary.get(k, '?')} {k}" for k in ("passed", "failed", "errors", "skipped"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{result['label']:<10} exit {result['code']}  {result['wall']:6.1f}s  {counts}  (load {load})", flush=True)
    if not result["ok"]:
        print(f"   FLAKE: last output:\n{result['tail']}", flush=True)


def keep_flakes(out: Path, labels: list[str]) -> None:
    """Copy the log, report and artifacts of each flaky run out of the temporary directory, and say where."""
    if not labels:
        return
    kept = Path(tempfile.mkdtemp(prefix="kdbgtest-workers-flakes-"))
    for label in labels:
        for name in (f"{label}.log", f"{label}.json", f"{label}-art"):
            source = out / name
            if source.is_dir():
                shutil.copytree(source, kept / name, symlinks=True)
            elif source.exists():
                shutil.copy2(source, kept / name)
    print(f"the flaky runs' logs, reports and artifacts: {kept}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--in-a-row", type=int, default=10)
    parser.add_argument("--at-once", type=int, default=3)
    args = parser.parse_args()
    paths = [str(Path(p).resolve()) for p in args.paths] or [str(HERE / "scenarios")]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="kdbgtest-workers-") as name:
        out = Path(name)
        where = ["--name", f"bench-{os.getpid()}", "--state-dir", str(out / "sim")]
        scale = ["--time-scale", str(SUITE_TIME_SCALE)]  # as `kdbgtest run --cluster sim` starts it
        up = subprocess.run([str(KDBGTEST), "sim", "up", *where, *scale], capture_output=True, text=True, timeout=120)  # noqa: S603
        if up.returncode != 0:
            print(f"bench_workers: the sim did not start: {up.stderr.strip()}", file=sys.stderr)
            return 2
        kubeconfig = Path(up.stdout.strip())
        try:
            print(f"one sim; -n {args.workers}; {args.in_a_row} runs in a row, then {args.at_once} at once")
            for index in range(args.in_a_row):
                began = time.monotonic()
                label = f"row{index + 1}"
                results.append(finish(start_run(kubeconfig, args.workers, paths, out, label), out, label, began))
                show(results[-1])
            began = time.monotonic()
            labels = [f"once{index + 1}" for index in range(args.at_once)]
            procs = [start_run(kubeconfig, args.workers, paths, out, label) for label in labels]
            for proc, label in zip(procs, labels, strict=True):
                results.append(finish(proc, out, label, began))
                show(results[-1])
        finally:
            down = subprocess.run([str(KDBGTEST), "sim", "down", *where], capture_output=True, text=True, timeout=300)  # noqa: S603
            print(f"sim down: exit {down.returncode} {down.stderr.strip()}")
            keep_flakes(out, [str(r["label"]) for r in results if not r["ok"]])
    row = [float(r["wall"]) for r in results if str(r["label"]).startswith("row")]  # type: ignore[arg-type]
    flakes = [r["label"] for r in results if not r["ok"]]
    if row:
        print(f"\nin a row: median {statistics.median(row):.1f}s (min {min(row):.1f}, max {max(row):.1f})")
    print(f"flakes: {len(flakes)} of {len(results)} runs {flakes if flakes else ''}")
    return 1 if flakes or down.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
