"""Storage action optimizations (SAFs): how often a target's accesses are gated or skipped.

``temporal_saf_probability`` reproduces Sparseloop's ineffectual-read analysis: the
leader (condition-on) tile that governs one access of the target, the co-iteration and
block-size adjustments, and the probability that the leader tile is empty.
``SpatialSkipping`` reproduces spatial skipping: how many spatial instances below a
level are needed when empty leader fibers are skipped, and the resulting probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..tl.problem import DataSpace, Problem
from .complete import CompleteNest, Mold, project


class Densities(Protocol):
    """What the SAF analyses ask of the density models."""

    def p_empty(self, ds: DataSpace, extents: tuple[int, ...], level: int | None = None) -> float:
        """P(a tile of these per-rank extents is empty); ``level`` selects that level's model."""
        ...

    def max_elements(self, ds: DataSpace, fiber: tuple[int, ...], element: tuple[int, ...],
                     level: int | None = None) -> int:
        """Max non-empty ``element`` tiles inside a ``fiber`` tile, at confidence 1."""
        ...


@dataclass(frozen=True)
class Storage:
    """Which levels keep / describe each dataspace (from the mapping and the formats)."""

    kept: dict[str, tuple[bool, ...]]  # dataspace -> per storage level
    metadata: dict[str, tuple[bool, ...]]  # dataspace -> per level: has a representation format
    block_size: tuple[int, ...]  # per storage level

    def level_at_or_above(self, ds: str, level: int) -> int | None:
        kept = self.kept[ds]
        for li in range(level, len(kept)):
            if kept[li]:
                return li
        return None

    def child(self, ds: str, level: int) -> int:
        """Nearest inner level keeping ``ds`` (-1: the compute level)."""
        kept = self.kept[ds]
        for li in range(level - 1, -1, -1):
            if kept[li]:
                return li
        return -1


def temporal_saf_probability(problem: Problem, nest: CompleteNest, storage: Storage, dens: Densities,
                             saf_level: int, target: str, leaders: Sequence[str]) -> tuple[int, float] | None:
    """(level whose accesses are optimized, probability) for one gating/skipping option.

    None when no level at or above the SAF level keeps the target.
    """
    tds = problem.dataspaces[problem.ds_index(target)]
    tdims = tds.dims
    level = storage.level_at_or_above(target, saf_level)
    if level is None:
        return None
    child = storage.child(target, level)
    found = None
    scalar = False
    for li in range(child + 1, level + 1):
        loops = nest.levels[li]
        for lid, lp in enumerate(loops):
            if child != -1:
                if not lp.trivial and lp.dim in tdims:
                    found = (li, lid)
            else:
                nxt = loops[lid + 1] if lid + 1 < len(loops) else None
                if nxt is None or not nxt.spatial:
                    found = (li, lid)
                    scalar = not lp.spatial
                elif lp.dim in tdims and not lp.trivial:
                    found = (li, lid)
            if found:
                break
        if found:
            break
    if found is None:
        found = (level, len(nest.levels[level]) - 1)
    t_level, t_id = found
    target_loop = nest.levels[t_level][t_id]
    mold: Mold = nest.scalar if scalar else nest.molds[t_level][t_id]
    is_spatial = target_loop.spatial
    relevant = [target_loop]
    cond = list(mold)
    located = not is_spatial
    for li in range(t_level, level + 1):
        start = t_id + 1 if li == t_level else 0
        for lp in nest.levels[li][start:]:
            if lp.trivial:
                continue
            above_spatial_target = (not located and not lp.spatial and child != -1 and lp.dim not in tdims)
            if lp.spatial or above_spatial_target:
                cond[lp.dim] *= lp.bound
                relevant.append(lp)
            if is_spatial and not lp.spatial and (child == -1 or lp.dim in tdims):
                located = True
    effectual = 1.0
    for leader in leaders:
        cds = problem.dataspaces[problem.ds_index(leader)]
        cdims = cds.dims
        co_dims = tdims & cdims
        factors: dict[int, float] = {}
        aggregated = 1.0
        co_seen = False
        ineffective = False
        if not scalar:
            for lp in relevant:
                if is_spatial and co_seen and lp.dim in cdims:
                    ineffective = True
                    break
                if lp.dim in co_dims:
                    factors[lp.dim] = factors.get(lp.dim, 1.0) * lp.bound
                    aggregated *= lp.bound
                    co_seen = True
        if ineffective:
            continue
        t_mold = [float(v) for v in mold]
        c_mold = [float(v) for v in cond]
        granularity = math.prod(project(tds, mold))
        scaling = math.ceil(storage.block_size[level] / (granularity / aggregated))
        for dim in sorted(factors):
            effective = factors[dim] / scaling
            t_mold[dim] = math.ceil(t_mold[dim] / effective)
            c_mold[dim] = math.ceil(c_mold[dim] / effective)
            scaling = scaling / factors[dim]
        if scaling > 1:
            c_mold[target_loop.dim] *= scaling
        tile = project(cds, tuple(int(v) for v in c_mold))
        effectual *= 1.0 - dens.p_empty(cds, tile)
    return level, 1.0 - effectual


@dataclass
class SpatialSkipping:
    """Spatial-skipping state per dataspace over architecture levels (0 = compute)."""

    max_x: dict[str, list[float]]
    max_y: dict[str, list[float]]
    avg: dict[str, list[float]]
    reduced: dict[str, list[bool]]  # InitializeSpatialInstances' reduction marks
    skip_at: dict[str, set[int]] = field(default_factory=dict)  # storage levels with spatial skipping
    init_x: dict[str, list[float]] = field(default_factory=dict)  # expansions right after initialisation
    init_y: dict[str, list[float]] = field(default_factory=dict)

    @property
    def compute_avg_ratio(self) -> float:
        return max(v[0] for v in self.avg.values())
