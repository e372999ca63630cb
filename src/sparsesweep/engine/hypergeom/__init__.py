"""The hypergeometric pmf, bit for bit as Timeloop's density model gets it from Boost.Math.

Timeloop's hypergeometric density model asks Boost.Math (default policy) for
``P(k) = C(r, k) C(N-r, n-k) / C(N, n)``: ``n`` points drawn from a tensor of ``N`` points
of which ``r`` are nonzero, ``k`` of them drawn.  Boost evaluates that ``double`` pdf in
``long double`` (x86-64: the 80-bit x87 format) by one of three methods, chosen by ``N``:

* ``N <= 170``: a ratio of nine tabulated factorials (this module);
* ``N <= 104723``: the ratio's prime factorisation (:mod:`.primes`);
* larger ``N``: the Lanczos approximation of the nine factorials (:mod:`.lanczos`).

The results carry rounding noise (up to ~1e-14 relative for the Lanczos method), and a count
that sits on an integer in exact arithmetic, such as ``total * P(empty)``, lands on one side
or the other of it depending on that noise.  So each method is repeated here step for step in
``numpy.longdouble`` -- same constants, same operation order, the C library's ``powl`` /
``expl`` through numpy --, clamped to [0, 1] and rounded to double.  Where the C++ code
loops over occupancies, the steps run here for a whole vector of them at once.

``tools/boost_hypergeom`` holds the C++ program (built against the real headers) that
produces the reference values the tests compare with.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from math import lgamma

import numpy as np
from scipy.special import gammaln

from ...errors import SpecError
from . import lanczos
from .lanczos import pdf_lanczos
from .longdouble import LD, ONE, alternate, ld_exact
from .primes import LIMIT as PRIME_LIMIT
from .primes import pdf_prime

__all__ = ["FACTORIAL_LIMIT", "PRIME_LIMIT", "pmf", "support", "p_empty", "clear_caches"]

FACTORIAL_LIMIT = 170  # largest N evaluated from the factorial table
# Below e^-750 (< 2^-1082) every method's result, accurate to ~1e-12 relative, rounds to a
# double 0: such values are not evaluated (in a wide distribution, most of the support).
_NEGLIGIBLE = -750.0
_MAX_POINTS = 0xFFFFFFFF  # the counts are 32-bit unsigned in the pmf Timeloop calls

_FACTORIALS = np.array([ld_exact(1)] + [ld_exact(v) for v in np.cumprod(
    np.arange(1, FACTORIAL_LIMIT + 1, dtype=object))], dtype=LD)


def _pdf_factorial(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """Start from ``n!``; divide by the five denominator factorials while the value is >= 1,
    multiply by the three numerator ones while it is <= 1, alternating until all are used."""
    f = _FACTORIALS
    k = x.size
    num = np.stack((f[r], np.full(k, f[total - n]), f[total - r]))
    den = np.stack((np.full(k, f[total]), f[x], f[n - x], f[r - x], f[total - n - r + x]))
    return alternate(np.full(k, f[n]), den, np.full(k, 5), True, lambda v: v >= ONE,
                     num, np.full(k, 3), lambda v: v <= ONE)


def pmf(r: int | np.ndarray, n: int, total: int, k: int | np.ndarray) -> np.ndarray:
    """``P(k)`` as Timeloop gets it (0 outside the support), elementwise over ``k`` and ``r``.

    ``n`` points are drawn from ``total``, ``r`` of which are marked; ``P(k)`` is the
    probability that ``k`` marked points are drawn.  Returns float64 of the broadcast shape.
    """
    _check_size(total)
    rs, ks = np.broadcast_arrays(np.asarray(r, dtype=np.int64), np.asarray(k, dtype=np.int64))
    shape = rs.shape
    rs, ks = rs.ravel(), ks.ravel()
    inside = (ks >= np.maximum(0, n + rs - total)) & (ks <= np.minimum(n, rs))
    if inside.all():
        return _inside(ks, rs, n, total).reshape(shape)
    out = np.zeros(rs.size, dtype=np.float64)
    out[inside] = _inside(ks[inside], rs[inside], n, total)
    return out.reshape(shape)


def _check_size(total: int) -> None:
    if total > _MAX_POINTS:
        raise SpecError(f"hypergeometric density: a tensor of {total} points exceeds the 32-bit "
                        "counts of Timeloop's pmf", fix="use a smaller tensor or another distribution")


def _inside(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """The pmf at pairs inside the support, by the reference's method for ``total``."""
    out = np.zeros(x.size, dtype=np.float64)
    keep = _significant(x, r, n, total)
    if keep.any():
        x, r = x[keep], r[keep]
        if total <= FACTORIAL_LIMIT:
            value = _pdf_factorial(x, r, n, total)
        elif total <= PRIME_LIMIT:
            value = _by_prime_factors(x, r, n, total)
        else:
            value = pdf_lanczos(x, r, n, total)
        out[keep] = np.clip(value, 0, 1).astype(np.float64)
    return out


