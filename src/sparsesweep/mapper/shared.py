"""Searches of points that differ only in buffer capacities and energies, sharing their scan.

A memory sweep searches the same layer and design under many memory settings.  Their mapspaces
and every candidate's accesses are the same; only which candidates fit (the capacities) and what
each access costs (the energies) differ.  :func:`run_group` therefore lists and expands the
candidates once, models their accesses once (for the largest capacities, whose legal candidates
include every other point's) and then, per point, keeps those legal under its own capacities,
prices them with its own energies and ranks them into its own pool, exactly as that point's own
search would: the same candidates, in the same order (ties go to the candidate its own scan
enumerates first), under its own sparse scales.  The exact evaluations that follow are the
point's own.  So each point gets the mapping its own search finds; points that cannot share (a
mapspace searched locally, other constraints or accesses) are searched on their own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence

import numpy as np

from ..backends.base import SearchOptions, SearchResult
from ..errors import SparsesweepError
from ..inputs import SpecBundle
from . import batch, explore, mapspace
from .search import Run, finish, prepare

# Tables fields that must be equal for points to share a scan (capacities and energies may differ).
_SHARED = ("n", "dims", "rel", "ranks", "rw", "block", "macs", "occupancy", "nnz_cap", "fan_x", "fan_y", "fan_total",
           "compute_instances", "min_utilization", "links", "mesh0", "literal")


def run_group(bundles: Sequence[SpecBundle], options: SearchOptions) -> list[SearchResult | SparsesweepError]:
    """The search of every bundle (its result, or the error its own search raises), in order.

    The group's searches run interleaved, so they share one deadline: the time limit of each point,
    summed (no point is cut short because the others' searches took its time)."""
    start = time.perf_counter()
    deadline = start + max(options.time_limit_s, 0.0) * len(bundles)
    out: list[SearchResult | SparsesweepError | None] = [None] * len(bundles)
    runs: dict[int, Run] = {}
    for i, bundle in enumerate(bundles):
        try:
            runs[i] = prepare(bundle, options, start)
            runs[i].deadline = deadline
        except SparsesweepError as exc:
            out[i] = exc
    sharing: dict[int, int] = {}
    for members in _groups(runs):
        group = [runs[i] for i in members]
        shared = _Scan.make(group) if len(members) > 1 else None
        if shared is None:
            for i in members:
                _scan_alone(runs[i], out, i)
            continue
        sharing.update((i, len(members)) for i in members)
        shared.fill(group)
        again = [i for i in members if _second(runs[i], out, i)]
        if len(again) > 1:
            shared.reuse([runs[i] for i in again]).fill([runs[i] for i in again])
        elif again:
            explore.scan(runs[again[0]].space, options.objective, runs[again[0]].scales, runs[again[0]].pool,
                         runs[again[0]].deadline, runs[again[0]].rng, again=True)
    for i, run in runs.items():
        if out[i] is None:
            try:
                out[i] = finish(run, {"shared_scan": sharing[i]} if i in sharing else None)
            except SparsesweepError as exc:
                out[i] = exc
    return [r for r in out if r is not None]


def _scan_alone(run: Run, out: list, i: int) -> None:
    """The point's own scan (and second pass), as :func:`~.search.run_search` runs it."""
    try:
        run.how = explore.scan(run.space, run.options.objective, run.scales, run.pool, run.deadline, run.rng)
        if run.wants_second_pass():
            explore.scan(run.space, run.options.objective, run.scales, run.pool, run.deadline, run.rng, again=True)
    except SparsesweepError as exc:
        out[i] = exc


def _second(run: Run, out: list, i: int) -> bool:
    try:
        return run.wants_second_pass()
    except SparsesweepError as exc:
        out[i] = exc
        return False


def _groups(runs: dict[int, Run]) -> list[list[int]]:
    """Indices of runs that can share a scan (same constraints, mapspace and access model)."""
    groups: dict[bytes, list[int]] = {}
    for i, run in runs.items():
        groups.setdefault(_signature(run), []).append(i)
    return list(groups.values())


def _signature(run: Run) -> bytes:
    tab, space = run.tab, run.space
    arrays = [getattr(tab, name) for name in _SHARED if isinstance(getattr(tab, name), np.ndarray)]
    arrays += [*space.options, space.low, space.high, space.fixed, space.keep_fixed, run.scales.energy,
               run.scales.reads, run.scales.writes]
    parts = [a.tobytes() + repr((a.shape, a.dtype.str)).encode() for a in arrays]
    parts += [repr(getattr(tab, name)).encode() for name in _SHARED if not isinstance(getattr(tab, name), np.ndarray)]
    parts += [repr((run.options, run.sparse, space.complete, run.scales.compute_energy, run.scales.compute_cycles,
                    run.rules, run.spec.problem)).encode()]
    return b"\0".join(parts)


@dataclasses.dataclass
class _Scan:
    """One exhaustive scan shared by ``runs``: the factorizations of the run with the largest
    capacities and, per run, which of them its own scan lists and at which positions."""

    lead: Run
    f: np.ndarray  # (F, S, D) the lead's factorizations
    keeps: np.ndarray
    rows: list[np.ndarray]  # per run: (F,) its own scan lists the factorization
    starts: list[np.ndarray]  # per run: (F,) position of the factorization's first candidate in its own scan

    @classmethod
    def make(cls, runs: list[Run]) -> _Scan | None:
        """None when the runs cannot share: one is searched locally, or no run's capacities cover all
        the others' (the lead's factorizations then hold every run's own)."""
        caps = np.array([r.tab.capacity for r in runs])
        lead = next((r for r, c in zip(runs, caps) if (c >= caps).all()), None)
        if lead is None:
            return None
        listed: dict[bytes, np.ndarray | None] = {}  # the same capacities list the same factorizations
        for run in runs:
            key = run.tab.capacity.tobytes()
            if key not in listed:
                listed[key] = explore.listed(run.space)
            run.space.memo["factorizations"] = listed[key]
        f = explore.listed(lead.space)
        if lead is None or f is None:
            return None
        return cls._make(lead, f, runs)

    def reuse(self, runs: list[Run]) -> _Scan:
        """The same factorizations for some of the runs (a second pass)."""
        made = self._make(self.lead, self.f, runs)
        assert made is not None
        return made

    @classmethod
    def _make(cls, lead: Run, f: np.ndarray, runs: list[Run]) -> _Scan | None:
        own = [explore.listed(r.space) for r in runs]
        keeps = mapspace.keep_options(lead.space)
        sizes = mapspace.expansion_sizes(lead.space, f, keeps)
        patterns = mapspace.pattern_ids(lead.space, f)
        rows, starts = [], []
        made: dict[bytes, tuple[np.ndarray, np.ndarray] | None] = {}  # the same capacities, the same share
        for run, mine in zip(runs, own):
            key = run.tab.capacity.tobytes()
            if key not in made:
                made[key] = _share(run, mine, f, keeps, sizes, patterns)
            share = made[key]
            if share is None:
                return None
            rows.append(share[0])
            starts.append(share[1])
        return cls(lead, f, keeps, rows, starts)

    def fill(self, runs: list[Run]) -> None:
        """Scan the factorizations once into every run's pool (each run's own share, as its own scan).

        Runs whose scans are the same (twins: the same capacities, energies, bandwidths, scales and
        pool so far, e.g. settings that differ only in metadata storage, which the batch model does
        not see) are scanned once; each twin gets a copy of that pool."""
        lead = self.lead
        objective = lead.options.objective
        for run in runs:
            run.pool.new_pass()
            run.how = "exhaustive"
        twin = _twins(runs, self.rows, self.starts)
        alone = [i for i, t in enumerate(twin) if t == i]
        scanned = [runs[i] for i in alone]
        rows = [self.rows[i] for i in alone]
        starts = [self.starts[i] for i in alone]
        step = explore.chunk_rows(lead.space, self.f, self.keeps)
        for begin in range(0, len(self.f), step):
            end = min(begin + step, len(self.f))
            cands, row, variant = mapspace.expand_indexed(lead.space, self.f[begin:end], self.keeps)
            row = row + begin
            lim = batch.limits(lead.tab, cands)
            legal = [batch.legal_under(run.tab, lim) & mine[row] for run, mine in zip(scanned, rows)]
            union = np.flatnonzero(np.logical_or.reduce(legal))
            dense = batch.evaluate(lead.tab, cands.take(union))
            vectors = batch.vectors(lead.tab, dense)
            for run, ok, mine, first in zip(scanned, legal, rows, starts):
                run.pool.seen += int(mine[row].sum()) - int(ok.sum())
                if time.perf_counter() > run.deadline:
                    continue
                take = np.flatnonzero(ok[union])
                _merge(run, objective, cands.take(union[take]), _take(dense, take),
                       tuple(v[take] for v in vectors), first[row[union[take]]] + variant[union[take]])
        for i, t in enumerate(twin):
            if t != i:
                runs[i].pool = dataclasses.replace(runs[t].pool)


def _twins(runs: list[Run], rows: list[np.ndarray], starts: list[np.ndarray]) -> list[int]:
    """Per run, the index of the first run whose scan is the same as its own (itself when none)."""
    first: dict[bytes, int] = {}
    out = []
    for i, (run, mine, start) in enumerate(zip(runs, rows, starts)):
        tab, scales, pool = run.tab, run.scales, run.pool
        arrays = [tab.capacity, tab.block, tab.e_read, tab.e_fill, tab.e_update, tab.read_bw, tab.write_bw,
                  tab.shared_bw, scales.energy, scales.reads, scales.writes,
                  *(getattr(pool.cands, f) for f in ("temporal", "spatial", "rank", "xaxis", "keep")),
                  *(getattr(pool.dense, f) for f in batch.Dense.__dataclass_fields__)]
        if pool.tie is not None:
            arrays.append(pool.tie)
        parts = [a.tobytes() + repr((a.shape, a.dtype.str)).encode() for a in arrays]
        parts.append(repr((tab.e_compute, tab.macs, scales.compute_energy, scales.compute_cycles, run.deadline,
                           pool.seen, pool.next_pos, id(mine), id(start))).encode())  # (shared by equal capacities)
        out.append(first.setdefault(hashlib.sha256(b"\0".join(parts)).digest(), i))
    return out


def _share(run: Run, mine: np.ndarray | None, f: np.ndarray, keeps: np.ndarray, sizes: np.ndarray,
           patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Which of ``f`` the run's own scan lists (None when that is not exactly its own list), and the
    position of each one's first candidate in its own scan: it expands its factorizations in chunks,
    each grouped by pattern, then by row."""
    listed = mapspace.prefilter(run.tab, f, run.space.keep_fixed == 1)
    if mine is None or int(listed.sum()) != len(mine) or not np.array_equal(f[listed], mine):
        return None
    index = np.cumsum(listed) - 1
    chunk = index // explore.chunk_rows(run.space, mine, keeps)
    order = np.flatnonzero(listed)[np.lexsort((index[listed], patterns[listed], chunk[listed]))]
    first = np.zeros(len(f), dtype=np.int64)
    first[order] = np.cumsum(sizes[order]) - sizes[order]
    return listed, first


def _merge(run: Run, objective: str, cands: batch.Batch, dense: batch.Dense,
           vectors: tuple[np.ndarray, np.ndarray, np.ndarray], pos: np.ndarray) -> None:
    """Merge legal candidates into the run's pool, as :meth:`~.explore.Pool.merge` does; those it would
    not keep (beyond the best ``4 * POOL`` estimates, or worse than all of a full pool) are left out
    before ranking."""
    priced = batch.priced(run.tab, dense, vectors)
    ones = np.ones(len(cands), dtype=bool)
    priced = dataclasses.replace(priced, fits=ones, legal=ones, overflow=np.zeros(len(cands)))
    pool = run.pool
    obj = batch.objective(objective, *batch.estimate(run.tab, priced, run.scales))
    near = np.ones(len(cands), dtype=bool)
    if len(cands) > 4 * explore.POOL:
        near &= obj <= np.partition(obj, 4 * explore.POOL - 1)[4 * explore.POOL - 1]
    if len(pool.cands) >= explore.POOL:
        near &= obj <= float(batch.objective(objective, *batch.estimate(run.tab, pool.dense, run.scales)).max())
    if not near.all():
        near_idx = np.flatnonzero(near)
        pool.seen += len(cands) - len(near_idx)
        cands, priced, pos = cands.take(near_idx), _take(priced, near_idx), pos[near_idx]
    pool.merge(run.tab, objective, run.scales, cands, priced, pos)


def _take(d: batch.Dense, idx: np.ndarray) -> batch.Dense:
    return batch.Dense(*(getattr(d, f)[idx] for f in batch.Dense.__dataclass_fields__))
