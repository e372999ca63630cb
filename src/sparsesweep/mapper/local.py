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

SAMPLES = 2048  # random factorizations per restart
ELITES = 8  # candidates whose neighbourhoods are explored per round
ROUNDS = 60  # rounds per restart at most
RESTARTS = 16
BUDGET = 150_000  # batch evaluations per search at most (checked between restarts)
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


def random_variants(space: MapSpace, f: np.ndarray, keeps: np.ndarray, rng: np.random.Generator) -> Batch:
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
    keep = keeps[rng.integers(0, len(keeps), size=len(f))]
    return canonical(space, Batch(temporal, spatial, rank, xaxis, keep))


def neighbours(space: MapSpace, e: Batch) -> Batch:
    parts = [_factor_moves(space, e), _order_moves(space, e), _keep_flips(space, e)]
    return canonical(space, Batch.concat([p for p in parts if len(p)]))


def _factor_moves(space: MapSpace, e: Batch) -> Batch:
    """One prime of one dim moved between two free slots; or a dim's whole factor moved; or swapped."""
    f = np.empty((len(e), 2 * space.n, space.tab.dims), dtype=np.int64)
    f[:, 0::2], f[:, 1::2] = e.temporal, e.spatial
    free = ~space.fixed & (space.high > 1)
    rows, out = [], []

    def add(idx: np.ndarray, g: np.ndarray, d: int) -> None:
        ok = (g[:, :, d] >= space.low[:, d]).all(axis=1) & (g[:, :, d] <= space.high[:, d]).all(axis=1)
        rows.append(idx[ok])
        out.append(g[ok])

    for d in range(f.shape[2]):
        primes = sorted(prime_factors(int(space.spec.problem.bounds[d])))
        for a in range(f.shape[1]):
            for b in range(f.shape[1]):
                if a == b or not (free[a, d] and free[b, d]):
                    continue
                for p in primes:
                    idx = np.flatnonzero(f[:, a, d] % p == 0)
                    g = f[idx].copy()
                    g[:, a, d] //= p
                    g[:, b, d] *= p
                    add(idx, g, d)
                idx = np.flatnonzero(f[:, a, d] > 1)
                g = f[idx].copy()
                if b > a:  # swap the two factors
                    g[:, a, d], g[:, b, d] = f[idx, b, d], f[idx, a, d]
                    add(idx, g, d)
                    g = f[idx].copy()
                g[:, b, d] *= g[:, a, d]  # move the whole factor
                g[:, a, d] = 1
                add(idx, g, d)
    if not out:
        return e.take(np.zeros(0, dtype=np.int64))
    idx = np.concatenate(rows)
    g = np.concatenate(out)
    base = e.take(idx)
    return Batch(g[:, 0::2], g[:, 1::2], base.rank, base.xaxis, base.keep)


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
    keeps = mapspace.keep_options(space)
    if 1 < len(keeps) <= ALL_KEEPS:  # every bypass choice for each elite
        rows = e.take(np.repeat(np.arange(len(e)), len(keeps)))
        return Batch(rows.temporal, rows.spatial, rows.rank, rows.xaxis, np.tile(keeps, (len(e), 1, 1)))
    parts = []
    for li, ti in np.argwhere(space.keep_fixed < 0):
        row = e.take(np.arange(len(e)))
        row.keep[:, li, ti] = ~row.keep[:, li, ti]
        parts.append(row)
    return Batch.concat(parts) if parts else e.take(np.zeros(0, dtype=np.int64))


def climb(space: MapSpace, objective: str, scales: Scales, pool, deadline: float,
          rng: np.random.Generator) -> None:
    """Fill ``pool`` (an :class:`explore.Pool`) by restarts of sampling and hill climbing."""
    from .explore import Pool

    tab = space.tab
    keeps = mapspace.keep_options(space)
    seen: set[bytes] = set()
    seeds = pool.cands
    for _ in range(RESTARTS):
        if pool.seen >= BUDGET or time.perf_counter() > deadline:
            break
        picks = [rng.integers(0, len(opt), size=SAMPLES) for opt in space.options]
        f = np.stack([opt[p] for opt, p in zip(space.options, picks)], axis=2)
        f = f[mapspace.prefilter(tab, f, space.keep_fixed == 1)]
        start = random_variants(space, f, keeps, rng)
        if len(seeds):
            start, seeds = Batch.concat([seeds, start]), seeds[:0]
        local = Pool(start.take(np.zeros(0, dtype=np.int64)), batch.evaluate(tab, start[:0]))
        _add(space, objective, scales, local, start, seen)
        elites_before = b""
        for _ in range(ROUNDS):
            elites = local.cands.take(_distinct_factorizations(local.cands)[:ELITES])
            marker = keys(tab, elites).tobytes()
            if marker == elites_before or time.perf_counter() > deadline:
                break
            elites_before = marker
            _add(space, objective, scales, local, neighbours(space, elites), seen)
        pool.merge(tab, objective, scales, local.cands, local.dense)
        pool.seen += local.seen - len(local.cands)


def _add(space: MapSpace, objective: str, scales: Scales, pool, cands: Batch, seen: set[bytes]) -> None:
    rows = keys(space.tab, cands)
    fresh = []
    for i, row in enumerate(rows):
        k = row.tobytes()
        if k not in seen:
            seen.add(k)
            fresh.append(i)
    if fresh:
        cands = cands.take(np.array(fresh))
        pool.merge(space.tab, objective, scales, cands, batch.evaluate(space.tab, cands))
