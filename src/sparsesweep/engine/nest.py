"""Dense nest analysis: tiles, reuse, multicast and per-level access counts.

Reproduces Timeloop master's legacy analysis for perfectly factorised nests:
per dataspace and storage level, the tile a level holds, the points it delivers to its
children (temporal reuse, spatial multicast / reduction), and the collapse into reads,
fills and updates (masking of bypassed levels, partition sizes, first-read elision).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem
from .deltas import temporal_deliveries

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
            mesh: tuple[int, int] | None = None) -> NestResult:
    """Dense analysis of ``mapping``.

    ``count_first_fill`` counts the first fill of read-write tensors, as the 2022
    Sparseloop build did (Timeloop master does not).  ``mesh``: the physical (fanoutX,
    fanoutY) of the innermost storage level to the compute units (default: its spatial loops).
    """
    nest = _group(mapping, len(problem.dims))
    tiles = {ds.name: _dataspace(mapping, ds, nest, count_first_fill, mesh) for ds in problem.dataspaces}
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


def _points(extents: tuple[int, ...]) -> int:
    out = 1
    for e in extents:
        out *= e
    return out


def _move(ds: DataSpace, dim: int, stride: int) -> tuple[int, ...]:
    return tuple(sum(t.coef for t in rank if t.dim == dim) * stride for rank in ds.ranks)


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


def compute_link_savings(ds: DataSpace, nest: _Nest, mapping: Mapping, mesh: tuple[int, int] | None) -> float:
    """Reads of ``ds`` at the innermost level that neighbour-to-neighbour links save.

    The compute units keep nothing, so each of them needs its operand point at every step.
    Timeloop compares, at the spatial fanout to the compute units, what each unit needs now
    with what its mesh neighbours (left, right, up, down) received at the previous step, and
    forwards it over the link when that is cheaper than reading the level.  With the tensor's
    point unchanged from one step to the next (a stationary step) and neighbours that share
    it (a spatial loop the tensor does not depend on), every unit with such a neighbour gets
    it that way: the step reads only the points of the units without one.  Over the run's
    steps (simulated as Timeloop does: iteration 0 and 1 of every loop, the second weighed
    by ``bound - 1``), the saving is (points - points of units without a sharing neighbour)
    x the stationary steps.
    """
    placed = nest.spatial[0]
    dims = ds.dims
    coupled = ds.coupled
    if not coupled and all(d in dims for d, _, _ in placed):
        return 0.0  # every unit needs a point of its own: nothing to share
    is_x = tuple([x for _, b, x in mapping.levels[0].spatial if b > 1])
    bounds = tuple([b for _, b, _ in placed])
    if coupled:
        shared = _shared_points(bounds, tuple([_move(ds, d, s) for d, _, s in placed]), is_x, mesh or (1, 1))
    else:
        shared = _shared_uncoupled(bounds, tuple([d in dims for d, _, _ in placed]), is_x, mesh or (1, 1))
    if shared <= 0:
        return 0.0
    temporal = nest.temporal
    if not coupled:  # the steps before the innermost loop the tensor depends on are stationary
        first = next((j for j, (d, _, _) in enumerate(temporal) if d in dims), len(temporal))
        return float(shared * (nest.temporal_product - nest.suffix[first]))
    stationary = 0
    prefix = tuple(0 for _ in ds.ranks)
    for j, (d, b, s) in enumerate(temporal):
        move = _move(ds, d, s)
        if move == prefix:  # the step into iteration 1 of loop j moves nothing
            stationary += (b - 1) * nest.suffix[j + 1]
        prefix = tuple(p + m for p, m in zip(prefix, move))
    return float(shared * stationary)


@lru_cache(maxsize=4096)
def _shared_uncoupled(bounds: tuple[int, ...], relevant: tuple[bool, ...], is_x: tuple[bool, ...],
                      mesh: tuple[int, int]) -> int:
    """:func:`_shared_points` of a tensor whose ranks each take one dimension: one coordinate per
    relevant loop (units share a point iff they agree on all of them)."""
    n = len(bounds)
    moves = tuple(tuple(int(k == i and rel) for k in range(n)) for i, rel in enumerate(relevant))
    return _shared_points(bounds, moves, is_x, mesh)


@lru_cache(maxsize=4096)
def _shared_points(bounds: tuple[int, ...], moves: tuple[tuple[int, ...], ...], is_x: tuple[bool, ...],
                   mesh: tuple[int, int]) -> int:
    """Distinct points needed by the compute units of one step, minus those needed only by units
    with no mesh neighbour that needs the same point.

    ``bounds``/``moves``/``is_x``: the spatial loops (innermost first), the tensor's move per
    iteration of each, and whether it runs along X.  Units are numbered as Timeloop numbers
    them (the innermost loop fastest) and laid out row by row on a mesh
    max(physical, logical) wide.
    """
    count = 1
    for b in bounds:
        count *= b
    logical_x = 1
    for b, x in zip(bounds, is_x):
        if x:
            logical_x *= b
    h_size = max(mesh[0], logical_x)
    v_size = max(mesh[1], count // logical_x)
    index = np.arange(count)
    pos = np.zeros((count, len(moves[0])), dtype=np.int64)
    stride = 1
    for b, move in zip(bounds, moves):
        pos += ((index // stride) % b)[:, None] * np.asarray(move, dtype=np.int64)[None, :]
        stride *= b
    _, label = np.unique(pos, axis=0, return_inverse=True)
    label = label.ravel()
    h, v = index % h_size, index // h_size
    linked = np.zeros(count, dtype=bool)
    for dh, dv in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nh, nv = h + dh, v + dv
        other = nv * h_size + nh
        ok = (nh >= 0) & (nh < h_size) & (nv >= 0) & (nv < v_size) & (other < count)
        linked[ok] |= label[other[ok]] == label[index[ok]]
    return int(np.unique(label).size - np.unique(label[~linked]).size)


def _deliveries(ds: DataSpace, nest: _Nest, li: int, extents: tuple[int, ...], size: int, coupled: bool) -> int:
    """Points the temporal loops at and above level ``li`` deliver to one child tile."""
    start = nest.first_above[li]
    if coupled:
        above = nest.temporal[start:]
        return temporal_deliveries([_move(ds, d, s) for d, _, s in above], [b for _, b, _ in above], extents)
    # Uncoupled: the tile is refetched once per iteration of every loop from the
    # innermost relevant one outward (see deltas.simple_deliveries).
    dims = ds.dims
    temporal = nest.temporal
    for j in range(start, len(temporal)):
        if temporal[j][0] in dims:
            return size * nest.suffix[j]
    return size


def _dataspace(mapping: Mapping, ds: DataSpace, nest: _Nest, count_first_fill: bool,
               mesh: tuple[int, int] | None) -> tuple[TileStats, ...]:
    n = len(mapping.levels)
    coupled = ds.coupled
    extents = [ds.extents(f) for f in nest.below]
    sizes = [_points(e) for e in extents]
    fanout = nest.fanout
    content = [0.0] * n
    weighted = [0.0] * n
    per_child = [0.0] * n
    for li in range(n):
        if li == 0:
            child_total = float(nest.temporal_product)  # one operand access per compute
        else:
            child_total = float(_deliveries(ds, nest, li, extents[li - 1], sizes[li - 1], coupled))
        per_child[li] = child_total
        content[li] = child_total * _distinct(ds, nest.spatial[li])
        if li == 0 and fanout[0] > 1 and ds.name not in mapping.levels[0].no_link_transfer:
            content[0] -= compute_link_savings(ds, nest, mapping, mesh)
        weighted[li] = child_total * fanout[li]
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
            updates = float(round(content[li]))
            reads = float(round(content[li] - partition[li]))
            first = 0 if count_first_fill else partition[li]
            fills = 0.0 if li == outermost else float(round(parent_share - first))
        else:
            reads = float(round(content[li]))
            updates = 0.0
            fills = 0.0 if li == outermost else parent_share
        multicast = weighted[li] / content[li] if content[li] else 1.0
        out.append(TileStats(True, sizes[li], extents[li], reads, fills, updates, partition[li], replication[li],
                             content[li], fanout[li], multicast))
    return tuple(out)
