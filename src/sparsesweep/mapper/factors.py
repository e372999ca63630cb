"""Ordered factorizations of one problem dimension over the loop slots, with bounds.

A dimension of bound ``B`` is split into one factor per slot (a level's temporal or
spatial loops); the factors multiply to ``B`` exactly (perfect factorization only).
Each slot has a minimum and maximum factor, or a fixed one.  The options come out as a
numpy array (options x slots), built prime by prime with numpy (no per-option Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np

# Above this many options for one dimension, a seeded random subset is used instead.
MAX_OPTIONS = 200_000


def prime_factors(n: int) -> dict[int, int]:
    out: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


@lru_cache(maxsize=256)
def compositions(total: int, parts: int) -> np.ndarray:
    """All ways to write ``total`` as an ordered sum of ``parts`` non-negative ints (rows)."""
    if parts == 0:
        return np.zeros((1 if total == 0 else 0, 0), dtype=np.int64)
    rows = []
    for bars in combinations(range(total + parts - 1), parts - 1):
        prev, row = -1, []
        for b in bars:
            row.append(b - prev - 1)
            prev = b
        row.append(total + parts - 1 - prev - 1)
        rows.append(row)
    out = np.array(rows, dtype=np.int64).reshape(-1, parts)
    out.setflags(write=False)
    return out


def count_compositions(total: int, parts: int) -> int:
    from math import comb

    return comb(total + parts - 1, parts - 1) if parts else int(total == 0)


def factor_options(bound: int, low: Sequence[int], high: Sequence[int], fixed: Sequence[int | None],
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, bool]:
    """Options (rows: one factor per slot) and whether the list is complete.

    ``low``/``high``/``fixed`` are per slot; rows multiply to ``bound``.  An empty array
    means no factorization satisfies the bounds.
    """
    slots = len(low)
    base = np.ones(slots, dtype=np.int64)
    rest = bound
    for s, f in enumerate(fixed):
        if f is not None:
            base[s] = f
            if rest % f:
                return np.zeros((0, slots), dtype=np.int64), True
            rest //= f
    free = [s for s in range(slots) if fixed[s] is None and high[s] > 1]
    primes = prime_factors(rest)
    if not free:
        ok = rest == 1 and all(low[s] <= base[s] <= high[s] for s in range(slots))
        return (base[None, :].copy() if ok else np.zeros((0, slots), dtype=np.int64)), True
    total = 1
    for e in primes.values():
        total *= count_compositions(e, len(free))
    complete = total <= MAX_OPTIONS
    values = np.ones((1, len(free)), dtype=np.int64)
    for p, e in primes.items():
        if complete:
            comp = compositions(e, len(free))
        else:
            generator = rng if rng is not None else np.random.default_rng(0)
            cuts = np.sort(generator.integers(0, e + 1, size=(4096, len(free) - 1)), axis=1)
            edges = np.concatenate([np.zeros((4096, 1), np.int64), cuts, np.full((4096, 1), e)], axis=1)
            comp = np.unique(np.diff(edges, axis=1), axis=0)
        powers = np.power(p, comp)
        values = (values[:, None, :] * powers[None, :, :]).reshape(-1, len(free))
        hi = np.array([high[s] for s in free])
        values = values[(values <= hi).all(axis=1)]
        if len(values) > MAX_OPTIONS:
            generator = rng if rng is not None else np.random.default_rng(0)
            values = values[np.sort(generator.choice(len(values), MAX_OPTIONS, replace=False))]
            complete = False
    lo = np.array([low[s] for s in free])
    values = values[(values >= lo).all(axis=1)]
    out = np.tile(base, (len(values), 1))
    out[:, free] = values
    fixed_ok = all(low[s] <= base[s] <= high[s] for s in range(slots) if fixed[s] is not None)
    if not fixed_ok:
        out = out[:0]
    return out, complete
