"""Long products that keep within the long double range by starting new partial products.

The prime-factor method multiplies one factor after another; before a step that would push
the running product above the largest (or below the smallest normal) long double, it closes
that partial product and starts a new one with the factor.  At the end the partial products
are multiplied together newest first, taking one >= 1 while the product is <= 1 and one < 1
while it is >= 1 (or whatever kind is left).

Where the new partial products start follows from the magnitudes alone, which float64 sums
of ``log2`` of the factors give to within ~1e-7 (segments of <= 10^4 factors), far inside the 1e-5
margin below which a product is treated as too close to call and done step by step in
long double instead.
"""

from __future__ import annotations

import numpy as np

from .longdouble import LD, LD_MAX, LD_MIN, ONE, alternate

_TOP, _BOTTOM = 16384.0, -16382.0  # log2 of the largest and of the smallest normal long double
_UNSURE = 1e-5
_NEAR_MAX = np.ldexp(LD(1), 16384 - 64)  # products a factor in [2^-34, 2^34] can push out
_NEAR_MIN = np.ldexp(LD(1), -16382 + 64)


def split_products(factors: np.ndarray, log2s: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The products of the segments ``factors[starts[i] : starts[i] + counts[i]]`` (nonempty),
    with partial products as above; ``log2s`` are the factors' base-2 logarithms."""
    first = np.cumsum(counts) - counts  # segment starts in the compact arrays
    if first.size and starts[0] == 0 and (starts == first).all() and first[-1] + counts[-1] == factors.size:
        f, lg = factors, log2s  # every segment: no need to gather
    else:
        cells = np.arange(counts.sum()) - np.repeat(first, counts) + np.repeat(starts, counts)
        f, lg = factors[cells], log2s[cells]
    last = first + counts
    total = np.cumsum(lg)
    before = np.concatenate(([0.0], total))[first]
    run = total - np.repeat(before, counts)  # log2 of the product from the segment start through each cell
    cuts, unsure = _cuts(run, lg, first, last)
    bounds = np.sort(np.concatenate((first, cuts)))
    with np.errstate(over="ignore", under="ignore"):
        values = np.multiply.reduceat(f, bounds)
    owner = np.searchsorted(first, bounds, side="right") - 1
    out = _combine(values, owner, first.size)
    for i in np.flatnonzero(unsure):
        out[i] = split_product(f[first[i]:last[i]])
    return out


def _cuts(run: np.ndarray, lg: np.ndarray, first: np.ndarray, last: np.ndarray,
          window: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Cells that start a new partial product, and the segments too close to call.

    Each segment is scanned ``window`` cells at a time from its current partial product on
    (the product after a cell is ``run[cell] - base``, ``base`` the log2 of the cells of the
    earlier partial products).
    """
    pos = first + 1  # next cell to check (the first cell cannot leave range: 1 * f)
    base = np.zeros(first.size)
    unsure = np.zeros(first.size, dtype=bool)
    cuts = []
    active = np.flatnonzero(pos < last)
    step = np.arange(window)
    while active.size:
        cell = pos[active][:, None] + step
        inside = cell < last[active][:, None]
        cell = np.minimum(cell, run.size - 1)
        value = run[cell] - base[active][:, None]
        up, down = (lg[cell] > 0) & inside, (lg[cell] < 0) & inside
        new = (up & (value > _TOP)) | (down & (value < _BOTTOM))
        close = (up & (np.abs(value - _TOP) < _UNSURE)) | (down & (np.abs(value - _BOTTOM) < _UNSURE))
        unsure[active[close.any(axis=1)]] = True
        hit = new.any(axis=1) & ~unsure[active]
        at = cell[hit, np.argmax(new[hit], axis=1)]
        cuts.append(at)
        moved = active[hit]
        base[moved] = run[at - 1]
        pos[moved] = at + 1
        rest = active[~hit]
        pos[rest] += window
        active = active[(pos[active] < last[active]) & ~unsure[active]]
    return (np.concatenate(cuts) if cuts else np.zeros(0, dtype=np.int64)), unsure


def _combine(values: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
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


def split_product(factors: np.ndarray) -> np.longdouble:
    """One segment, step by step in long double (the reference for the above)."""
    partials, cur, i = [], ONE, 0
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        while i < factors.size:
            rest = factors[i:]
            run = np.multiply.accumulate(np.concatenate(([cur], rest)))
            before = run[:-1]
            near = np.flatnonzero((before > _NEAR_MAX) | (before < _NEAR_MIN))
            f, b = rest[near], before[near]
            new = near[((f > ONE) & (LD_MAX / f < b)) | ((f < ONE) & (LD_MIN / f > b))]
            if not new.size:
                cur = run[-1]
                break
            partials.append(before[new[0]])
            cur, i = rest[new[0]], i + new[0] + 1
    partials.append(cur)
    return _combine(np.array(partials, dtype=LD), np.zeros(len(partials), dtype=np.int64), 1)[0]
