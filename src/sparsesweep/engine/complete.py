"""The complete loop nest that Sparseloop's analyses walk.

Unlike the dense nest (non-trivial loops only), the sparse analyses see every loop of
every tiling level, trivial ones included: per storage level, a spatial tiling level
(one loop per dimension, in the spatial permutation) when the hardware fans out below
that level, then the temporal tiling level (one loop per dimension).  The *mold* after a
loop is the operation-space extent (per dimension) of that loop and all loops inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..tl.mapping import Mapping
from ..tl.problem import DataSpace

Mold = tuple[int, ...]  # per-dimension extent of an operation-space tile


class CLoop(NamedTuple):
    dim: int
    bound: int
    spatial: bool
    axis_x: bool = False

    @property
    def trivial(self) -> bool:
        return self.bound == 1


@dataclass(frozen=True)
class CompleteNest:
    levels: tuple[tuple[CLoop, ...], ...]  # per storage level, innermost loop first
    molds: tuple[tuple[Mold, ...], ...]  # mold after each loop (same shape as levels)
    scalar: Mold  # all ones

    def mold_before(self, level: int, loop_id: int) -> Mold:
        """Extent of everything inside loop ``loop_id`` of ``level``."""
        if loop_id > 0:
            return self.molds[level][loop_id - 1]
        return self.top_mold(level - 1)

    def top_mold(self, level: int) -> Mold:
        """Extent of everything at or below ``level`` (the scalar below level 0)."""
        if level < 0:
            return self.scalar
        return self.molds[level][-1] if self.molds[level] else self.top_mold(level - 1)


def build_complete_nest(mapping: Mapping, ndims: int, spatial_levels: Sequence[bool],
                        spatial_factors: bool = False) -> CompleteNest:
    """The complete nest of ``mapping``; ``spatial_levels[i]``: the hardware fans out below storage level ``i``.

    ``spatial_factors``: a level that does not fan out but has spatial factors above 1 lists
    its spatial tiling level too.
    """
    levels = []
    molds = []
    cum = [1] * ndims
    every = range(ndims)
    for li, lm in enumerate(mapping.levels):
        loops: list[CLoop] = []
        if spatial_levels[li] or (spatial_factors and any(b > 1 for _, b, _ in lm.spatial)):
            if lm.spatial:
                loops.extend([CLoop(d, b, True, x) for d, b, x in lm.spatial])
            else:
                loops.extend([CLoop(d, 1, True, True) for d in every])
        loops.extend([CLoop(d, b, False) for d, b in lm.temporal] if lm.temporal
                     else [CLoop(d, 1, False) for d in every])
        level_molds = []
        for lp in loops:
            cum[lp.dim] *= lp.bound
            level_molds.append(tuple(cum))
        levels.append(tuple(loops))
        molds.append(tuple(level_molds))
    return CompleteNest(levels=tuple(levels), molds=tuple(molds), scalar=(1,) * ndims)


def project(ds: DataSpace, mold: Sequence[int]) -> tuple[int, ...]:
    """Per-rank extents of the dataspace tile an operation-space mold touches."""
    return ds.extents(mold)


def spatial_beyond_fanout(mapping: Mapping, spatial_levels: Sequence[bool]) -> bool:
    """Some level that does not fan out has spatial factors above 1."""
    return any(not fans and any(b > 1 for _, b, _ in lm.spatial) for lm, fans in zip(mapping.levels, spatial_levels))
