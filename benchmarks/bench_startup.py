"""Start-up of the light commands (issue 14): `kdbgtest --help`, `list` and `validate scenarios`, wall time of
the installed `kdbgtest` script, cold (scenario cache empty, `kdbgtest list`/`validate` judge every file) and warm
(the cache of kdbgtest/scenario/cache.py filled). `python benchmarks/bench_startup.py [--runs N] [--target S]`.

Prints the median and the range of each, and the load average (numbers on a busy machine are slower); exits 1 if
a warm median misses the target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["list"], ["validate", "scenarios"])


def kdbgtest() -> str:
    here = Path(sys.executable).with_name("kdbgtest")
    found = str(here) if here.is_file() else shutil.which("kdbgtest")
    if found is None:
        sys.exit("bench_startup: no kdbgtest script next to this Python nor on PATH; pip install -e . first")
    return found


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    quiet = subprocess.DEVNULL
    subprocess.run(argv, cwd=REPO, env=env, stdout=quiet, stderr=quiet, timeout=60, check=False)  # noqa: S603
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--target", type=float, default=0.150, help="seconds a warm median must stay under")
    args = parser.parse_args()
    script = kdbgtest()
    missed = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        env.pop("KDBGTEST_NO_CACHE", None)
        for command in COMMANDS:
            cold = []
            for _ in range(args.runs):  # a cache emptied before each run
                shutil.rmtree(Path(cache, "kdbgtest"), ignore_errors=True)
                cold.append(timed([script, *command], env))
            warm = [timed([script, *command], env) for _ in range(args.runs)]
            for label, times in (("cold", cold), ("warm", warm)):
                median = statistics.median(times)
                print(f"kdbgtest {' '.join(command):<20} {label}: median {median * 1000:4.0f} ms "
                      f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs)")  # fmt: skip
            if statistics.median(warm) >= args.target:
                missed.append(" ".join(command))
    print(f"load average: {Path('/proc/loadavg').read_text().split()[0]} on {os.cpu_count()} CPUs")
    if missed:
        print(f"warm median at or over {args.target * 1000:.0f} ms: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
