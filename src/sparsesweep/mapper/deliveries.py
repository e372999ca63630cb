"""Deliveries the batch model (:mod:`.batch`) counts with closed forms: sliding-window tensors (the
closed form of the engine's delta count) and neighbour-link savings at the compute fanout."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .tlcheck import spatial_order

if TYPE_CHECKING:
    from .batch import Batch, Tables


def link_savings(tab: Tables, rel: np.ndarray, P0: np.ndarray, x0: np.ndarray, per0: np.ndarray,
                  reuse0: np.ndarray) -> np.ndarray:
    """Reads of a tensor that neighbour links save at the compute fanout (engine.links.link_effect):
    (points shared with a mesh neighbour) x (steps before the innermost relevant temporal loop)."""
    from ..engine.links import shared_stationary

    out = np.zeros(len(P0))
    candidates = (P0.prod(axis=1) > 1) & (np.where(rel, 1, P0).prod(axis=1) > 1) & (reuse0 > 1)
    if not candidates.any():
        return out
    keys, inverse = np.unique(np.concatenate([P0, x0.astype(np.int64)], axis=1)[candidates], axis=0,
                              return_inverse=True)
    dims = P0.shape[1]
    shared = np.zeros(len(keys))
    for k, key in enumerate(keys):
        factors, xaxis = [int(v) for v in key[:dims]], [bool(v) for v in key[dims:]]
        order, split = spatial_order(tab.spatial0.prefix, factors, xaxis)
        loops = [d for d in order if factors[d] > 1]
        is_x = tuple(pos < split for pos, d in enumerate(order) if factors[d] > 1)
        shared[k] = shared_stationary(tuple(factors[d] for d in loops), tuple(bool(rel[d]) for d in loops),
                                      is_x, tab.mesh0)
    out[candidates] = shared[inverse.ravel()] * per0[candidates] * (1.0 - 1.0 / reuse0[candidates])
    return out


def sliding_windows(tab: Tables, ti: int, b: Batch, T: np.ndarray, P: np.ndarray, cum: np.ndarray,
                     size: np.ndarray, per: np.ndarray) -> None:
    """Deliveries of a tensor whose projection couples dimensions (sliding windows, e.g. P+R):
    the closed form of :func:`sparsesweep.engine.deltas.temporal_deliveries`, for all candidates.

    For a child tile, take the temporal loops above it, innermost first, with per-step moves
    ``u`` (per rank) and ``tau_j = u_j - sum(u_i, i < j)``; with ``u_a`` the move of the
    innermost loop that moves the tile, deliveries = tile + sum_j (bound_j - 1) * (bounds of
    the loops outside j) * delta_j, where delta_j is 0 for a step that leaves the tile in
    place, the new slab of ``u_a`` when ``tau_j == u_a``, and the whole tile otherwise.
    Updates ``per`` in place (levels 1..n-1)."""
    ranks = tab.ranks[ti]
    n, D = tab.n, tab.dims
    if n < 2 or all(len(rank) < 2 for rank in ranks):
        return
    coef = np.zeros((len(ranks), D), dtype=np.int64)
    for r, rank in enumerate(ranks):
        for dim, c in rank:
            coef[r, dim] += c
    coef = coef[(coef * (cum[:1, -1] > 1)).any(axis=1)]  # ranks along which some loop can move
    keys = _rank_keys(coef, cum[0, -1] if len(b) else np.ones(D, dtype=np.int64))
    # Arrays below are (level - 1, loop position, candidate): the temporal loops of levels
    # 1..n-1, innermost first within a level (dims ordered by rank, ties by dim index).
    C = len(b)
    rank = np.ascontiguousarray(b.rank[:, 1:].transpose(1, 2, 0))
    position = np.zeros(rank.shape, dtype=np.int64)
    for d in range(D):
        for e in range(D):
            if e != d:
                position[:, d] += (rank[:, e] < rank[:, d]) | ((rank[:, e] == rank[:, d]) & (e < d))
    order = np.empty_like(position)
    np.put_along_axis(order, position, np.broadcast_to(np.arange(D)[None, :, None], position.shape), axis=1)
    bounds = np.take_along_axis(T[:, 1:].transpose(1, 2, 0), order, axis=1)
    # Per-step move unit of each loop: its dim's loops below (the child tiles and the level's own
    # spatial loops); 0 for trivial loops, which neither move the tile nor count.
    unit = (cum[:, :-1] * P[:, 1:]).transpose(1, 2, 0)
    step = np.where(bounds > 1, np.take_along_axis(unit, order, axis=1), 0)
    outside = np.ones_like(bounds)  # bounds of the loops outside each loop, in its level and above
    outside[:, :-1] = np.cumprod(bounds[:, :0:-1], axis=1)[:, ::-1]
    levels = bounds.prod(axis=1)  # (m, C)
    above = np.ones_like(levels)
    above[:-1] = np.cumprod(levels[:0:-1], axis=0)[::-1]
    outside *= above[:, None, :]
    moves, inner, below = [], [], []
    for key in keys:  # moves as exact integer keys of their rank vectors
        mv = step * key[order]
        moves.append(mv)
        inner.append(np.cumsum(mv, axis=1) - mv)  # moves of the level's loops inside each loop
        low = np.zeros_like(levels)
        low[1:] = np.cumsum(mv.sum(axis=1), axis=0)[:-1]  # moves of the levels below
        below.append(low)
    # The innermost loop that moves the tile, per level: its dim and move unit.
    moving = (step > 0) & coef.any(axis=0)[order]
    pos = moving.argmax(axis=1)[:, None, :]  # (m, 1, C)
    has = moving.any(axis=1)
    first_dim = np.zeros(C, dtype=np.int64)
    first_step = np.zeros(C, dtype=np.int64)
    for li in range(n - 1, 0, -1):
        m = li - 1
        first_dim = np.where(has[m], np.take_along_axis(order[m], pos[m], axis=0)[0], first_dim)
        first_step = np.where(has[m], np.take_along_axis(step[m], pos[m], axis=0)[0], first_step)
        full = size[:, li - 1]
        overlap = np.ones_like(full)
        for r in range(len(coef)):
            extent = 1 + (cum[:, li - 1] - 1) @ coef[r]
            overlap = overlap * np.maximum(extent - coef[r, first_dim] * first_step, 0)
        zero = np.ones(bounds[m:].shape, dtype=bool)
        same = np.ones(bounds[m:].shape, dtype=bool)
        for key, mv, ins, low in zip(keys, moves, inner, below):
            tau = mv[m:] - ((low[m:] - low[m])[:, None, :] + ins[m:])
            zero &= tau == 0
            same &= tau == key[first_dim] * first_step  # u_a
        delta = np.where(zero, 0, np.where(same, full - overlap, full))
        per[:, li] = full + ((bounds[m:] - 1) * outside[m:] * delta).sum(axis=(0, 1))


def _rank_keys(coef: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Per-dim integer weights that encode a move's rank vector as one exact integer.

    A move (or a difference of two sums of single loop steps) along rank r stays within
    +-2 * sum_d coef[r, d] * size_d, so a mixed radix of 4 * that + 1 per rank keeps vectors
    apart; ranks are grouped so that each group's radix product fits in int64."""
    span = coef @ sizes
    keys, weight, group = [], 1, np.zeros(coef.shape[1], dtype=np.int64)
    for r in range(len(coef)):
        radix = 4 * int(span[r]) + 1
        if weight * radix >= 2 ** 62 and weight > 1:
            keys.append(group)
            weight, group = 1, np.zeros(coef.shape[1], dtype=np.int64)
        group = group + coef[r] * weight
        weight *= radix
    keys.append(group)
    return keys