def _log_pmf(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """Natural log of the exact pmf in float64 (absolute error far below 1e-6 here)."""
    plus = gammaln(n + 1) + gammaln(r + 1) + gammaln(total - n + 1) + gammaln(total - r + 1)
    minus = gammaln(total + 1) + gammaln(x + 1) + gammaln(n - x + 1) + gammaln(r - x + 1)
    return plus - minus - gammaln(total - n - r + x + 1)


def _significant(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """Which pairs (inside the support) have ``log P > _NEGLIGIBLE``.

    The pmf is log-concave in ``x`` (fixed ``r``, mode ``floor((r+1)(n+1)/(N+2))``) and in
    ``r`` (fixed ``x``: ``P(r+1) >= P(r)`` iff ``n (r+1) <= x (N+1)``), so over increasing
    values of one of them the significant ones form a window around the mode, found by
    bisection from both sides; other mixes are judged pair by pair.
    """
    if x.size > 2 and n > 0:
        if (r == r[0]).all() and (x[1:] > x[:-1]).all():
            r0 = int(r[0])
            return _window(x, (r0 + 1) * (n + 1) // (total + 2), lambda v: _log_point(v, r0, n, total))
        if (x == x[0]).all() and (r[1:] > r[:-1]).all():
            x0 = int(x[0])
            return _window(r, x0 * (total + 1) // n, lambda v: _log_point(x0, v, n, total))
    return _log_pmf(x, r, n, total) > _NEGLIGIBLE


def _log_point(x: int, r: int, n: int, total: int) -> float:
    """``_log_pmf`` of one pair."""
    args = (n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x)
    return sum(sign * lgamma(a + 1) for sign, a in zip((1, 1, 1, 1, -1, -1, -1, -1, -1), args))


def _window(values: np.ndarray, mode: int, log_p: Callable[[int], float]) -> np.ndarray:
    """Mask of the increasing ``values`` where the unimodal ``log_p`` (peak at ``mode``)
    exceeds ``_NEGLIGIBLE``: nondecreasing below the mode, nonincreasing above."""
    above = int(np.searchsorted(values, mode))  # first value >= mode
    peak = max((i for i in (above - 1, above) if 0 <= i < values.size), key=lambda i: log_p(int(values[i])))
    mask = np.zeros(values.size, dtype=bool)
    if log_p(int(values[peak])) <= _NEGLIGIBLE:
        return mask
    lo, hi = 0, peak  # first significant index in [0, peak]
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if log_p(int(values[mid])) > _NEGLIGIBLE else (mid + 1, hi)
    first, lo, hi = lo, peak, values.size - 1  # last significant index in [peak, end)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if log_p(int(values[mid])) > _NEGLIGIBLE else (lo, mid - 1)
    mask[first:lo + 1] = True
    return mask


def _by_prime_factors(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """Prime-factor method, run per fixed ``r`` over the occupancies (or per fixed ``x`` over ``r``)."""
    out = np.empty(x.size, dtype=LD)
    vary_r = x.size > 1 and (x == x[0]).all() and not (r == r[0]).all()
    fixed, varying = (x, r) if vary_r else (r, x)
    for value in np.unique(fixed):
        sel = fixed == value
        points, inverse = np.unique(varying[sel], return_inverse=True)
        if vary_r:
            def args(v, x0=int(value)):
                return _nine(x0, v, n, total)
        else:
            def args(v, r0=int(value)):
                return _nine(v, r0, n, total)
        out[sel] = pdf_prime(args, points, total)[inverse]
    return out


def _nine(x, r, n: int, total: int) -> tuple[np.ndarray, ...]:
    """The factorial arguments: numerator n, r, N-n, N-r; denominator N, x, n-x, r-x, N-n-r+x."""
    return tuple(np.broadcast_arrays(n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x))


@lru_cache(maxsize=1024)
def support(r: int, n: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Occupancies ``max(0, n+r-N) .. min(n, r)`` and their probabilities (read-only arrays)."""
    _check_size(total)
    ks = np.arange(max(0, n + r - total), min(n, r) + 1, dtype=np.int64)
    probs = _inside(ks, np.full(ks.size, r, dtype=np.int64), n, total)
    ks.setflags(write=False)
    probs.setflags(write=False)
    return ks, probs


def p_empty(n: int, total: int, r: np.ndarray) -> np.ndarray:
    """P(drawing ``n`` of ``total`` points misses all ``r`` marked ones), elementwise over ``r``
    (a read-only array; runs of consecutive ``r``, as the density model asks, are cached)."""
    r = np.asarray(r, dtype=np.int64)
    if r.ndim == 1 and r.size > 1 and int(r[-1]) - int(r[0]) == r.size - 1 and (np.diff(r) == 1).all():
        return _p_empty_run(n, total, int(r[0]), int(r[-1]))
    out = pmf(r, n, total, 0)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=128)
def _p_empty_run(n: int, total: int, first: int, last: int) -> np.ndarray:
    out = pmf(np.arange(first, last + 1, dtype=np.int64), n, total, 0)
    out.setflags(write=False)
    return out


def clear_caches() -> None:
    """Forget cached results (supports, P(empty) runs, Lanczos sums); the tables built once
    per process (factorials, prime powers, Legendre exponents, expl) stay."""
    for cached in (support, _p_empty_run, lanczos._sum_block, lanczos._sum_at):
        cached.cache_clear()
