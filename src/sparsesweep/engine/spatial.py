"""Spatial skipping: fewer spatial instances when empty leader fibers are skipped.

Architecture levels are numbered 0 (compute) .. n (outermost storage); the entry of
arch level ``a`` describes the instances of storage level ``a - 1`` (or the compute
units), i.e. what the spatial loops of storage level ``a`` fan out to.  Mirrors
Sparseloop's InitializeSpatialInstances, CalculateSpatialOptimizationImpact and
SummarizeAndPropagateSpatialCapacityReduction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import MappingError, SpecError
from ..tl.arch import Architecture
from ..tl.problem import DataSpace, Problem
from .complete import CompleteNest
from .saf import Densities, SpatialSkipping, Storage


@dataclass(frozen=True)
class SpatialSaf:
    level: int  # storage level carrying the SAF
    target: str
    leaders: tuple[str, ...]


def base_expansion(nest: CompleteNest) -> tuple[list[float], list[float]]:
    """Per arch level: product of the X (Y) spatial factors above it (exact: small integers)."""
    n = len(nest.levels)
    xs, ys = [1.0] * (n + 1), [1.0] * (n + 1)
    x = y = 1
    for a in range(n - 1, -1, -1):
        for lp in nest.levels[a]:
            if lp.spatial:
                if lp.axis_x:
                    x *= lp.bound
                else:
                    y *= lp.bound
        xs[a], ys[a] = float(x), float(y)
    return xs, ys


def initialize(problem: Problem, nest: CompleteNest, storage: Storage, dens: Densities) -> SpatialSkipping:
    n = len(nest.levels)
    bx, by = base_expansion(nest)
    state = SpatialSkipping(max_x={}, max_y={}, avg={}, reduced={})
    for ds in problem.dataspaces:
        name = ds.name
        mx, my = list(bx), list(by)
        avg = [1.0] * (n + 1)
        red = [False] * (n + 1)
        metadata = storage.metadata[name]
        if any(metadata):  # otherwise nothing is reduced
            kept = storage.kept[name]
            keeper = [n - 1] * n  # per level: the level at or above it keeping the tensor (else the outermost)
            above = None
            for u in range(n - 1, -1, -1):
                above = u if kept[u] else above
                keeper[u] = n - 1 if above is None else above
            for u in range(n):
                if metadata[keeper[u]]:
                    avg[u] = effective = _reduce(ds, nest, dens, u, keeper[u], mx, my)
                    red[u] = effective != 1.0
            _propagate(n, bx, by, mx, my, avg, red)
        state.max_x[name], state.max_y[name], state.avg[name], state.reduced[name] = mx, my, avg, red
        state.init_x[name], state.init_y[name] = list(mx), list(my)
    return state


def _reduce(ds: DataSpace, nest: CompleteNest, dens: Densities, u: int, level_in: int, mx: list[float],
            my: list[float], widen: Sequence[tuple[int, int]] = (), shared: frozenset[int] = frozenset(),
            top: bool = False) -> float:
    """Shrink level ``u``'s spatial expansion by the fibers of ``ds`` that can be empty; returns the
    average ratio of utilized instances (that of the innermost such fiber; 1.0 without one).

    ``widen`` lists temporal loops (dimension, bound) that a loop of a ``shared`` dimension takes
    into its tile (a spatial-skipping leader, see :func:`apply_saf`); ``top``: the tile before loop 0
    is the level's whole tile (see :func:`_later_leader_mold`).
    """
    effective = None
    dims = ds.dims
    for lid, lp in enumerate(nest.levels[u]):
        if not lp.spatial or lp.trivial or lp.dim not in dims:
            continue
        mold = list(nest.molds[u][-1] if top and lid == 0 else nest.mold_before(u, lid))
        if widen and lp.dim in shared:
            for dim, bound in widen:
                mold[dim] *= bound
        tile = ds.extents(mold)
        if effective is None:
            effective = 1.0 - dens.p_empty(ds, tile, level_in)
        mold[lp.dim] *= lp.bound
        count = dens.max_elements(ds, ds.extents(mold), tile, level_in)
        if lp.axis_x:
            mx[u] *= count / lp.bound
        else:
            my[u] *= count / lp.bound
    return 1.0 if effective is None else effective


def _propagate(n: int, bx: list[float], by: list[float], mx: list[float], my: list[float], avg: list[float],
               red: list[bool]) -> None:
    """Propagate reductions to the inner levels."""
    for a in range(n, 0, -1):
        xr, yr = mx[a] / bx[a], my[a] / by[a]
        if xr != 1.0 or yr != 1.0:
            cross = False
            for inner in range(a - 1, -1, -1):
                mx[inner] *= xr
                my[inner] *= yr
                if red[inner]:
                    cross = True
                if not cross:
                    avg[inner] *= avg[a]


def _later_leader_mold(nest: CompleteNest, u: int, cds: DataSpace, k: int, saf: SpatialSaf, level_name: str) -> bool:
    """Sparseloop counts the loops of level ``u`` on for each conditioned-on tensor with metadata
    without resetting its counter: the ``k``-th such tensor (from 0) finds the tile before loop ``j``
    at index ``k * L + j - 1`` of the level's ``L`` tiles.  That is the level's whole tile for the
    second tensor's loop 0 (True: :func:`_reduce` uses it), and past the end of the list for any
    other relevant loop (Timeloop then reads unowned memory: it aborts, crashes or prints garbage)."""
    relevant = [j for j, lp in enumerate(nest.levels[u]) if lp.spatial and not lp.trivial and lp.dim in cds.dims]
    if not relevant:
        return False
    if k >= 2 or relevant[-1] >= 1:
        raise SpecError(
            f"skipping-spatial of '{saf.target}' at '{level_name}': for '{cds.name}', a later conditioned-on tensor "
            f"with metadata, Timeloop reads a tile past the end of the level's loop list (its loop counter is not "
            f"reset per tensor) and crashes or prints garbage", key="sparse_optimizations",
            fix=f"condition the SAF on fewer tensors with metadata, or map only the innermost spatial loop of "
                f"'{level_name}' over a dimension of '{cds.name}'")
    return True


def apply_saf(problem: Problem, nest: CompleteNest, storage: Storage, dens: Densities, state: SpatialSkipping,
              saf: SpatialSaf, level_name: str = "") -> None:
    """Record one spatial-skipping SAF in ``state`` (CalculateSpatialOptimizationImpact)."""
    tds = problem.dataspaces[problem.ds_index(saf.target)]
    tdims = tds.dims
    u = saf.level
    child = -1
    for li in range(u - 1, -1, -1):
        if storage.kept[saf.target][li]:
            child = li
            break
    n = len(nest.levels)
    # A leader loop of a dimension the target shares (with a child level keeping the target)
    # takes the temporal loops above it up to the target's first relevant one into its tile.
    widen: list[tuple[int, int]] = []
    if child != -1:
        t_level = storage.level_at_or_above(saf.target, u)
        widen = _until_relevant(nest, u, n - 1 if t_level is None else t_level, tdims)
    max_x, max_y = state.max_x[saf.target], state.max_y[saf.target]
    ratios: dict[str, float] = {}  # per leader: its utilized-instance ratio
    effective = 0  # leaders with metadata so far
    for leader in saf.leaders:
        cds = problem.dataspaces[problem.ds_index(leader)]
        level_c = storage.level_at_or_above(leader, u)
        if level_c is not None and storage.metadata[leader][level_c]:
            top = effective > 0 and _later_leader_mold(nest, u, cds, effective, saf, level_name)
            ratios[leader] = _reduce(cds, nest, dens, u, level_c, max_x, max_y, widen, tdims & cds.dims, top)
            effective += 1
    state.avg[saf.target][u] = math.prod(ratios.values())
    state.skip_at.setdefault(saf.target, set()).add(u)


def _until_relevant(nest: CompleteNest, first: int, last: int, dims: frozenset[int]) -> list[tuple[int, int]]:
    """The non-trivial temporal loops of levels ``first .. last``, innermost first, up to the first
    one of ``dims``: (dimension, bound)."""
    out = []
    for li in range(first, last + 1):
        for lp in nest.levels[li]:
            if lp.spatial or lp.trivial:
                continue
            if lp.dim in dims:
                return out
            out.append((lp.dim, lp.bound))
    return out


def summarize(problem: Problem, nest: CompleteNest, state: SpatialSkipping, fanouts: Sequence[tuple[int, int]],
              arch: Architecture, file: str) -> dict[str, list[float]]:
    """Propagate reductions inward, check fanouts; returns per dataspace the skip
    probability recorded at each storage level (1 - average ratio of the level below)."""
    n = len(nest.levels)
    _check_instances(problem, n, state, arch, file)
    probs: dict[str, list[float]] = {}
    for ds in problem.dataspaces:
        name = ds.name
        mx, my, avg = state.max_x[name], state.max_y[name], state.avg[name]
        orig_x, orig_y = state.init_x[name], state.init_y[name]
        prob = [0.0] * n
        skip = state.skip_at.get(name, set())
        for a in range(n, -1, -1):
            xr = yr = 1.0
            if a != 0:
                xr, yr = mx[a] / orig_x[a], my[a] / orig_y[a]
            if a < n:
                prob[a] = 1.0 - avg[a]
            if xr != 1.0 or yr != 1.0:
                cross = False
                for inner in range(a - 1, -1, -1):
                    if inner in skip:
                        cross = True
                    if not cross:
                        avg[inner] *= avg[a]
                    mx[inner] *= xr
                    my[inner] *= yr
        probs[name] = prob
    _check_fanout(problem, fanouts, arch, state, file)
    return probs


def _check_instances(problem: Problem, n: int, state: SpatialSkipping, arch: Architecture, file: str) -> None:
    """Timeloop keeps the instances a spatial skip leaves as integers and divides each level's count by
    that of the level above it (its fanout check): a count of 0 above the compute units stops it (SIGFPE)."""
    for ds in problem.dataspaces:
        for a in range(n, 0, -1):
            if not state.max_x[ds.name][a] or not state.max_y[ds.name][a]:
                raise SpecError(
                    f"with spatial skipping, 0 instances of '{arch.storage[a - 1].name}' stay in use for '{ds.name}' "
                    f"(0 non-empty tiles per fiber of the spatial loops of '{arch.storage[a].name}': Timeloop's "
                    f"banded model gives that for tiles never empty); Timeloop divides by this count (SIGFPE)",
                    file=file, key="sparse_optimizations",
                    fix=f"use another density model for '{ds.name}' and the skipping-spatial leaders, or drop that SAF")


def _check_fanout(problem: Problem, fanouts: Sequence[tuple[int, int]], arch: Architecture, state: SpatialSkipping,
                  file: str) -> None:
    for ds in problem.dataspaces:
        mx, my = state.max_x[ds.name], state.max_y[ds.name]
        for a, (fx, fy) in enumerate(fanouts):
            need_x = int(mx[a] / mx[a + 1]) if mx[a + 1] else 0
            need_y = int(my[a] / my[a + 1]) if my[a + 1] else 0
            if need_x > fx or need_y > fy:
                name = arch.storage[a].name
                raise MappingError(
                    f"spatial factors at '{name}' need {need_x} x {need_y} (X x Y) instances for {ds.name} "
                    f"(after spatial skipping) but the fanout is {fx} x {fy}", file=file, key="mapping",
                    fix=f"reduce the spatial factors of '{name}' or move some to the other axis with 'split'")
