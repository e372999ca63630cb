"""Evaluation speed of the native engine on one ResNet-50 layer (a fig15 GEMM layer).

Times ``evaluate_spec`` (parsing excluded) on the dense design (TC) and on the sparse
designs of the same layer and mapping family, median of many runs, and prints
evaluations per second and the sparse/dense ratio.  Two regimes are shown: ``warm``
(the same mapping again: the representation analysis is cached) and ``fresh`` (the
representation cache cleared before every run, as for a new mapping; the caches that do
not depend on the mapping -- the spec context of ``engine.context`` and the density-model
questions keyed on tile shapes -- stay warm, as they do inside a mapper search).

    python bench/engine_bench.py [--reference PATH] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from sparsesweep.engine import evaluate_spec
from sparsesweep.engine.representation import analyse_inputs
from sparsesweep.inputs import load_bundle
from sparsesweep.tl import load_spec

LAYER = "fig15/WD-0.5/M512-K128-N1024-IAD0.56-WD0.5"
DESIGNS = ("TC-RF2x-24-bandwidth", "STC-RF2x-24-bandwidth", "STC_flexible-RF2x-24-bandwidth-RLE",
           "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE", "DSTC-RF2x-24-bandwidth")


def _time(spec, runs: int, fresh: bool) -> float:
    samples = []
    for _ in range(runs):
        if fresh:
            analyse_inputs.cache_clear()
        start = time.perf_counter()
        evaluate_spec(spec)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_ref = os.environ.get("SPARSESWEEP_REFERENCE", str(Path(__file__).resolve().parents[1].parent
                                                               / "shared" / "reference"))
    parser.add_argument("--reference", default=default_ref, help="the reference corpus folder")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per design")
    args = parser.parse_args()
    root = Path(args.reference) / LAYER
    print(f"layer {LAYER} (M512 K128 N1024), median of {args.runs} runs")
    print(f"{'design':52s} {'warm ms':>8s} {'fresh ms':>9s} {'evals/s (fresh)':>16s}")
    dense_ms = None
    for design in DESIGNS:
        spec = load_spec(load_bundle(root / design / "input.yaml"))
        evaluate_spec(spec)  # warm the density caches
        warm = _time(spec, args.runs, fresh=False) * 1e3
        fresh = _time(spec, args.runs, fresh=True) * 1e3
        dense_ms = dense_ms or fresh
        print(f"{design:52s} {warm:8.3f} {fresh:9.3f} {1e3 / fresh:16.0f}   x{fresh / dense_ms:.2f} of dense")


if __name__ == "__main__":
    main()
