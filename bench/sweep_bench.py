"""Time the full default sweep: cold (empty cache) and warm (every point cached), as a user runs it.

Run: .venv/bin/python bench/sweep_bench.py [-j N] [--warm-runs N] [extra sweep.py options]
Prints wall-clock seconds of each run (process start to exit, imports included), the points, how
many were computed or cached, and the CPU seconds per computed point. Targets (issue 7): cold < 60 s
on 2 cores, warm < 5 s. Uses a fresh temporary cache folder, so the mapper's own cache is cold too.
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
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        env = {**os.environ, "SPARSESWEEP_CACHE_DIR": str(Path(tmp) / "cache")}
        out = Path(tmp) / "out"
        print(f"full default sweep (sparsity {SPARSITY}, -j {args.jobs}{' ' + ' '.join(extra) if extra else ''}) "
              f"on {os.cpu_count()} cores")
        wall, cpu, stats = run(out, env, args.jobs, extra)
        per_point = stats["search_seconds"] / max(1, stats["computed"])
        print(f"cold: {wall:6.1f} s wall; {stats['total']} points, {stats['computed']} computed on "
              f"{stats['executor']}, {stats['failed']} failed; {per_point:.3f} s per search (render, cache and "
              f"output in the main process: the rest) (exit {stats['exit']})")
        for i in range(args.warm_runs):
            wall, cpu, stats = run(out, env, args.jobs, extra)
            print(f"warm {i + 1}: {wall:5.2f} s wall, {cpu:5.2f} s CPU; {stats['cached']} of {stats['total']} cached "
                  f"(exit {stats['exit']})")


if __name__ == "__main__":
    main()
