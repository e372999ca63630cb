"""Long products in the prime-factor method, with the reference's partial products.

The reference multiplies one factor ``p`` after another into a running product; before a
step that would push it above the largest long double (``p > 1`` and ``LD_MAX / p < product``)
or below the smallest normal one (``p < 1`` and ``LD_MIN / p > product``), it keeps the product
as a partial product and starts a new one from ``p``.  At the end the partial products are
multiplied together newest first, taking one >= 1 while the product is <= 1 and one < 1
while it is >= 1 (or whatever kind is left).

Here the factors of many values are applied together: first one factor per value for each
dense prime, then runs of values that share a factor.  Factors equal to 1 (exponent 0, which
the reference skips) change nothing and start no partial product.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from .longdouble import LD, ONE, alternate


class Runs(NamedTuple):
    """Runs in the order the factors are applied: values ``lo:hi`` take ``factor``;
    ``limit`` is ``LD_MAX / factor`` for a factor > 1, else ``LD_MIN / factor``, and
    ``log2`` the factor's base-2 logarithm (float64)."""

    lo: np.ndarray
    hi: np.ndarray
    factor: np.ndarray
    limit: np.ndarray
    log2: np.ndarray


_BLOCK = 512  # runs per block
_TOP, _BOTTOM = 16384 - 2, -16382 + 2  # log2 range (with a margin) in which no step can split


def sequential_products(dense: Iterable[np.ndarray], runs: Runs, width: int) -> np.ndarray:
    """Products of ``width`` values: the dense factor rows first (their running product stays
    far inside the range: at most 66 factors within 2^+-34), then the runs, a block at a time.

    Before each block, the exponents of the running products plus the block's positive (resp.
    negative) log2 terms per value bound every product the block reaches; a block that stays
    inside ``[_BOTTOM, _TOP]`` cannot start a partial product and runs unchecked.
    """
    out = np.ones(width, dtype=LD)
    cols, partials = [], []
    with np.errstate(over="ignore", under="ignore"):
        for row in dense:
            out *= row
        for start in range(0, runs.lo.size, _BLOCK):
            block = slice(start, start + _BLOCK)
            lo, hi, factor = runs.lo[block], runs.hi[block], runs.factor[block]
            w = runs.log2[block]
            up = w > 0
            exponent = np.frexp(out)[1]  # out in [2^(exponent-1), 2^exponent)
            rise = _spread(lo[up], hi[up], width, w[up])
            fall = _spread(lo[~up], hi[~up], width, w[~up])
            if (exponent + rise).max() < _TOP and (exponent - 1 + fall).min() > _BOTTOM:
                for a, b, f in zip(lo.tolist(), hi.tolist(), factor):
                    out[a:b] *= f
            else:
                _checked(out, lo, hi, factor, runs.limit[block], up, cols, partials)
    if cols:
        _finish(out, np.concatenate(cols), np.concatenate(partials))
    return out


def _checked(out: np.ndarray, lo: np.ndarray, hi: np.ndarray, factor: np.ndarray, limit: np.ndarray,
             up: np.ndarray, cols: list[np.ndarray], partials: list[np.ndarray]) -> None:
    """Apply runs step by step, starting new partial products where the reference does
    (appending the closed ones and their value indices to ``partials`` and ``cols``)."""
    for a, b, f, lim, rising in zip(lo.tolist(), hi.tolist(), factor, limit, up.tolist()):
        part = out[a:b]
        new = part > lim if rising else part < lim
        if new.any():
            at = np.flatnonzero(new)
            cols.append(at + a)
            partials.append(part[at])
            part *= f
            part[at] = f
        else:
            part *= f


def _spread(a: np.ndarray, b: np.ndarray, size: int, weight: np.ndarray) -> np.ndarray:
    """Per index, the summed weight of the runs [a, b) covering it."""
    delta = np.bincount(a, weight, minlength=size + 1) - np.bincount(b, weight, minlength=size + 1)
    return np.cumsum(delta[:size])


def _finish(out: np.ndarray, cols: np.ndarray, partials: np.ndarray) -> None:
    """Combine, for each value in ``cols`` (with repeats, oldest first), its partial products
    with the running product in ``out``."""
    split = np.unique(cols)
    owner = np.searchsorted(split, np.concatenate((cols, split)))
    out[split] = combine(np.concatenate((partials, out[split])), owner, split.size)


def combine(values: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """Per owner, its partial products (given oldest first) multiplied newest first, alternating."""
    order = np.lexsort((-np.arange(values.size), owner))  # by owner, newest first
    values, owner = values[order], owner[order]
    queues = []
    for keep in (values >= ONE, values < ONE):
        o, v = owner[keep], values[keep]
        length = np.bincount(o, minlength=count)
        rank = np.arange(o.size) - np.repeat(np.cumsum(length) - length, length)
        queue = np.ones((max(1, int(length.max(initial=0))), count), dtype=LD)
        queue[rank, o] = v
        queues.append((queue, length))
    (big, big_len), (small, small_len) = queues
    return alternate(np.ones(count, dtype=LD), big, big_len, False, lambda p: p <= ONE,
                     small, small_len, lambda p: p >= ONE)
