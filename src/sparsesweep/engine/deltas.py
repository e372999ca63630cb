"""Closed forms of Timeloop's delta simulation (its legacy nest analysis).

Timeloop walks the loop nest and, for each storage tile, accumulates the *delta*
between the tile's working set now and at its previous visit.  It simulates only
iterations #0 and #1 of every temporal loop and weighs iteration #1 by ``bound - 1``;
working sets are axis-aligned hyper-rectangles (AAHRs) per tensor rank; a delta whose
translation changes from one visit to the next resets the tile's residual state.

For a tile that sees temporal loops ``1..k`` above it (innermost first), the visits are
the binary patterns over those loops in counting order; the move into the pattern where
loop ``j`` becomes 1 is ``tau_j = u_j - sum(u_i, i < j)``.  :func:`temporal_deliveries`
evaluates the weighted sum of deltas with a memoised block recursion (O(k^3) at worst).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

Vector = tuple[int, ...]
_FIRST = None  # the very first visit: nothing held yet


def delta_size(t: Vector, extents: Sequence[int], full: int) -> int:
    """Points of a tile (``extents`` per rank) not covered by its copy shifted by ``-t``.

    Mirrors AAHR subtraction: identical -> 0; disjoint or shifted along two or more ranks
    -> the whole tile; shifted along one rank by less than its extent -> the new slab.
    """
    moved = [(r, abs(v)) for r, v in enumerate(t) if v]
    if not moved:
        return 0
    if len(moved) > 1:
        return full
    r, shift = moved[0]
    if shift >= extents[r]:
        return full
    return full // extents[r] * shift


def temporal_deliveries(moves: Sequence[Vector], bounds: Sequence[int], extents: Sequence[int]) -> int:
    """Total points delivered to one tile instance over the whole run.

    ``moves[j]`` is the tile's translation (per rank) when temporal loop ``j`` (innermost
    first, only loops with bound > 1) advances by one; ``extents`` is the tile's shape.
    """
    full = 1
    for e in extents:
        full *= e
    k = len(bounds)
    if k == 0:
        return full
    zero = tuple(0 for _ in extents)
    taus: list[Vector] = []
    prefix = zero
    for j in range(k):
        taus.append(tuple(a - b for a, b in zip(moves[j], prefix)))
        prefix = tuple(a + b for a, b in zip(prefix, moves[j]))

    def step(state: Vector | None, t: Vector | None) -> tuple[int, Vector | None]:
        # Timeloop's SaveAndSubtractIfSameStride: (delta, new stride state)
        if t is _FIRST:
            return full, None
        if state is None:
            return delta_size(t, extents, full), t
        if state == t:
            return delta_size(t, extents, full), state
        return full, None

    @lru_cache(maxsize=None)
    def block(m: int, state: Vector | None, t_in: Vector | None) -> tuple[int, Vector | None]:
        if m == 0:
            return step(state, t_in)
        first, mid = block(m - 1, state, t_in)
        second, out = block(m - 1, mid, taus[m - 1])
        return first + (bounds[m - 1] - 1) * second, out

    total, _ = block(k, None, _FIRST)
    return total


def simple_deliveries(relevant: Sequence[bool], bounds: Sequence[int], tile: int) -> int:
    """The same count when no rank couples two dimensions (every delta is 0 or the tile).

    Equal to :func:`temporal_deliveries` for such tensors: the tile is refetched once per
    iteration of every loop from the innermost relevant one outward.
    """
    total = tile
    started = False
    for rel, bound in zip(relevant, bounds):
        started = started or rel
        if started:
            total *= bound
    return total
