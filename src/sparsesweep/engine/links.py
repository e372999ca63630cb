"""Detect mappings where Timeloop would use link transfers (which the engine does not model).

At a spatial fanout, Timeloop compares what each instance needs now with what its mesh
neighbours (left, right, up, down, in the level's fanoutX x fanoutY array) received at the
previous step, and forwards data between neighbours when that saves reads of the parent.
That happens only when a tile moves, from one step to the next, by exactly the offset
between two neighbouring instances, which needs a tensor rank that couples a spatial and a
temporal dimension (a sliding window, e.g. inputs of a convolution with spatial Q and a
temporal S loop above it).  For such mappings the engine refuses to guess: it raises a
located error naming the level and dataspace, and the mapping's ``no_link_transfer`` list
(which turns them off in Timeloop too) makes the point evaluable.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..tl.arch import Architecture
from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem


def _move(ds: DataSpace, dim: int, stride: int) -> tuple[int, ...]:
    return tuple(sum(t.coef for t in rank if t.dim == dim) * stride for rank in ds.ranks)


def check_link_transfers(arch: Architecture, problem: Problem, mapping: Mapping, file: str | None = None) -> None:
    """Raise :class:`SpecError` when a coupled dataspace could move between neighbour instances."""
    coupled = [ds for ds in problem.dataspaces if any(len(rank) > 1 for rank in ds.ranks)]
    if not coupled:
        return
    loops = mapping.loops()
    strides = []
    cum = [1] * len(problem.dims)
    for lp in loops:
        strides.append(cum[lp.dim])
        cum[lp.dim] *= lp.bound
    for li in range(len(mapping.levels)):
        spatial = [(lp, strides[i]) for i, lp in enumerate(loops) if lp.level == li and lp.spatial]
        if not spatial:
            continue
        above = [(lp, strides[i]) for i, lp in enumerate(loops) if lp.level >= li and not lp.spatial]
        for ds in coupled:
            if ds.name in mapping.levels[li].no_link_transfer:
                continue
            if _neighbour_moves(arch, li, ds, spatial) & _temporal_moves(ds, above):
                raise SpecError(
                    f"at '{arch.storage[li].name}', '{ds.name}' tiles move by exactly the offset between "
                    "neighbouring instances, where Timeloop forwards data between neighbours (link transfers), "
                    "which the engine does not model", file=file, key="mapping",
                    fix=f"add 'no_link_transfer: [{ds.name}]' to the spatial mapping entry of "
                        f"'{arch.storage[li].name}' (Timeloop honours it too), or reorder the loops above it")


def _neighbour_moves(arch: Architecture, li: int, ds: DataSpace, spatial) -> set[tuple[int, ...]]:
    """Data offsets between instances that are mesh neighbours (Timeloop's linear layout)."""
    h_size, v_size = arch.fanout(li)
    outer_first = spatial[::-1]
    grids = np.meshgrid(*[np.arange(lp.bound) for lp, _ in outer_first], indexing="ij")
    linear = np.zeros_like(grids[0])
    for (lp, _), grid in zip(outer_first, grids):
        linear = linear * lp.bound + grid
    positions = np.zeros(grids[0].shape + (len(ds.ranks),), dtype=np.int64)
    for (lp, stride), grid in zip(outer_first, grids):
        positions += grid[..., None] * np.array(_move(ds, lp.dim, stride))
    flat_pos = positions.reshape(-1, len(ds.ranks))
    by_index = {int(i): flat_pos[k] for k, i in enumerate(linear.ravel())}
    moves: set[tuple[int, ...]] = set()
    for index, pos in by_index.items():
        h, v = index % h_size, index // h_size
        for dh, dv in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nh, nv = h + dh, v + dv
            if 0 <= nh < h_size and 0 <= nv < v_size and (nv * h_size + nh) in by_index:
                offset = tuple(int(x) for x in by_index[nv * h_size + nh] - pos)
                if any(offset):
                    moves.add(offset)
    return moves


def _temporal_moves(ds: DataSpace, above) -> set[tuple[int, ...]]:
    """Translations of the tile between consecutive steps of the temporal loops above."""
    out: set[tuple[int, ...]] = set()
    prefix = tuple(0 for _ in ds.ranks)
    for lp, stride in above:
        move = _move(ds, lp.dim, stride)
        tau = tuple(a - b for a, b in zip(move, prefix))
        if any(tau):
            out.add(tau)
        prefix = tuple(a + b for a, b in zip(prefix, move))
    return out
