"""Candidate generation: exhaustive scan of small mapspaces, seeded local search of large ones.

Both feed a :class:`Pool`: the best candidates by the batch model's estimate (dense model
times the current sparse scales), with their dense results kept so that the pool can be
re-ranked when the scales change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import batch, mapspace
from .batch import Batch, Dense, Scales, Tables
from .factors import prime_factors
from .mapspace import MapSpace

POOL = 2048  # candidates kept for re-ranking
FACTORIZATION_LIMIT = 400_000  # exhaustive when at most this many factorizations pass the prefilter
CANDIDATE_LIMIT = 1_500_000  # ... and they expand to at most this many candidates
CHUNK = 60_000  # candidates evaluated per numpy batch
SAMPLES = 4096  # factorizations sampled to start a local search
ELITES = 24  # factorizations whose neighbourhoods are explored per round
ROUNDS = 40  # local search rounds at most


@dataclass
class Pool:
    cands: Batch
    dense: Dense
    seen: int = 0  # candidates evaluated by the batch model

    def merge(self, tab: Tables, objective: str, scales: Scales, cands: Batch, dense: Dense) -> None:
        self.seen += len(cands)
        legal = np.flatnonzero(dense.legal)
        if len(legal) == 0:
            return
        cands, dense = cands.take(legal), _take(dense, legal)
        if len(self.cands):
            cands = Batch.concat([self.cands, cands])
            dense = _concat([self.dense, dense])
        order = rank(tab, objective, scales, dense)[:POOL]
        self.cands, self.dense = cands.take(order), _take(dense, order)


def rank(tab: Tables, objective: str, scales: Scales, dense: Dense) -> np.ndarray:
    """Candidate indices, best estimate first (ties: lower energy, then position)."""
    energy, cycles = batch.estimate(tab, dense, scales)
    obj = batch.objective(objective, energy, cycles)
    return np.lexsort((np.arange(len(obj)), energy, obj))


def _take(d: Dense, idx: np.ndarray) -> Dense:
    return Dense(*(getattr(d, f)[idx] for f in Dense.__dataclass_fields__))


def _concat(parts: list[Dense]) -> Dense:
    return Dense(*(np.concatenate([getattr(p, f) for p in parts]) for f in Dense.__dataclass_fields__))


def empty_pool(space: MapSpace) -> Pool:
    cands = Batch.empty(space.n, space.tab.dims, len(space.tab.rw))
    return Pool(cands, batch.evaluate(space.tab, cands))


def scan(space: MapSpace, objective: str, scales: Scales, pool: Pool, deadline: float,
         rng: np.random.Generator) -> str:
    """Fill ``pool``; returns how: 'exhaustive' or 'local search'."""
    keeps = mapspace.keep_options(space)
    f = mapspace.join(space, FACTORIZATION_LIMIT) if space.complete else None
    if f is not None and mapspace.expansion_size(space, f, keeps) <= CANDIDATE_LIMIT:
        _scan_all(space, objective, scales, pool, f, keeps, deadline)
        return "exhaustive"
    _local_search(space, objective, scales, pool, keeps, deadline, rng)
    return "local search"


def _scan_all(space: MapSpace, objective: str, scales: Scales, pool: Pool, f: np.ndarray, keeps: np.ndarray,
              deadline: float) -> None:
    per = max(1, mapspace.expansion_size(space, f[:64], keeps) // max(1, min(64, len(f))))
    step = max(1, CHUNK // per)
    for start in range(0, len(f), step):
        cands = mapspace.expand(space, f[start:start + step], keeps)
        pool.merge(space.tab, objective, scales, cands, batch.evaluate(space.tab, cands))
        if time.perf_counter() > deadline:
            break


def _local_search(space: MapSpace, objective: str, scales: Scales, pool: Pool, keeps: np.ndarray,
                  deadline: float, rng: np.random.Generator) -> None:
    tab = space.tab
    must_keep = space.keep_fixed == 1
    if len(keeps) > 64:
        keeps = keeps[np.sort(rng.choice(len(keeps), 64, replace=False))]
    picks = [rng.integers(0, len(opt), size=SAMPLES) for opt in space.options]
    f = np.stack([opt[p] for opt, p in zip(space.options, picks)], axis=2)
    seen: set[bytes] = set()
    starts = [_factorizations(pool.cands)] if len(pool.cands) else []
    f = _fresh(np.concatenate(starts + [f]), seen)
    for _ in range(ROUNDS):
        f = f[mapspace.prefilter(tab, f, must_keep)]
        before = _best(tab, objective, scales, pool)
        for start in range(0, len(f), 512):
            cands = mapspace.expand(space, f[start:start + 512], keeps)
            pool.merge(tab, objective, scales, cands, batch.evaluate(tab, cands))
        if time.perf_counter() > deadline or (_best(tab, objective, scales, pool) >= before and _ > 0):
            break
        elites = _elite_factorizations(pool.cands)
        f = _fresh(neighbours(space, elites), seen)
        if len(f) == 0:
            break


def _best(tab: Tables, objective: str, scales: Scales, pool: Pool) -> float:
    if not len(pool.cands):
        return float("inf")
    energy, cycles = batch.estimate(tab, pool.dense, scales)
    return float(batch.objective(objective, energy, cycles).min())


def _factorizations(c: Batch) -> np.ndarray:
    f = np.empty((len(c), 2 * c.temporal.shape[1], c.temporal.shape[2]), dtype=np.int64)
    f[:, 0::2], f[:, 1::2] = c.temporal, c.spatial
    return f


def _elite_factorizations(c: Batch) -> np.ndarray:
    f = _factorizations(c)
    _, first = np.unique(f.reshape(len(f), -1), axis=0, return_index=True)
    return f[np.sort(first)[:ELITES]]


def _fresh(f: np.ndarray, seen: set[bytes]) -> np.ndarray:
    keep = []
    for i in range(len(f)):
        key = f[i].tobytes()
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return f[keep]


def neighbours(space: MapSpace, f: np.ndarray) -> np.ndarray:
    """Factorizations one prime factor away: a prime of one dim moves between two free slots."""
    slots = f.shape[1]
    free = ~space.fixed & (space.high > 1)  # slots with a fixed (or forced-1) factor stay put
    out = []
    for d in range(f.shape[2]):
        primes = sorted(prime_factors(int(space.spec.problem.bounds[d])))
        for a in range(slots):
            for b in range(slots):
                if a == b or not (free[a, d] and free[b, d]):
                    continue
                for p in primes:
                    movable = f[:, a, d] % p == 0
                    g = f[movable].copy()
                    g[:, a, d] //= p
                    g[:, b, d] *= p
                    ok = (g[:, :, d] >= space.low[:, d]).all(axis=1) & (g[:, :, d] <= space.high[:, d]).all(axis=1)
                    out.append(g[ok])
    if not out:
        return f[:0]
    return np.concatenate(out)
