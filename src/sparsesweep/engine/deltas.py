"""Closed forms of Timeloop's delta simulation (its legacy nest analysis).

Timeloop walks the loop nest and, for each storage tile, accumulates the *delta*
between the tile's working set now and at its previous visit.  It simulates only
iterations #0 and #1 of every temporal loop and weighs iteration #1 by ``bound - 1``;
working sets are axis-aligned hyper-rectangles (AAHRs) per tensor rank, subtracted
exactly.  The tile keeps its last working set and its last non-zero translation
(``SaveAndSubtractIfSameStride``): a visit that leaves the tile where it was delivers
nothing and keeps that translation; a move by the same translation, or the first move
after a reset, delivers the new points; a move by any other translation discards the
residual and refetches the whole tile (and resets the translation).

For a tile that sees temporal loops ``0..k-1`` above it (innermost first, bound > 1),
the visits are the binary patterns over those loops in counting order; the move into
the pattern where loop ``j`` becomes 1 (and the loops inside it fall back to 0) is
``tau_j = u_j - sum(u_i, i < j)`` for per-step moves ``u``.  Let ``a`` be the innermost
loop that moves the tile.  Loops inside ``a`` are stationary; every step of ``a`` sees
the translation ``u_a`` again (any other move in between was either stationary or reset
the state), so the translation held before any outer loop ``j`` steps is ``u_a``.
Hence, with ``S_j`` the product of the bounds outside ``j``:

    deliveries = tile + sum_j (bound_j - 1) * S_j * delta_j,
    delta_j = 0 if tau_j == 0,  new(u_a) if tau_j == u_a,  tile otherwise,

where ``new(u)`` is the part of the tile not covered by its copy shifted by ``u``.
:func:`temporal_deliveries` evaluates it; ``tests/test_deltas.py`` checks it against a
literal replay of the visits.
"""

from __future__ import annotations

from collections.abc import Sequence

Vector = tuple[int, ...]


def delta_size(t: Vector, extents: Sequence[int], full: int) -> int:
    """Points of a tile (``extents`` per rank) not covered by its copy shifted by ``-t``.

    Timeloop's point sets are unions of AAHRs whose subtraction is exact: the new tile
    minus its overlap with the previous one (identical -> 0, disjoint -> the whole tile).
    """
    overlap = 1
    for v, e in zip(t, extents):
        v = abs(v)
        if v >= e:
            return full
        overlap *= e - v
    return full - overlap


def temporal_deliveries(moves: Sequence[Vector], bounds: Sequence[int], extents: Sequence[int]) -> int:
    """Total points delivered to one tile instance over the whole run.

    ``moves[j]`` is the tile's translation (per rank) when temporal loop ``j`` (innermost
    first, only loops with bound > 1) advances by one; ``extents`` is the tile's shape.
    """
    full = 1
    for e in extents:
        full *= e
    k = len(bounds)
    outer = [1] * (k + 1)  # outer[j]: product of the bounds of the loops outside loop j
    for j in range(k - 1, -1, -1):
        outer[j] = outer[j + 1] * bounds[j]
    total = full
    prefix = tuple(0 for _ in extents)
    first: Vector | None = None  # u_a: the move of the innermost loop that moves the tile
    new = full
    for j in range(k):
        tau = tuple(m - p for m, p in zip(moves[j], prefix))
        prefix = tuple(p + m for p, m in zip(prefix, moves[j]))
        if not any(tau):
            continue
        if first is None:
            first = tau
            new = delta_size(tau, extents, full)
        delta = new if tau == first else full
        total += (bounds[j] - 1) * outer[j + 1] * delta
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
