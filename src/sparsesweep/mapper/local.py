"""Seeded local search for mapspaces too large to scan: sample, then climb neighbourhoods.

A candidate's neighbours: one prime factor of one dimension moved between two loop slots,
another order of one level's loops, another X/Y assignment of one level's spatial loops,
one free keep/bypass choice flipped.  Each round explores the neighbourhoods of the best
distinct candidates (elites) in one numpy batch; the search stops when the elites stop
changing, after ``ROUNDS`` rounds, or at the deadline.  Same seed, same result.
"""

from __future__ import annotations

import time

import numpy as np

from . import batch, mapspace
from .batch import Batch, Scales, Tables
from .factors import prime_factors
from .mapspace import MapSpace

SAMPLES = 4096  # random factorizations per restart
ELITES = 16  # candidates whose neighbourhoods are explored per round
ROUNDS = 60  # rounds per restart at most
RESTARTS = 8  # restarts at least (unless the deadline comes first)
MAX_RESTARTS = 48  # ... and at most: it stops after PATIENCE restarts in a row that found nothing better
PATIENCE = 6
ALL_KEEPS = 1024  # up to this many bypass combinations, elites try them all


def keys(tab: Tables, b: Batch) -> np.ndarray:
    """(C, K) int64 rows that are equal exactly for equivalent candidates."""
    n = len(b)
    nontrivial = b.temporal > 1
    big = np.iinfo(np.int16).max
    sig = []
    weights = 1 << np.arange(tab.dims, dtype=np.int64)
    for ti in range(tab.rel.shape[0]):
        rel = tab.rel[ti]
        masked = np.where(nontrivial & rel, b.rank, big)
        rel_rank = masked.min(axis=2)
        lead = nontrivial & ~rel & (b.rank < rel_rank[:, :, None])
        code = (lead * weights).sum(axis=2)
        if any(len(rank) > 1 for rank in tab.ranks[ti]):
            first = np.where(rel_rank < big, masked.argmin(axis=2) + 1, 0)
            code = code + first * (1 << tab.dims)
        sig.append(code)
    xs = b.xaxis & (b.spatial > 1)
    return np.concatenate([b.temporal.reshape(n, -1), b.spatial.reshape(n, -1), xs.reshape(n, -1),
                           b.keep.reshape(n, -1), np.stack(sig, axis=2).reshape(n, -1)], axis=1).astype(np.int64)


def unique(tab: Tables, b: Batch) -> np.ndarray:
    """Indices of the first of each group of equivalent candidates, in order."""
    if len(b) == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.ascontiguousarray(keys(tab, b))
    _, first = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1),
                         return_index=True)
    return np.sort(first)


def _distinct_factorizations(b: Batch) -> np.ndarray:
    """Index of the first candidate of each distinct factorization, in order."""
    rows = np.ascontiguousarray(np.concatenate([b.temporal.reshape(len(b), -1), b.spatial.reshape(len(b), -1)], 1))
    _, first = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1),
                         return_index=True)
    return np.sort(first)


def canonical(space: MapSpace, b: Batch) -> Batch:
    """Repair orders and X/Y choices so that they honour the constraints for the current factors."""
    n, dims = space.n, space.tab.dims
    rank = b.rank.astype(np.int64).copy()
    nontrivial = b.temporal > 1
    for li in range(n):
        rule = space.rules.levels[li].temporal
        key = np.where(nontrivial[:, li], rank[:, li], 4 * dims + np.arange(dims))
        for pos, d in enumerate(rule.prefix):
            key[:, d] = np.where(nontrivial[:, li, d], pos - 2 * dims, key[:, d])
        for pos, d in enumerate(rule.suffix):
            key[:, d] = np.where(nontrivial[:, li, d], pos + 2 * dims, key[:, d])
        rank[:, li] = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1, kind="stable")
    active = b.spatial > 1
    xaxis = b.xaxis & active
    weights = 1 << np.arange(dims, dtype=np.int64)
    amask = (active * weights).sum(axis=2)
    xmask = (xaxis * weights).sum(axis=2)
    for li in range(n):
        for a in np.unique(amask[:, li]):
            dims_on = [d for d in range(dims) if (int(a) >> d) & 1]
            valid = [int((opt * weights).sum()) for opt in mapspace.spatial_axes(space, li, dims_on)]
            rows = (amask[:, li] == a) & ~np.isin(xmask[:, li], valid)
            if rows.any():
                xaxis[rows, li] = (valid[0] >> np.arange(dims)) & 1 == 1
    return Batch(b.temporal, b.spatial, rank.astype(np.int16), xaxis, b.keep)


