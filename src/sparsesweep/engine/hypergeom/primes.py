"""Mid-size tensors: the pmf as a product of prime powers.

The exponent of each prime ``p <= N`` in ``n! r! (N-n)! (N-r)! / (N! x! (n-x)! (r-x)! (N-n-r+x)!)``
comes from Legendre's formula (sum of ``a // q`` over ``q = p, p^2, ... <= N``; ``q`` is a 32-bit
unsigned product, which never wraps below 104724).  ``p^e`` is formed by fixed multiplication
chains up to ``e = 8`` and ``powl`` above, and multiplied into the running product in
increasing order of ``p``, skipping ``e = 0``.  When a step would overflow or underflow the long
double range a new partial product starts (:mod:`.partials`).

Evaluating every prime for every occupancy would cost ``#primes`` steps per value, so the
nonzero exponents are found from their structure instead: one of ``x`` or ``r`` varies (``v``),
and for a prime above ``sqrt(N)`` each of the four ``v``-dependent terms ``a // p`` only
steps where ``a`` crosses a multiple of ``p``.  Between those breakpoints the exponent is
constant, so the (prime, value) cells with a nonzero exponent come out as runs.  Primes up to
``sqrt(N)`` (at most 66) are evaluated densely, from a cached table of ``v_p(a!)``.  The
factors are then multiplied in prime order for all values at once, run by run; only blocks of
runs in which some running product could come near the edge of the long double range (a
float64 bound on its logarithm) are checked for new partial products at every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from math import isqrt

import numpy as np

from .longdouble import LD, LD_MAX, LD_MIN, ONE
from .partials import Runs, sequential_products

LIMIT = 104723  # largest N evaluated this way: the 9999th prime


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
    """``integer_power(p, e)`` for every tabulated prime (columns) and e in [_LOW_E, _HIGH_E].

    Only ``p^|e| <= LIMIT^2`` can occur (the bounds above), so the costly ``powl`` entries
    beyond that are left NaN."""
    table = np.full((_HIGH_E - _LOW_E + 1, PRIMES.size), np.nan, dtype=LD)
    reach = 2 * np.log(LIMIT) / np.log(PRIMES.astype(np.float64)) + 1e-9  # largest |e| per prime
    for e in range(_LOW_E, _HIGH_E + 1):
        cols = np.flatnonzero(abs(e) <= reach)
        table[e - _LOW_E, cols] = integer_power(PRIMES[cols], e)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def _limit_table() -> np.ndarray:
    """Per power-table entry ``p^e``: ``LD_MAX / p^e`` if it is > 1, else ``LD_MIN / p^e``
    (the running product must stay at or below / above it)."""
    power = _power_table()
    with np.errstate(over="ignore"):
        table = np.where(power > ONE, LD_MAX / power, LD_MIN / power)
    table.setflags(write=False)
    return table


_DENSE_MAX = int(np.searchsorted(PRIMES, isqrt(LIMIT), side="right"))  # primes with p^2 <= LIMIT


@lru_cache(maxsize=1)
def _legendre_table() -> np.ndarray:
    """``v_p(a!)`` for the primes with ``p^2 <= LIMIT`` (rows) and ``a = 0..LIMIT`` (int32).

    For ``a <= N`` the reference's sum over ``q = p, p^2, ... <= N`` of ``a // q`` is exactly
    Legendre's formula: the terms with ``q > N >= a`` vanish."""
    a = np.arange(LIMIT + 1, dtype=np.int32)
    table = np.zeros((_DENSE_MAX, LIMIT + 1), dtype=np.int32)
    for i, p in enumerate(PRIMES[:_DENSE_MAX].tolist()):
        q = p
        while q <= LIMIT:
            table[i] += a // q
            q *= p
    table.setflags(write=False)
    return table


Args = Callable[[np.ndarray], tuple[np.ndarray, ...]]  # v -> the nine factorial arguments
_SIGN = np.array([1, 1, 1, 1, -1, -1, -1, -1, -1])


def _dense_exponents(dense: int, args: tuple[np.ndarray, ...], consecutive: bool) -> np.ndarray:
    """Exponents of the first ``dense`` primes for every value: (dense, values).  For
    ``consecutive`` values each argument is a run of consecutive integers (up or down)."""
    table = _legendre_table()[:dense]
    out = np.zeros((dense, args[0].size), dtype=np.int32)
    for sign, a in zip(_SIGN, args):
        first, last = int(a[0]), int(a[-1])
        if first == last:
            part = table[:, first:first + 1]
        elif consecutive:
            part = table[:, first:last + 1] if last > first else table[:, first:(last - 1 if last else None):-1]
        else:
            part = table[:, a]
        (np.add if sign > 0 else np.subtract)(out, part, out=out)
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
    count = int(np.searchsorted(PRIMES, total, side="right"))
    dense = int(np.searchsorted(PRIMES, isqrt(total), side="right"))  # primes with p^2 <= total
    consecutive = int(values[-1]) - int(values[0]) == values.size - 1
    small = _dense_exponents(dense, args_of(values), consecutive)
    row, a, b, e = _runs(np.arange(dense, count), args_of, values)
    at = e - _LOW_E
    runs = Runs(a, b, _power_table()[at, row], _limit_table()[at, row], e * _LOG2[row])
    return sequential_products(_dense_factors(small), runs, values.size)


def _dense_factors(small: np.ndarray) -> Iterator[np.ndarray]:
    """Per dense prime, its factor ``p^e`` for every value (1 where ``e = 0``)."""
    table = _power_table()
    for i, expo in enumerate(small):
        yield table[expo - _LOW_E, i]
