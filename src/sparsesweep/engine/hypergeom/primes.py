"""Mid-size tensors: the pmf as a product of prime powers.

The exponent of each prime ``p <= N`` in ``n! r! (N-n)! (N-r)! / (N! x! (n-x)! (r-x)! (N-n-r+x)!)``
comes from Legendre's formula (sum of ``a // q`` over ``q = p, p^2, ... <= N``; ``q`` is a 32-bit
unsigned product, which never wraps below 104724).  ``p^e`` is formed by fixed multiplication
chains up to ``e = 8`` and ``powl`` above, and multiplied into the running product in
increasing order of ``p``, skipping ``e = 0``.  When a step would overflow or underflow the long
double range a new partial product starts; the partial products are combined at the end,
newest first, alternating those >= 1 and < 1.

Evaluating every prime for every occupancy would cost ``#primes`` steps per value, so the
nonzero exponents are found from their structure instead: one of ``x`` or ``r`` varies (``v``),
and for a prime above ``sqrt(N)`` each of the four ``v``-dependent terms ``a // p`` only
steps where ``a`` crosses a multiple of ``p``.  Between those breakpoints the exponent is
constant, so the (prime, value) cells with a nonzero exponent come out as runs.  Primes up to
``sqrt(N)`` (at most 65) are evaluated densely.  Each value's factors, in prime order, are then
multiplied by one sequential reduction; values whose running product could leave the long
double range (judged from float64 logarithms with a wide margin) take the exact step-by-step
path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .longdouble import LD, ONE
from .partials import split_products

LIMIT = 104723  # largest N evaluated this way: the 9999th prime
_U32 = 0xFFFFFFFF
_CELLS = 1 << 23  # (prime, value) cells per block
# Each factor p^e lies in [1/N, N^2] (Kummer: e counts carries, at most 2 log_p N, at least
# -log_p N), so within 2^-34 .. 2^34; running products within 2^+-this cannot leave range:
_SAFE_LOG2 = 16382 - 96


def _sieve(limit: int) -> np.ndarray:
    flags = np.ones(limit + 1, dtype=bool)
    flags[:2] = False
    for p in range(2, int(limit**0.5) + 1):
        if flags[p]:
            flags[p * p::p] = False
    return np.flatnonzero(flags)


PRIMES = _sieve(LIMIT)
_LOG2 = np.log2(PRIMES.astype(np.float64))


def integer_power(p: np.ndarray, e: int) -> np.ndarray:
    """``p^e`` in long double: ``1 / p^-e`` below 0, fixed chains up to 8, ``powl`` above."""
    if e < 0:
        return ONE / integer_power(p, -e)
    x = np.asarray(p, dtype=LD)
    if e == 0:
        return np.ones_like(x)
    if e == 3:
        return x * x * x
    if e <= 8:
        return _square_chain(x, e)
    return np.power(x, LD(e))


def _square_chain(x: np.ndarray, e: int) -> np.ndarray:
    if e == 1:
        return x
    half = _square_chain(x, e // 2)
    return x * half * half if e % 2 else half * half


_LOW_E, _HIGH_E = -16, 33  # exponents lie within [-log_p N, 2 log_p N], N < 2^17


@lru_cache(maxsize=1)
def _power_table() -> np.ndarray:
    """``integer_power(p, e)`` for every tabulated prime (columns) and e in [_LOW_E, _HIGH_E]."""
    table = np.stack([integer_power(PRIMES, e) for e in range(_LOW_E, _HIGH_E + 1)])
    table.setflags(write=False)
    return table


@lru_cache(maxsize=64)
def _levels(total: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per power level: (prime rows, divisors q <= total), q a wrapping 32-bit product."""
    primes = PRIMES[PRIMES <= total].astype(np.int64)
    rows = np.arange(primes.size)
    q = primes.copy()
    levels = []
    while rows.size:
        levels.append((rows, q))
        q = (q * primes[rows]) & _U32
        alive = q <= total
        rows, q = rows[alive], q[alive]
    return tuple(levels)


