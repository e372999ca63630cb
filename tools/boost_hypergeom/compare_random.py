"""Compare sparsesweep's hypergeometric pmf with Boost.Math on many seeded random questions.

The committed fixture (``regen_fixture.py``) pins a fixed set of cases; this development tool
draws fresh ones each seed, shaped like the density model's questions, and reports every
value that is not the same double:

* ``empty``: P(empty | r) over a run of marked counts ``r`` (``hypergeom.p_empty``);
* ``support``: every occupancy of one distribution (``hypergeom.support``);
* ``points``: scattered (r, n, N, k).

Tensor sizes are drawn for each evaluation method (factorial table, prime factorisation,
Lanczos).  Needs Boost headers and g++, like ``regen_fixture.py``.  Usage::

    python tools/boost_hypergeom/compare_random.py [--seed S] [--rounds R] [--max-values M]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from regen_fixture import FACTORIAL_LIMIT, PRIME_LIMIT, bounds, build, run  # noqa: E402

from sparsesweep.engine import hypergeom as hg  # noqa: E402

SIZES = ((2, FACTORIAL_LIMIT), (FACTORIAL_LIMIT + 1, PRIME_LIMIT), (PRIME_LIMIT + 1, 4_000_000))


def draw_total(rng: np.random.Generator, method: int) -> int:
    low, high = SIZES[method]
    return int(np.exp(rng.uniform(np.log(low), np.log(high + 1)))) if rng.random() < 0.7 else int(rng.integers(low, high + 1))


def draw_small(rng: np.random.Generator, total: int) -> int:
    """Tile sizes as the mapper asks for them: mostly powers of two and small products."""
    choice = rng.random()
    if choice < 0.4:
        value = 1 << int(rng.integers(0, 12))
    elif choice < 0.7:
        value = int(rng.integers(1, 300))
    else:
        value = int(rng.integers(1, total + 1))
    return max(1, min(value, total))


def questions(rng: np.random.Generator, max_values: int) -> list[tuple[str, int, int, int, np.ndarray]]:
    """(kind, n, N, r or -1, values): values are marked counts (empty) or occupancies."""
    out = []
    for method in range(3):
        total = draw_total(rng, method)
        n = draw_small(rng, total)
        width = int(rng.integers(1, max_values + 1))
        start = int(rng.integers(0, max(1, total - width + 1)))
        rs = np.arange(start, min(total, start + width - 1) + 1)
        out.append(("empty", n, total, -1, rs))
        total = draw_total(rng, method)
        n = draw_small(rng, total) if rng.random() < 0.5 else int(rng.integers(1, total + 1))
        r = int(rng.integers(0, total + 1))
        low, high = bounds(r, n, total)
        if high - low + 1 > max_values:
            mid = int(rng.integers(low, high + 1))
            low, high = max(low, mid - max_values // 2), min(high, mid + max_values // 2)
        out.append(("support", n, total, r, np.arange(low, high + 1)))
        total = draw_total(rng, method)
        n = int(rng.integers(1, total + 1))
        r = int(rng.integers(0, total + 1))
        low, high = bounds(r, n, total)
        out.append(("points", n, total, r, np.unique(rng.integers(low, high + 1, size=50))))
    return out


def boost_values(exe: Path, kind: str, n: int, total: int, r: int, values: np.ndarray) -> np.ndarray:
    if kind == "empty":
        lines = [f"pmf {int(v)} {n} {total} 0 0" for v in values]
    elif kind == "support":
        lines = [f"pmf {r} {n} {total} {int(values[0])} {int(values[-1])}"]
    else:
        lines = [f"pmf {r} {n} {total} {int(v)} {int(v)}" for v in values]
    return np.array([float.fromhex(line.split()[1]) for line in run(exe, lines)])


def ours(kind: str, n: int, total: int, r: int, values: np.ndarray) -> np.ndarray:
    if kind == "empty":
        return hg.p_empty(n, total, values)
    return hg.pmf(r, n, total, values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of 9 questions (3 kinds x 3 methods)")
    parser.add_argument("--max-values", type=int, default=3000, help="largest run of r or k per question")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    checked = wrong = 0
    ours_time = boost_time = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        for _ in range(args.rounds):
            for kind, n, total, r, values in questions(rng, args.max_values):
                start = time.perf_counter()
                want = boost_values(exe, kind, n, total, r, values)
                boost_time += time.perf_counter() - start
                start = time.perf_counter()
                got = ours(kind, n, total, r, values)
                ours_time += time.perf_counter() - start
                bad = np.flatnonzero(got != want)
                checked += values.size
                wrong += bad.size
                if bad.size:
                    i = int(bad[0])
                    print(f"DIFFERENT {kind} n={n} N={total} r={r}: {bad.size} of {values.size}, first at "
                          f"{int(values[i])}: ours {got[i].hex()} Boost {want[i].hex()}")
    print(f"seed {args.seed}: {checked} values, {wrong} different "
          f"(ours {ours_time:.1f} s, Boost {boost_time:.1f} s)")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
