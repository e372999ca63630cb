"""Time the native mapper on every rendered ResNet-50 point of a default sweep.

Points: each layer x (dense baseline, structured and unstructured schemes x single/dual sides x
sparsities 0.5/0.667/0.75), rendered with the project's templates (mapspace = the rendered
``architecture_constraints``), searched cold (no cache) with the given objective.  Prints one
line per scheme/sides group (median, p90, max search seconds, method counts) and the total.

Run: .venv/bin/python bench/mapper_resnet.py [--objective edp] [--layers conv1,fc] [--verbose]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

from sparsesweep.backends.base import SearchOptions
from sparsesweep.errors import SparsesweepError
from sparsesweep.mapper import search
from sparsesweep.render import render_point
from sparsesweep.specs import load_arch, load_scheme, load_workload

REPO = Path(__file__).resolve().parents[1]
SPARSITIES = (0.5, 0.667, 0.75)


def points(layers: list[str] | None):
    archs = {name: load_arch(REPO / "arch" / f"{name}.yaml") for name in ("stc", "dstc")}
    workload = load_workload(REPO / "workloads" / "resnet50.yaml")
    dense = load_scheme(REPO / "sparse_opt" / "dense.yaml")
    schemes = [load_scheme(REPO / "sparse_opt" / f"{name}.yaml") for name in ("structured", "unstructured")]
    for layer in workload.layers:
        if layers and layer.name not in layers:
            continue
        yield "dense", render_point(archs[dense.topology], layer, dense, "single", 0.0)
        for scheme in schemes:
            for sides in ("single", "dual"):
                for sparsity in SPARSITIES:
                    yield f"{scheme.name}-{sides}", render_point(archs[scheme.topology], layer, scheme, sides,
                                                                 sparsity)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="edp", choices=("energy", "cycles", "edp"))
    parser.add_argument("--layers", help="comma-separated layer names (default: all)")
    parser.add_argument("--verbose", action="store_true", help="one line per point")
    args = parser.parse_args()
    times: dict[str, list[float]] = defaultdict(list)
    methods: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures: list[str] = []
    options = SearchOptions(objective=args.objective, time_limit_s=30.0, seed=0)
    start = time.perf_counter()
    for group, point in points(args.layers.split(",") if args.layers else None):
        t0 = time.perf_counter()
        try:
            found = search(point.bundle, options, cache=False)
        except SparsesweepError as exc:
            failures.append(f"{point.name}: {exc.one_line()}")
            continue
        dt = time.perf_counter() - t0
        times[group].append(dt)
        methods[group][str(found.extra.get("method"))] += 1
        if args.verbose:
            print(f"{point.name:45s} {dt:6.3f} s  {found.extra.get('method')}  batch {found.extra.get('batch_evaluations')}"
                  f"  exact {found.extra.get('exact_evaluations')}  energy {found.result.energy_pj:.4g} pJ"
                  f"  cycles {found.result.cycles}")
    total = time.perf_counter() - start
    every = [t for ts in times.values() for t in ts]
    print(f"{'group':22s} {'points':>6s} {'median s':>9s} {'p90 s':>7s} {'max s':>7s}  methods")
    for group, ts in times.items():
        print(f"{group:22s} {len(ts):6d} {statistics.median(ts):9.3f} {pct(ts, 0.9):7.3f} {max(ts):7.3f}  "
              + ", ".join(f"{k} {v}" for k, v in methods[group].items()))
    if every:
        print(f"{'all':22s} {len(every):6d} {statistics.median(every):9.3f} {pct(every, 0.9):7.3f} {max(every):7.3f}")
    print(f"total {total:.1f} s wall (rendering included) for {len(every) + len(failures)} points, "
          f"{len(failures)} failed")
    for line in failures:
        print("FAILED", line)


if __name__ == "__main__":
    main()