Args = Callable[[np.ndarray], tuple[np.ndarray, ...]]  # v -> the nine factorial arguments
_SIGN = np.array([1, 1, 1, 1, -1, -1, -1, -1, -1])


def _dense_exponents(levels, rows: int, args: tuple[np.ndarray, ...]) -> np.ndarray:
    """Exponents of primes ``0..rows-1`` (all their levels) for every value: (rows, values)."""
    out = np.zeros((rows, args[0].size), dtype=np.int64)
    fixed = [bool(a.size) and bool((a == a[0]).all()) for a in args]
    for level_rows, q in levels:
        sel = level_rows < rows
        d = q[sel]
        const = sum(s * (int(a[0]) // d) for s, a, f in zip(_SIGN, args, fixed) if f)
        varying = sum(s * (a[None, :] // d[:, None]) for s, a, f in zip(_SIGN, args, fixed) if not f)
        out[level_rows[sel]] += np.asarray(const)[..., None] + varying
    return out


def _runs(rows: np.ndarray, args_of: Args, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """(prime row, first index, end index, exponent) of the nonzero runs of single-level primes
    over the sorted ``values``, ordered by prime, then index."""
    p = PRIMES[rows].astype(np.int64)
    lo, hi = int(values[0]), int(values[-1])
    c = np.array(args_of(np.zeros(1, dtype=np.int64)))[:, 0]
    s = np.array(args_of(np.ones(1, dtype=np.int64)))[:, 0] - c
    steps = [(-c[j]) if s[j] > 0 else (c[j] + 1) for j in range(9) if s[j]]
    k0, k1 = lo // p, hi // p
    per = k1 - k0 + 1
    owner = np.repeat(np.arange(p.size), per)
    k = np.arange(owner.size) - np.repeat(np.cumsum(per) - per, per) + k0[owner]
    cuts = [k * p[owner] + np.mod(b, p[owner]) for b in steps]
    cut_owner = np.concatenate([owner] * len(cuts) + [np.arange(p.size)])
    cut_at = np.concatenate(cuts + [np.full(p.size, lo)])
    keep = (cut_at >= lo) & (cut_at <= hi)
    cut_owner, cut_at = cut_owner[keep], cut_at[keep]
    order = np.lexsort((cut_at, cut_owner))
    cut_owner, cut_at = cut_owner[order], cut_at[order]
    first = np.ones(cut_at.size, dtype=bool)
    first[1:] = (cut_owner[1:] != cut_owner[:-1]) | (cut_at[1:] != cut_at[:-1])
    cut_owner, cut_at = cut_owner[first], cut_at[first]
    last = np.append(cut_owner[1:] != cut_owner[:-1], True)
    end_at = np.where(last, hi + 1, np.append(cut_at[1:], 0))
    d = p[cut_owner]
    expo = sum(sg * (a // d) for sg, a in zip(_SIGN, args_of(cut_at)))
    start = np.searchsorted(values, cut_at)
    stop = np.searchsorted(values, end_at)
    keep = (expo != 0) & (stop > start)
    return rows[cut_owner[keep]], start[keep], stop[keep], expo[keep]


def pdf_prime(args_of: Args, values: np.ndarray, total: int) -> np.ndarray:
    """The pmf in long double at sorted unique ``values`` of the varying argument."""
    levels = _levels(total)
    prime_count = levels[0][0].size
    dense = levels[1][0].size if len(levels) > 1 else 0  # primes with p^2 <= total, a prefix
    small = _dense_exponents(levels, dense, args_of(values))
    runs = _runs(np.arange(dense, prime_count), args_of, values)
    row, a, b, e = runs
    reach = np.abs(small).T @ _LOG2[:dense] + _spread(a, b, values.size, np.abs(e) * _LOG2[row])
    out = _run_products(small, runs, values.size)
    unsafe = np.flatnonzero(reach > _SAFE_LOG2)  # the product might leave range: step by step
    if unsafe.size:
        keep_a, keep_b = np.searchsorted(unsafe, a), np.searchsorted(unsafe, b)
        out[unsafe] = _exact(small[:, unsafe], (row, keep_a, keep_b, e))
    return out


def _run_products(small: np.ndarray, runs: tuple[np.ndarray, ...], width: int) -> np.ndarray:
    """Sequential products, the dense primes row by row, then each run of a larger prime."""
    out = np.ones(width, dtype=LD)
    with np.errstate(over="ignore", under="ignore"):
        for i, expo in enumerate(small):
            if expo.any():
                out *= _factors(expo, np.full(width, i))
        row, a, b, e = runs
        for lo, hi, f in zip(a.tolist(), b.tolist(), _factors(e, row)):
            out[lo:hi] *= f
    return out


def _factors(expo: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``integer_power(prime[row], e)`` per entry."""
    return _power_table()[expo - _LOW_E, rows]


def _exact(small: np.ndarray, runs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Products for columns whose running product may need new partial products."""
    width = small.shape[1]
    run_row, run_a, run_b, run_e = runs
    counts = _spread(run_a, run_b, width) + np.count_nonzero(small, axis=0)
    out = np.empty(width, dtype=LD)
    start = 0
    while start < width:  # blocks of columns within the cell budget
        stop = int(np.searchsorted(np.cumsum(counts[start:]), _CELLS, side="right")) + start
        stop = min(max(stop, start + 1), start + 0xFFFF, width)
        cells = _block_cells(small[:, start:stop], runs, start, stop)
        out[start:stop] = _products(*cells, stop - start)
        start = stop
    return out


def _spread(a: np.ndarray, b: np.ndarray, size: int, weight: np.ndarray | int = 1) -> np.ndarray:
    """Per index, the summed weight of the runs [a, b) covering it."""
    delta = np.zeros(size + 1, dtype=np.result_type(weight, np.int64))
    np.add.at(delta, a, weight)
    np.add.at(delta, b, -np.asarray(weight))
    return np.cumsum(delta[:-1])


def _block_cells(small: np.ndarray, runs: tuple[np.ndarray, ...], start: int, stop: int):
    """Nonzero cells (row, column in block, exponent) of the block, grouped by column in prime order."""
    small_row, small_col = np.nonzero(small)
    small_e = small[small_row, small_col]
    row, a, b, e = runs
    a, b = np.maximum(a, start), np.minimum(b, stop)
    keep = b > a
    row, a, b, e = row[keep], a[keep] - start, b[keep] - start, e[keep]
    length = b - a
    col = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length) + np.repeat(a, length)
    rows = np.concatenate((small_row.astype(np.int16), np.repeat(row.astype(np.int16), length)))
    cols = np.concatenate((small_col.astype(np.uint16), col.astype(np.uint16)))
    expo = np.concatenate((small_e.astype(np.int8), np.repeat(e.astype(np.int8), length)))
    order = np.argsort(cols, kind="stable")  # radix sort; keeps prime order within a column
    return rows[order], cols[order], expo[order]


def _products(rows: np.ndarray, cols: np.ndarray, expo: np.ndarray, width: int) -> np.ndarray:
    out = np.ones(width, dtype=LD)
    if not rows.size:
        return out
    factors = _factors(expo, rows)
    count = np.bincount(cols, minlength=width)
    filled = np.flatnonzero(count)
    starts = (np.cumsum(count) - count)[filled]
    log2s = expo * _LOG2[rows]
    running = np.cumsum(log2s)
    running -= np.repeat(np.concatenate(([0.0], running))[starts], count[filled])
    risky = (np.maximum.reduceat(running, starts) > _SAFE_LOG2) | (np.minimum.reduceat(running, starts) < -_SAFE_LOG2)
    with np.errstate(over="ignore", under="ignore"):
        out[filled] = np.multiply.reduceat(factors, starts)
    if risky.any():
        out[filled[risky]] = split_products(factors, log2s, starts[risky], count[filled][risky])
    return out