def outer_biased(space: MapSpace, count: int, rng: np.random.Generator) -> np.ndarray:
    """Random factorizations that put each prime factor in outer slots more often (weight 4 per level):
    large outer buffers make such tilings legal far more often than uniform ones."""
    slots, dims = 2 * space.n, space.tab.dims
    f = np.ones((count, slots, dims), dtype=np.int64)
    free = ~space.fixed & (space.high > 1)
    for d in range(dims):
        rest = int(space.spec.problem.bounds[d])
        for s in np.flatnonzero(space.fixed[:, d]):  # fixed factors: the same in every option
            f[:, s, d] = space.options[d][0, s]
            rest //= int(space.options[d][0, s])
        choices = np.flatnonzero(free[:, d])
        if not len(choices):
            continue
        weights = 4.0 ** (choices // 2)
        for p, e in prime_factors(rest).items():
            for _ in range(e):
                pick = rng.choice(choices, size=count, p=weights / weights.sum())
                f[np.arange(count), pick, d] *= p
    ok = ((f >= space.low[None]) & (f <= space.high[None])).all(axis=(1, 2))
    return f[ok]


def random_variants(space: MapSpace, f: np.ndarray, rng: np.random.Generator) -> Batch:
    """One random order / axis / bypass variant of each factorization."""
    n, dims = space.n, space.tab.dims
    temporal, spatial = f[:, 0::2, :], f[:, 1::2, :]
    rank = np.tile(np.arange(dims, dtype=np.int16), (len(f), n, 1))
    xaxis = np.zeros((len(f), n, dims), dtype=bool)
    for li in range(n):
        for which, table, target in ((0, temporal, rank), (1, spatial, xaxis)):
            active = table[:, li] > 1
            groups, inverse = np.unique(active, axis=0, return_inverse=True)
            for g, pattern in enumerate(groups):
                dims_on = list(np.flatnonzero(pattern))
                opts = (mapspace.temporal_orders if which == 0 else mapspace.spatial_axes)(space, li, dims_on)
                rows = np.flatnonzero(inverse.reshape(-1) == g)
                pick = rng.integers(0, len(opts), size=len(rows))
                target[rows, li] = np.stack(opts)[pick]
    keep = mapspace.random_keeps(space, len(f), rng)
    return canonical(space, Batch(temporal, spatial, rank, xaxis, keep))


def neighbours(space: MapSpace, e: Batch) -> Batch:
    parts = [_factor_moves(space, e), _order_moves(space, e), _keep_flips(space, e), _crossovers(e)]
    return canonical(space, Batch.concat([p for p in parts if len(p)]))


def _factor_moves(space: MapSpace, e: Batch) -> Batch:
    """For each dim: one prime moved between two free slots, the whole factor moved, or two swapped."""
    n_e = len(e)
    f = np.empty((n_e, 2 * space.n, space.tab.dims), dtype=np.int64)
    f[:, 0::2], f[:, 1::2] = e.temporal, e.spatial
    free = ~space.fixed & (space.high > 1)
    rows, out = [], []
    for d in range(f.shape[2]):
        slots = np.flatnonzero(free[:, d])
        pairs = np.array([(a, b) for a in slots for b in slots if a != b], dtype=np.int64).reshape(-1, 2)
        if not len(pairs):
            continue
        a, b = pairs[:, 0], pairs[:, 1]
        k = np.arange(len(pairs))
        fa, fb = f[:, a, d], f[:, b, d]  # (E, P)
        moves = [(fa // p, fb * p, fa % p == 0) for p in sorted(prime_factors(int(space.spec.problem.bounds[d])))]
        moves.append((np.ones_like(fa), fa * fb, fa > 1))  # the whole factor
        moves.append((fb, fa, (a < b)[None, :] & (fa != fb)))  # swap
        for new_a, new_b, ok in moves:
            g = np.repeat(f[:, None], len(pairs), axis=1)  # (E, P, S, D)
            g[:, k, a, d] = new_a
            g[:, k, b, d] = new_b
            col = g[:, :, :, d]
            ok = ok & (col >= space.low[:, d]).all(axis=2) & (col <= space.high[:, d]).all(axis=2)
            which = np.nonzero(ok)
            rows.append(which[0])
            out.append(g[which])
    if not out:
        return e[:0]
    idx = np.concatenate(rows)
    g = np.concatenate(out)
    base = e.take(idx)
    return Batch(g[:, 0::2], g[:, 1::2], base.rank, base.xaxis, base.keep)


def _crossovers(e: Batch) -> Batch:
    """Elite i with the factors of one dim (at every level) taken from elite j."""
    n_e, dims = len(e), e.temporal.shape[2]
    pairs = np.array([(i, j) for i in range(n_e) for j in range(n_e) if i != j], dtype=np.int64).reshape(-1, 2)
    if not len(pairs):
        return e[:0]
    parts = []
    for d in range(dims):
        child = e.take(pairs[:, 0])
        child.temporal[:, :, d] = e.temporal[pairs[:, 1], :, d]
        child.spatial[:, :, d] = e.spatial[pairs[:, 1], :, d]
        parts.append(child)
    return Batch.concat(parts)


def _order_moves(space: MapSpace, e: Batch) -> Batch:
    parts = []
    for i in range(len(e)):
        for li in range(space.n):
            for which in (0, 1):
                table = e.temporal if which == 0 else e.spatial
                dims_on = list(np.flatnonzero(table[i, li] > 1))
                if len(dims_on) < 1 + (which == 0):
                    continue
                opts = (mapspace.temporal_orders if which == 0 else mapspace.spatial_axes)(space, li, dims_on)
                if len(opts) < 2:
                    continue
                row = e.take(np.full(len(opts), i))
                target = row.rank if which == 0 else row.xaxis
                target[:, li] = np.stack(opts)
                parts.append(row)
    return Batch.concat(parts) if parts else e.take(np.zeros(0, dtype=np.int64))


def _keep_flips(space: MapSpace, e: Batch) -> Batch:
    free = int((space.keep_fixed < 0).sum())
    keeps = mapspace.keep_options(space) if 2 ** free <= ALL_KEEPS else None
    if keeps is not None and len(keeps) > 1:  # every bypass choice for each elite
        rows = e.take(np.repeat(np.arange(len(e)), len(keeps)))
        return Batch(rows.temporal, rows.spatial, rows.rank, rows.xaxis, np.tile(keeps, (len(e), 1, 1)))
    parts = []
    for li, ti in np.argwhere(space.keep_fixed < 0):
        row = e.take(np.arange(len(e)))
        row.keep[:, li, ti] = ~row.keep[:, li, ti]
        parts.append(row)
    return Batch.concat(parts) if parts else e.take(np.zeros(0, dtype=np.int64))


def climb(space: MapSpace, objective: str, scales: Scales, pool, deadline: float,
          rng: np.random.Generator, restarts: int = RESTARTS) -> None:
    """Fill ``pool`` (an :class:`explore.Pool`) by restarts of sampling and hill climbing.

    While a restart has no legal candidate yet, it climbs on the least illegal ones (smallest
    capacity / fanout excess) until it reaches legal ground.
    """
    from .explore import Pool

    from .explore import best_estimate

    tab = space.tab
    seen: set[bytes] = set()
    seeds = pool.cands
    best, stale = best_estimate(tab, objective, scales, pool), 0
    for done in range(restarts * MAX_RESTARTS // RESTARTS):
        if (done and time.perf_counter() > deadline) or (done >= restarts and stale >= PATIENCE):
            break
        picks = [rng.integers(0, len(opt), size=SAMPLES // 2) for opt in space.options]
        f = np.concatenate([np.stack([opt[p] for opt, p in zip(space.options, picks)], axis=2),
                            outer_biased(space, SAMPLES // 2, rng)])
        ok = mapspace.prefilter(tab, f, space.keep_fixed == 1)
        start = random_variants(space, f[ok] if ok.any() else f, rng)
        if len(seeds):
            start, seeds = Batch.concat([seeds, start]), seeds[:0]
        local = Pool(start[:0], batch.evaluate(tab, start[:0]))
        stuck = _least_illegal(*_add(space, objective, scales, local, start, seen))
        elites_before = b""
        for _ in range(ROUNDS):
            if len(local.cands):
                elites = local.cands.take(_distinct_factorizations(local.cands)[:ELITES])
            else:
                elites = stuck[0]
            if not len(elites):
                break
            marker = keys(tab, elites).tobytes()
            if marker == elites_before or time.perf_counter() > deadline:
                break
            elites_before = marker
            new = _add(space, objective, scales, local, neighbours(space, elites), seen)
            if not len(local.cands):
                stuck = _least_illegal(Batch.concat([stuck[0], new[0]]), np.concatenate([stuck[1], new[1]]))
        pool.merge(tab, objective, scales, local.cands, local.dense)
        pool.seen += local.seen - len(local.cands)
        now = best_estimate(tab, objective, scales, pool)
        best, stale = (now, 0) if now < best * (1 - 1e-9) else (best, stale + 1)


def _least_illegal(cands: Batch, overflow: np.ndarray) -> tuple[Batch, np.ndarray]:
    order = np.argsort(overflow, kind="stable")[:ELITES]
    return cands.take(order), overflow[order]


def _add(space: MapSpace, objective: str, scales: Scales, pool, cands: Batch,
         seen: set[bytes]) -> tuple[Batch, np.ndarray]:
    """Evaluate the candidates not seen before into ``pool``; returns them and their overflow."""
    rows = keys(space.tab, cands)
    fresh = []
    for i, row in enumerate(rows):
        k = row.tobytes()
        if k not in seen:
            seen.add(k)
            fresh.append(i)
    cands = cands.take(np.array(fresh, dtype=np.int64))
    dense = batch.evaluate(space.tab, cands)
    if len(cands):
        pool.merge(space.tab, objective, scales, cands, dense)
    return cands, dense.overflow
