"""Dense nest analysis: tiles, reuse, multicast and per-level access counts.

Reproduces Timeloop master's legacy analysis for perfectly factorised nests:
per dataspace and storage level, the tile a level holds, the points it delivers to its
children (temporal reuse, spatial multicast / reduction), and the collapse into reads,
fills and updates (masking of bypassed levels, partition sizes, first-read elision).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tl.mapping import Loop, Mapping
from ..tl.problem import DataSpace, Problem
from .deltas import simple_deliveries, temporal_deliveries


@dataclass(frozen=True)
class TileStats:
    """One dataspace at one storage level (per instance, dense / algorithmic)."""

    kept: bool
    size: int  # tile size in words (0 when bypassed)
    extents: tuple[int, ...]  # tile shape per tensor rank
    reads: float
    fills: float
    updates: float
    partition: int  # distinct words one instance holds over the run
    instances: int  # utilized instances of the level
    content: float  # points delivered to children (after masking), per instance
    fanout: int  # spatial fanout of this level (product of its spatial factors)
    multicast: float  # average children served per delivered point at this level


@dataclass(frozen=True)
class NestResult:
    """Dense analysis of a whole mapping."""

    tiles: dict[str, tuple[TileStats, ...]]  # dataspace -> per storage level (innermost first)
    macs: int  # algorithmic computes of the problem
    macs_per_instance: int  # computes per utilized compute instance
    compute_instances: int  # utilized compute instances (product of all spatial factors)
    level_factors: tuple[tuple[int, ...], ...]  # per storage level: per-dim product of loops at/below


def analyse(problem: Problem, mapping: Mapping, *, count_first_fill: bool = False) -> NestResult:
    """Dense analysis of ``mapping``.

    ``count_first_fill`` counts the first fill of read-write tensors, as the 2022
    Sparseloop build did (Timeloop master does not).
    """
    loops = mapping.loops()
    n = len(mapping.levels)
    ndims = len(problem.dims)
    # Per-dim cumulative factor of all loops at or below each level, and with the
    # level's own spatial loops only (the "spatial tile" of the level above).
    below = []
    below_spatial = []
    cum = [1] * ndims
    for li in range(n):
        spatial_cum = list(cum)
        for lp in loops:
            if lp.level == li and lp.spatial:
                spatial_cum[lp.dim] *= lp.bound
        below_spatial.append(tuple(spatial_cum))
        for lp in loops:
            if lp.level == li:
                cum[lp.dim] *= lp.bound
        below.append(tuple(cum))
    strides = _strides(loops, ndims)
    temporal_product = 1
    spatial_product = 1
    for lp in loops:
        if lp.spatial:
            spatial_product *= lp.bound
        else:
            temporal_product *= lp.bound
    replication = [1] * n
    for li in range(n):
        rep = 1
        for lp in loops:
            if lp.spatial and lp.level > li:
                rep *= lp.bound
        replication[li] = rep
    tiles = {ds.name: _dataspace(problem, mapping, ds, loops, strides, below, below_spatial, replication,
                                 temporal_product, count_first_fill)
             for ds in problem.dataspaces}
    return NestResult(tiles=tiles, macs=problem.macs, macs_per_instance=temporal_product,
                      compute_instances=spatial_product, level_factors=tuple(below))


def _strides(loops: list[Loop], ndims: int) -> list[int]:
    """Vector stride of every loop: product of the bounds of same-dim loops inside it."""
    cum = [1] * ndims
    out = []
    for lp in loops:
        out.append(cum[lp.dim])
        cum[lp.dim] *= lp.bound
    return out


def _extents(ds: DataSpace, factors: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 + sum(t.coef * (factors[t.dim] - 1) for t in rank) for rank in ds.ranks)


def _coupled(ds: DataSpace) -> bool:
    return any(len(rank) > 1 for rank in ds.ranks)


def _move(ds: DataSpace, dim: int, stride: int) -> tuple[int, ...]:
    return tuple(sum(t.coef for t in rank if t.dim == dim) * stride for rank in ds.ranks)


def _distinct(ds: DataSpace, spatial: list[tuple[Loop, int]]) -> int:
    """Children of a spatial fanout that need different data (multicast groups)."""
    relevant = [(lp, s) for lp, s in spatial if ds.relevant(lp.dim)]
    if not relevant:
        return 1
    if not _coupled(ds):
        out = 1
        for lp, _ in relevant:
            out *= lp.bound
        return out
    grids = np.meshgrid(*[np.arange(lp.bound) * s for lp, s in relevant], indexing="ij")
    coords = []
    for rank in ds.ranks:
        value = np.zeros_like(grids[0])
        for (lp, _), grid in zip(relevant, grids):
            coef = sum(t.coef for t in rank if t.dim == lp.dim)
            if coef:
                value = value + coef * grid
        coords.append(value.ravel())
    return int(np.unique(np.stack(coords, axis=1), axis=0).shape[0])


def _dataspace(problem: Problem, mapping: Mapping, ds: DataSpace, loops: list[Loop], strides: list[int],
               below: list[tuple[int, ...]], below_spatial: list[tuple[int, ...]], replication: list[int],
               temporal_product: int, count_first_fill: bool) -> tuple[TileStats, ...]:
    n = len(mapping.levels)
    coupled = _coupled(ds)
    extents = [_extents(ds, below[li]) for li in range(n)]
    sizes = [int(np.prod(e)) for e in extents]
    content = [0.0] * n
    weighted = [0.0] * n
    per_child = [0.0] * n
    fanout = [1] * n
    for li in range(n):
        spatial = [(lp, strides[i]) for i, lp in enumerate(loops) if lp.level == li and lp.spatial]
        for lp, _ in spatial:
            fanout[li] *= lp.bound
        if li == 0:
            child_total = float(temporal_product)  # one operand access per compute
        else:
            above = [(lp, strides[i]) for i, lp in enumerate(loops) if lp.level >= li and not lp.spatial]
            bounds = [lp.bound for lp, _ in above]
            if coupled:
                moves = [_move(ds, lp.dim, s) for lp, s in above]
                child_total = float(temporal_deliveries(moves, bounds, extents[li - 1]))
            else:
                relevant = [ds.relevant(lp.dim) for lp, _ in above]
                child_total = float(simple_deliveries(relevant, bounds, sizes[li - 1]))
        per_child[li] = child_total
        content[li] = child_total * _distinct(ds, spatial)
        weighted[li] = child_total * fanout[li]
    # Partition sizes (computed over all levels, before masking).
    partition = [0] * n
    partition[n - 1] = sizes[n - 1]
    for li in range(n - 2, -1, -1):
        outer_has_spatial = fanout[li + 1] > 1
        denom = int(np.prod(_extents(ds, below_spatial[li + 1]))) if outer_has_spatial else sizes[li]
        partition[li] = partition[li + 1] * sizes[li] // denom
    parent_share = [per_child[li + 1] if li + 1 < n else 0.0 for li in range(n)]
    # Mask bypassed levels: their children's traffic goes straight to the next kept level.
    kept = [mapping.keeps(li, ds.name) for li in range(n)]
    for li in range(n - 1):
        if kept[li]:
            continue
        outer = li + 1
        factor = content[li] * fanout[outer] / weighted[outer] if weighted[outer] else 0.0
        content[outer] *= factor
        weighted[outer] *= factor
    outermost = max(li for li in range(n) if kept[li])
    out = []
    for li in range(n):
        if not kept[li]:
            out.append(TileStats(False, 0, extents[li], 0.0, 0.0, 0.0, 0, replication[li], 0.0, fanout[li], 1.0))
            continue
        if ds.read_write:
            updates = float(round(content[li]))
            reads = float(round(content[li] - partition[li]))
            first = 0 if count_first_fill else partition[li]
            fills = 0.0 if li == outermost else float(round(parent_share[li] - first))
        else:
            reads = float(round(content[li]))
            updates = 0.0
            fills = 0.0 if li == outermost else parent_share[li]
        multicast = weighted[li] / content[li] if content[li] else 1.0
        out.append(TileStats(True, sizes[li], extents[li], reads, fills, updates, partition[li], replication[li],
                             content[li], fanout[li], multicast))
    return tuple(out)
