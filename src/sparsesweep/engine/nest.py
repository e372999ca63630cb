"""Dense nest analysis: tiles, reuse, multicast and per-level access counts.

Reproduces Timeloop master's legacy analysis for perfectly factorised nests:
per dataspace and storage level, the tile a level holds, the points it delivers to its
children (temporal reuse, spatial multicast / reduction), and the collapse into reads,
fills and updates (masking of bypassed levels, partition sizes, first-read elision).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem
from .deltas import temporal_deliveries
from .links import link_effect, move

Placed = tuple[int, int, int]  # (dimension, bound, stride) of one non-trivial loop


class TileStats(NamedTuple):
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


@dataclass(frozen=True)
class _Nest:
    """The mapping's non-trivial loops, grouped as every dataspace's analysis needs them."""

    below: list[tuple[int, ...]]  # per level: per-dim product of the loops at or below it
    below_spatial: list[tuple[int, ...]]  # per level: loops below it and its own spatial loops
    spatial: list[list[Placed]]  # per level: its spatial loops
    fanout: list[int]  # per level: product of its spatial factors
    temporal: list[Placed]  # every temporal loop, innermost first
    suffix: list[int]  # suffix[j]: product of the bounds of temporal[j:]
    first_above: list[int]  # per level: index in ``temporal`` of its first loop (or of the next level's)
    levels_of: list[int]  # level of every temporal loop
    replication: list[int]  # per level: product of the spatial factors above it
    temporal_product: int
    spatial_product: int


def analyse(problem: Problem, mapping: Mapping, *, count_first_fill: bool = False,
            mesh: tuple[int, int] | None = None,
            meshes: Sequence[tuple[int, int]] | None = None) -> NestResult:
    """Dense analysis of ``mapping``.

    ``count_first_fill`` counts the first fill of read-write tensors, as the 2022
    Sparseloop build did (Timeloop master does not).  ``meshes``: per storage level, the
    physical (fanoutX, fanoutY) to the level below (default: the spatial loops alone);
    ``mesh``: that of the innermost level only.
    """
    nest = _group(mapping, len(problem.dims))
    n = len(mapping.levels)
    if meshes is None:
        meshes = [mesh or (1, 1)] + [(1, 1)] * (n - 1)
    tiles = {ds.name: _dataspace(mapping, ds, nest, count_first_fill, tuple(meshes)) for ds in problem.dataspaces}
    return NestResult(tiles=tiles, macs=problem.macs, macs_per_instance=nest.temporal_product,
                      compute_instances=nest.spatial_product, level_factors=tuple(nest.below))


def _group(mapping: Mapping, ndims: int) -> _Nest:
    n = len(mapping.levels)
    cum = [1] * ndims  # per-dim product of the loops visited so far (= the loops' strides)
    below, below_spatial, spatial, fanout = [], [], [], []
    temporal: list[Placed] = []
    levels_of: list[int] = []
    first_above = [0] * n
    spatial_product = 1
    for li, lvl in enumerate(mapping.levels):
        placed = []
        width = 1
        for d, b, _ in lvl.spatial:
            if b > 1:
                placed.append((d, b, cum[d]))
                cum[d] *= b
                width *= b
        spatial.append(placed)
        fanout.append(width)
        spatial_product *= width
        below_spatial.append(tuple(cum))
        first_above[li] = len(temporal)
        for d, b in lvl.temporal:
            if b > 1:
                temporal.append((d, b, cum[d]))
                levels_of.append(li)
                cum[d] *= b
        below.append(tuple(cum))
    suffix = [1] * (len(temporal) + 1)
    for j in range(len(temporal) - 1, -1, -1):
        suffix[j] = suffix[j + 1] * temporal[j][1]
    replication = [1] * n
    for li in range(n - 2, -1, -1):
        replication[li] = replication[li + 1] * fanout[li + 1]
    return _Nest(below, below_spatial, spatial, fanout, temporal, suffix, first_above, levels_of, replication,
                 suffix[0], spatial_product)


def _round(x: float) -> float:
    """Timeloop's ``std::round``: halves away from zero (Python's ``round`` goes to even)."""
    return float(math.floor(x + 0.5)) if x >= 0 else -float(math.floor(-x + 0.5))


def _points(extents: tuple[int, ...]) -> int:
    out = 1
    for e in extents:
        out *= e
    return out


def _distinct(ds: DataSpace, spatial: list[Placed]) -> int:
    """Children of a spatial fanout that need different data (multicast groups)."""
    dims = ds.dims
    relevant = [(d, b, s) for d, b, s in spatial if d in dims]
    if not relevant:
        return 1
    if not ds.coupled:
        out = 1
        for _, b, _ in relevant:
            out *= b
        return out
    grids = np.meshgrid(*[np.arange(b) * s for _, b, s in relevant], indexing="ij")
    coords = []
    for rank in ds.ranks:
        value = np.zeros_like(grids[0])
        for (d, _, _), grid in zip(relevant, grids):
            coef = sum(t.coef for t in rank if t.dim == d)
            if coef:
                value = value + coef * grid
        coords.append(value.ravel())
    return int(np.unique(np.stack(coords, axis=1), axis=0).shape[0])


def _deliveries(ds: DataSpace, nest: _Nest, li: int, extents: tuple[int, ...], size: int, coupled: bool) -> int:
    """Points the temporal loops at and above level ``li`` deliver to one child tile."""
    start = nest.first_above[li]
    if coupled:
        above = nest.temporal[start:]
        return temporal_deliveries([move(ds, d, s) for d, _, s in above], [b for _, b, _ in above], extents)
    # Uncoupled: the tile is refetched once per iteration of every loop from the
    # innermost relevant one outward (see deltas.simple_deliveries).
    dims = ds.dims
    temporal = nest.temporal
    for j in range(start, len(temporal)):
        if temporal[j][0] in dims:
            return size * nest.suffix[j]
    return size


def _dataspace(mapping: Mapping, ds: DataSpace, nest: _Nest, count_first_fill: bool,
               meshes: tuple[tuple[int, int], ...]) -> tuple[TileStats, ...]:
    n = len(mapping.levels)
    coupled = ds.coupled
    extents = [ds.extents(f) for f in nest.below]
    sizes = [_points(e) for e in extents]
    fanout = nest.fanout
    content = [0.0] * n
    weighted = [0.0] * n
    per_child = [0.0] * n  # points delivered to one child (its fills), links included
    peer = [0.0] * n  # per instance: points a level forwards to its neighbours (read + filled)
    for li in range(n):
        if li == 0:
            child_total = float(nest.temporal_product)  # one operand access per compute
        else:
            child_total = float(_deliveries(ds, nest, li, extents[li - 1], sizes[li - 1], coupled))
        per_child[li] = child_total
        content[li] = child_total * _distinct(ds, nest.spatial[li])
        weighted[li] = child_total * fanout[li]
        if fanout[li] > 1 and ds.name not in mapping.levels[li].no_link_transfer:
            is_x = tuple([x for _, b, x in mapping.levels[li].spatial if b > 1])
            effect = link_effect(ds, nest.spatial[li], is_x, meshes[li], nest.temporal[nest.first_above[li]:],
                                 tuple(extents[li - 1]) if li else None)
            if effect is not None:
                content[li], weighted[li] = effect.content, effect.weighted
                per_child[li] = effect.share
                if li > 0:  # Timeloop spreads the transfers over all instances of the child level
                    peer[li - 1] = effect.transfers / nest.replication[li - 1]
    # Partition sizes (computed over all levels, before masking).
    partition = [0] * n
    partition[n - 1] = sizes[n - 1]
    for li in range(n - 2, -1, -1):
        denom = _points(ds.extents(nest.below_spatial[li + 1])) if fanout[li + 1] > 1 else sizes[li]
        partition[li] = partition[li + 1] * sizes[li] // denom
    # Mask bypassed levels: their children's traffic goes straight to the next kept level.
    kept = [ds.name in lvl.keep for lvl in mapping.levels]
    for li in range(n - 1):
        if kept[li]:
            continue
        outer = li + 1
        factor = content[li] * fanout[outer] / weighted[outer] if weighted[outer] else 0.0
        content[outer] *= factor
        weighted[outer] *= factor
    outermost = max(li for li in range(n) if kept[li])
    replication = nest.replication
    out = []
    for li in range(n):
        if not kept[li]:
            out.append(TileStats(False, 0, extents[li], 0.0, 0.0, 0.0, 0, replication[li], 0.0, fanout[li], 1.0))
            continue
        parent_share = per_child[li + 1] if li + 1 < n else 0.0
        if ds.read_write:
            updates = _round(content[li])
            reads = _round(content[li] + peer[li] - partition[li])
            first = 0 if count_first_fill else partition[li]
            fills = _round(peer[li]) if li == outermost else _round(parent_share + peer[li] - first)
        else:
            reads = _round(content[li] + peer[li])
            updates = 0.0
            # Timeloop keeps read-only fills in an integer: the fraction of the spread-out transfers drops
            fills = float(math.floor(peer[li] if li == outermost else parent_share + peer[li]))
        multicast = weighted[li] / content[li] if content[li] else 1.0
        out.append(TileStats(True, sizes[li], extents[li], reads, fills, updates, partition[li], replication[li],
                             content[li], fanout[li], multicast))
    return tuple(out)
