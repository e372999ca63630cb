"""Our mapper against real timeloop-mapper on rendered sweep points (same inputs, same objective).

    python bench/mapper_vs_timeloop.py [--layers conv3_1_b_3x3,conv5_2-3_c_1x1,fc]
        [--schemes dense,structured,unstructured] [--sides single,dual] [--sparsity 0.5]
        [--objective edp] [--time-limit 20] [--search-size 2000] [--workload FILE]

For each point: the native search, then timeloop-mapper on the same rendered input with bounded
search settings (random_pruned, one thread, --search-size mappings, a victory condition of a
tenth of that, stopped by SIGINT at --time-limit seconds, keeping its best), then timeloop-model on
Timeloop's best mapping under the point's constraints (does its own model accept it?).  Prints
one line per point (objective of ours and of Timeloop's, Timeloop / ours, whether timeloop-model
refuses Timeloop's mapping and why) and a summary: how many points Timeloop's mapper beats ours by
more than 1% with a mapping its model accepts (the check), and by how much ours is better.
Timeloop is found as the timeloop backend finds it (PATH, $TIMELOOP_ROOT, ../shared/timeloop).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mapper_vs_timeloop import bounded_settings, compare_point  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default="conv3_1_b_3x3,conv5_2-3_c_1x1,fc")
    parser.add_argument("--schemes", default="dense,structured,unstructured")
    parser.add_argument("--sides", default="single,dual")
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--objective", default="edp", choices=["energy", "cycles", "edp"])
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per timeloop-mapper search")
    parser.add_argument("--search-size", type=int, default=2000)
    parser.add_argument("--workload", type=Path, default=None)
    args = parser.parse_args()
    settings = bounded_settings(args.objective, search_size=args.search_size, victory=max(args.search_size // 10, 1),
                                timeout=2000, threads=1)
    rows = []
    start = time.perf_counter()
    print(f"{'point':48s} {'ours':>12s} {'timeloop':>12s} {'tl/ours':>8s} {'ours s':>7s} {'tl s':>6s}  timeloop-model on "
          "Timeloop's mapping")
    for layer in args.layers.split(","):
        for scheme in args.schemes.split(","):
            for sides in (["single"] if scheme == "dense" else args.sides.split(",")):
                c = compare_point(layer, scheme, sides, 0.0 if scheme == "dense" else args.sparsity, args.objective,
                                  workload=args.workload, settings=settings, time_limit_s=args.time_limit)
                rows.append(c)
                tl = "-" if c.timeloop is None else f"{c.timeloop:12.5g}"
                ratio = "-" if c.ratio is None else f"{c.ratio:8.4f}"
                if c.timeloop is None:
                    verdict = f"no mapping found: {c.note}"
                elif c.model_refused:
                    verdict = f"refused ({c.timeloop_refused[0] if c.timeloop_refused else 'not predicted'})"
                else:
                    verdict = "accepted" + (" (predicted refused!)" if c.timeloop_refused else "")
                print(f"{c.point:48s} {c.ours:12.5g} {tl:>12s} {ratio:>8s} {c.seconds_ours:7.2f} "
                      f"{c.seconds_timeloop:6.1f}  {verdict}", flush=True)
    compared = [c for c in rows if c.ratio is not None and not c.model_refused]
    refused = [c for c in rows if c.ratio is not None and c.model_refused]
    missing = [c for c in rows if c.ratio is None]
    mismatched = [c for c in rows if c.model_refused is not None and c.model_refused != bool(c.timeloop_refused)]
    beaten = [c for c in compared if c.ratio < 1 / 1.01]
    print(f"\n{len(rows)} points in {time.perf_counter() - start:.0f} s, objective {args.objective}")
    print(f"timeloop-mapper's best accepted by timeloop-model: {len(compared)}; refused by it: {len(refused)}; "
          f"no mapping found: {len(missing)}")
    print(f"literal-check predictions that disagree with timeloop-model: {len(mismatched)}")
    if compared:
        ratios = [c.ratio for c in compared]
        print(f"accepted points where Timeloop's mapping beats ours by more than 1%: {len(beaten)}"
              + (f" ({', '.join(c.point for c in beaten)})" if beaten else ""))
        print(f"Timeloop / ours on accepted points: min {min(ratios):.4f}, median {statistics.median(ratios):.4f}, "
              f"max {max(ratios):.4f} (ours better by up to {max(ratios) - 1:.1%})")
    if refused:
        print("refused points, Timeloop's (refused) mapping / ours: "
              + ", ".join(f"{c.point} {c.ratio:.3f}" for c in refused))
    return 1 if beaten or mismatched else 0


if __name__ == "__main__":
    raise SystemExit(main())
