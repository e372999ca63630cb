"""Cost of the Boost-exact hypergeometric pmf, per evaluation method.

Usage: python bench/hypergeom_speed.py [--repeat R]
Prints, for typical density-model questions, the best of ``R`` cold calls (result caches
cleared; the tables built once per process stay) and the number of nonzero values (below
e^-750 a value is a double 0 and is not evaluated).  The last rows replay a mapper pattern:
P(empty | r) for one run of r and several sub-tile sizes, then the same again (warm).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sparsesweep.engine import hypergeom as hg

CASES = [
    # (label, r, n, N, what): what = "support" (all occupancies) or an array of marked counts
    ("Lanczos  P(empty), 1 point of 200704 (Inputs 64x56x56 at 0.5)", 100352, 1, 200704, "empty"),
    ("Lanczos  P(empty | r), 16 of 131072, 20000 r values", None, 16, 131072, np.arange(1, 20001)),
    ("Lanczos  full support, 65536 of 10^6, density 0.5", 500000, 65536, 1000000, "support"),
    ("Lanczos  full support, 65536 of 10^6, density 0.1", 100000, 65536, 1000000, "support"),
    ("Lanczos  full support, 206976 of 413952, density 0.62", 256651, 206976, 413952, "support"),
    ("Prime    P(empty | r), 1024 of 73728, 10000 r values", None, 1024, 73728, np.arange(1, 10001)),
    ("Prime    P(empty | r), 1 of 65536, 12000 r values", None, 1, 65536, np.arange(1, 12001)),
    ("Prime    full support, 64 of 65536, r = 16384", 16384, 64, 65536, "support"),
    ("Prime    full support, 32768 of 65536, r = 16384", 16384, 32768, 65536, "support"),
    ("Factor.  full support, 85 of 170, r = 100", 100, 85, 170, "support"),
]


MAPPER_RUN = np.arange(91347, 105262)  # parent occupancies of a 196608-point tile at density 0.5
MAPPER_SUBS = (1, 16, 64, 144, 576)


def clear() -> None:
    if hasattr(hg, "clear_caches"):
        hg.clear_caches()
    else:
        hg.support.cache_clear()


def run(r, n, total, what) -> int:
    clear()
    if isinstance(what, str) and what == "support":
        return int(np.count_nonzero(hg.support(r, n, total)[1]))
    rs = np.array([r]) if isinstance(what, str) else what
    return int(np.count_nonzero(hg.p_empty(n, total, rs)))


def mapper_pattern() -> int:
    return sum(int(np.count_nonzero(hg.p_empty(n, 196608, MAPPER_RUN))) for n in MAPPER_SUBS)


def report(label: str, seconds: float, values: int) -> None:
    print(f"{label:62s} {seconds:8.3f} {values:8d} {1e6 * seconds / max(values, 1):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="cost of the Boost-exact hypergeometric pmf")
    parser.add_argument("--repeat", type=int, default=3, help="cold calls per question (best is shown)")
    args = parser.parse_args()
    hg.pmf(3, 2, 1000, np.arange(3))  # build the once-per-process tables
    hg.pmf(3, 2, 100000, np.arange(3))
    print(f"{'question':62s} {'seconds':>8s} {'values':>8s} {'us/value':>9s}")
    total = 0.0
    for label, r, n, total_points, what in CASES:
        best, values = float("inf"), 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            values = run(r, n, total_points, what)
            best = min(best, time.perf_counter() - start)
        total += best
        report(label, best, values)
    clear()
    start = time.perf_counter()
    values = mapper_pattern()
    report(f"Mapper   P(empty | r), n in {MAPPER_SUBS}, cold", time.perf_counter() - start, values)
    start = time.perf_counter()
    values = mapper_pattern()
    report("Mapper   the same questions again, warm", time.perf_counter() - start, values)
    print(f"{'sum of the questions above the mapper rows':62s} {total:8.3f}")


if __name__ == "__main__":
    main()
