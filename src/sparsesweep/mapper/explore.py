"""Candidate generation: exhaustive scan of small mapspaces, seeded local search of large ones.

Both feed a :class:`Pool`: the best candidates by the batch model's estimate (dense model
times the current sparse scales), with their dense results kept so that the pool can be
re-ranked when the scales change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import batch, local, mapspace
from .batch import Batch, Dense, Scales, Tables
from .mapspace import MapSpace

POOL = 2048  # candidates kept for re-ranking
FACTORIZATION_LIMIT = 400_000  # exhaustive when at most this many factorizations pass the prefilter
CANDIDATE_LIMIT = 500_000  # ... and they expand to at most this many candidates
CHUNK = 60_000  # candidates evaluated per numpy batch


@dataclass
class Pool:
    cands: Batch
    dense: Dense
    seen: int = 0  # candidates evaluated by the batch model
    keys: list[bytes] | None = None  # the search's fingerprints of ``cands`` (filled and reset by the search)

    def merge(self, tab: Tables, objective: str, scales: Scales, cands: Batch, dense: Dense) -> None:
        self.seen += len(cands)
        legal = np.flatnonzero(dense.legal)
        if len(legal) == 0:
            return
        cands, dense = cands.take(legal), _take(dense, legal)
        if len(self.cands):
            cands = Batch.concat([self.cands, cands])
            dense = _concat([self.dense, dense])
        order = rank(tab, objective, scales, dense)[:4 * POOL]
        order = order[local.unique(tab, cands.take(order))][:POOL]
        self.cands, self.dense, self.keys = cands.take(order), _take(dense, order), None


def rank(tab: Tables, objective: str, scales: Scales, dense: Dense) -> np.ndarray:
    """Candidate indices, best estimate first (ties: lower energy, then position)."""
    energy, cycles = batch.estimate(tab, dense, scales)
    obj = batch.objective(objective, energy, cycles)
    return np.lexsort((np.arange(len(obj)), energy, obj))


def best_estimate(tab: Tables, objective: str, scales: Scales, pool: Pool) -> float:
    """The best estimated objective in the pool (inf when empty)."""
    if not len(pool.cands):
        return float("inf")
    energy, cycles = batch.estimate(tab, pool.dense, scales)
    return float(batch.objective(objective, energy, cycles).min())


def _take(d: Dense, idx: np.ndarray) -> Dense:
    return Dense(*(getattr(d, f)[idx] for f in Dense.__dataclass_fields__))


def _concat(parts: list[Dense]) -> Dense:
    return Dense(*(np.concatenate([getattr(p, f) for p in parts]) for f in Dense.__dataclass_fields__))


def empty_pool(space: MapSpace) -> Pool:
    cands = Batch.empty(space.n, space.tab.dims, len(space.tab.rw))
    return Pool(cands, batch.evaluate(space.tab, cands))


def scan(space: MapSpace, objective: str, scales: Scales, pool: Pool, deadline: float,
         rng: np.random.Generator, again: bool = False) -> str:
    """Fill ``pool``; returns how: 'exhaustive' or 'local search'.

    ``again``: a second pass under new scales; a local search then climbs once more from the
    pool instead of restarting from scratch.
    """
    if "factorizations" not in space.memo:
        free = int((space.keep_fixed < 0).sum())
        listable = space.complete and 2 ** free <= mapspace.KEEP_LIMIT
        f = mapspace.join(space, FACTORIZATION_LIMIT) if listable else None
        if f is not None and mapspace.expansion_size(space, f, mapspace.keep_options(space)) > CANDIDATE_LIMIT:
            f = None
        space.memo["factorizations"] = f
    f = space.memo["factorizations"]
    if f is not None:
        _scan_all(space, objective, scales, pool, f, mapspace.keep_options(space), deadline)
        return "exhaustive"
    local.climb(space, objective, scales, pool, deadline, rng, restarts=1 if again else local.RESTARTS)
    return "local search"


def _scan_all(space: MapSpace, objective: str, scales: Scales, pool: Pool, f: np.ndarray, keeps: np.ndarray,
              deadline: float) -> None:
    if len(f) == 0:
        return
    per = max(1, mapspace.expansion_size(space, f[:64], keeps) // max(1, min(64, len(f))))
    step = max(1, CHUNK // per)
    for start in range(0, len(f), step):
        cands = mapspace.expand(space, f[start:start + step], keeps)
        legal = np.flatnonzero(batch.legal(space.tab, cands))  # the pool keeps legal ones only
        pool.seen += len(cands) - len(legal)
        cands = cands.take(legal)
        pool.merge(space.tab, objective, scales, cands, batch.evaluate(space.tab, cands))
        if time.perf_counter() > deadline:
            break
