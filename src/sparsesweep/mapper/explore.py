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
    # Ties (equal estimate and energy) go to the candidate enumerated first: ``tie`` is each pool
    # candidate's enumeration position (negative for those kept from an earlier pass, in pool order).
    tie: np.ndarray | None = None
    next_pos: int = 0

    def new_pass(self) -> None:
        """Candidates kept so far rank before every candidate enumerated from now on (among ties)."""
        self.tie = np.arange(len(self.cands), dtype=np.int64) - len(self.cands)

    def merge(self, tab: Tables, objective: str, scales: Scales, cands: Batch, dense: Dense,
              pos: np.ndarray | None = None) -> None:
        """Keep the ``POOL`` best distinct candidates of the pool and ``cands`` (their legal ones).

        ``pos``: the candidates' enumeration positions (default: after every one merged before)."""
        self.seen += len(cands)
        if pos is None:
            pos = np.arange(self.next_pos, self.next_pos + len(cands), dtype=np.int64)
            self.next_pos += len(cands)
        legal = np.flatnonzero(dense.legal)
        if len(legal) == 0:
            return
        cands, dense, pos = cands.take(legal), _take(dense, legal), pos[legal]
        if len(self.cands):
            cands = Batch.concat([self.cands, cands])
            dense = _concat([self.dense, dense])
            pos = np.concatenate([self._ties(), pos])
        order = rank(tab, objective, scales, dense, pos)[:4 * POOL]
        order = order[local.unique(tab, cands.take(order))][:POOL]
        self.cands, self.dense, self.keys, self.tie = cands.take(order), _take(dense, order), None, pos[order]

    def _ties(self) -> np.ndarray:
        if self.tie is None or len(self.tie) != len(self.cands):
            self.new_pass()
        assert self.tie is not None
        return self.tie


def rank(tab: Tables, objective: str, scales: Scales, dense: Dense, tie: np.ndarray | None = None) -> np.ndarray:
    """Candidate indices, best estimate first (ties: lower energy, then lower ``tie``, default position)."""
    energy, cycles = batch.estimate(tab, dense, scales)
    obj = batch.objective(objective, energy, cycles)
    return np.lexsort((np.arange(len(obj)) if tie is None else tie, energy, obj))


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
    pool.new_pass()
    f = listed(space)
    if f is not None:
        _scan_all(space, objective, scales, pool, f, mapspace.keep_options(space), deadline)
        return "exhaustive"
    local.climb(space, objective, scales, pool, deadline, rng, restarts=1 if again else local.RESTARTS)
    return "local search"


def listed(space: MapSpace) -> np.ndarray | None:
    """The factorizations an exhaustive scan lists, or None when the space is searched locally."""
    if "factorizations" not in space.memo:
        free = int((space.keep_fixed < 0).sum())
        listable = space.complete and 2 ** free <= mapspace.KEEP_LIMIT
        f = mapspace.join(space, FACTORIZATION_LIMIT) if listable else None
        if f is not None and mapspace.expansion_size(space, f, mapspace.keep_options(space)) > CANDIDATE_LIMIT:
            f = None
        space.memo["factorizations"] = f
    return space.memo["factorizations"]


def chunk_rows(space: MapSpace, f: np.ndarray, keeps: np.ndarray) -> int:
    """Factorizations expanded per batch of an exhaustive scan (about ``CHUNK`` candidates)."""
    per = max(1, mapspace.expansion_size(space, f[:64], keeps) // max(1, min(64, len(f))))
    return max(1, CHUNK // per)


def _scan_all(space: MapSpace, objective: str, scales: Scales, pool: Pool, f: np.ndarray, keeps: np.ndarray,
              deadline: float) -> None:
    if len(f) == 0:
        return
    step = chunk_rows(space, f, keeps)
    for start in range(0, len(f), step):
        cands = mapspace.expand(space, f[start:start + step], keeps)
        legal = np.flatnonzero(batch.legal(space.tab, cands))  # the pool keeps legal ones only
        pool.seen += len(cands) - len(legal)
        cands = cands.take(legal)
        pool.merge(space.tab, objective, scales, cands, batch.evaluate(space.tab, cands))
        if time.perf_counter() > deadline:
            break
