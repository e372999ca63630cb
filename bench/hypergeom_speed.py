"""Cost of the Boost-exact hypergeometric pmf, per evaluation method.

Usage: python bench/hypergeom_speed.py
Prints, for typical density-model questions, the time of a cold call (caches cleared) and
the number of values that were evaluated (below e^-750 a value is a double 0 and skipped).
"""

from __future__ import annotations

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


def run(r, n, total, what) -> int:
    hg.support.cache_clear()
    if isinstance(what, str) and what == "support":
        return int(np.count_nonzero(hg.support(r, n, total)[1]))
    rs = np.array([r]) if isinstance(what, str) else what
    return int(np.count_nonzero(hg.p_empty(n, total, rs)))


def main() -> None:
    hg.pmf(3, 2, 1000, np.arange(3))  # build the prime-power table once
    print(f"{'question':62s} {'seconds':>8s} {'values':>8s} {'us/value':>9s}")
    for label, r, n, total, what in CASES:
        start = time.perf_counter()
        values = run(r, n, total, what)
        elapsed = time.perf_counter() - start
        print(f"{label:62s} {elapsed:8.3f} {values:8d} {1e6 * elapsed / max(values, 1):9.1f}")


if __name__ == "__main__":
    main()
