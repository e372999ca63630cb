"""Time the full default sweep, or the full memory study: cold (empty cache) and warm (every point
cached), as a user runs it.

Run: .venv/bin/python bench/sweep_bench.py [--memory] [-j N] [--warm-runs N] [--cache DIR [--warm-only]]
[extra sweep.py options]
Prints wall-clock seconds of each run (process start to exit, imports included), the CPU seconds of
the sweep process and of its searches (the worker processes), the points, how many were computed or
cached, and the load average before each run (measure on an idle machine). Targets on 2 cores:
default sweep cold < 60 s, warm < 5 s; memory study (``--memory``: the default grid crossed with
``MEMORY``) cold < 5 min, warm < 15 s. Uses a fresh temporary cache folder, so the mapper's own
cache is cold too; ``--cache DIR`` uses (and fills) DIR instead, and ``--warm-only`` skips the cold
run (time warm runs against a cache an earlier run filled: the memory study's cold run is long).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPARSITY = "0,0.5,0.667,0.75"
MEMORY = ["--set", "smem_kib=128,256,512", "--set", "smem_metadata_kib=32,64,128", "--set", "lrf_metadata_bits=x0.5,x1,x2"]


def run(out: Path, env: dict[str, str], jobs: int, extra: list[str]) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "sweep.py", "--sparsity", SPARSITY, "-j", str(jobs), "--quiet",
                           "--out", str(out), *extra], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 2):
        sys.exit(f"sweep failed (exit {proc.returncode}):\n{proc.stderr}")
    stats = json.loads((out / "run.json").read_text())
    stats["exit"] = proc.returncode
    return wall, cpu, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="the memory study: the default grid x " + " ".join(MEMORY))
    parser.add_argument("--cache", type=Path, help="the cache folder to use and fill (default: a fresh one)")
    parser.add_argument("--warm-only", action="store_true", help="no cold run (with --cache: one filled before)")
    args, extra = parser.parse_known_args()
    extra = [*MEMORY, *extra] if args.memory else extra
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        env = {**os.environ, "SPARSESWEEP_CACHE_DIR": str(args.cache or Path(tmp) / "cache")}
        out = Path(tmp) / "out"
        print(f"full {'memory study' if args.memory else 'default sweep'} (sparsity {SPARSITY}, -j {args.jobs}{' ' + ' '.join(extra) if extra else ''}) "
              f"on {os.cpu_count()} cores")
        load = os.getloadavg()[0]
        wall, cpu, stats = run(out, env, args.jobs, extra)
        searches = stats.get("search_cpu_seconds", 0.0)
        print(f"{'first' if args.warm_only else 'cold'}: {wall:6.1f} s wall, {cpu:6.1f} s CPU in the sweep process + "
              f"{searches:6.1f} s CPU of searches (load {load:.1f} before); {stats['total']} points, {stats['computed']} "
              f"computed on {stats['executor']}, {stats['failed']} failed; "
              f"{searches / max(1, stats['computed']):.3f} s CPU per search (exit {stats['exit']})")
        for i in range(args.warm_runs):
            load = os.getloadavg()[0]
            wall, cpu, stats = run(out, env, args.jobs, extra)
            print(f"warm {i + 1}: {wall:5.2f} s wall, {cpu:5.2f} s CPU (load {load:.1f} before); {stats['cached']} of "
                  f"{stats['total']} cached (exit {stats['exit']})")


if __name__ == "__main__":
    main()
