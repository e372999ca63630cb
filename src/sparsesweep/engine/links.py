"""Link transfers: data forwarded between neighbouring instances of a spatial fanout.

At every spatial fanout (to compute units or to the instances of a storage level) Timeloop
compares, at each simulated step, the delta each child needs now with the delta its mesh
neighbours (left, right, up, down, on a row-major array ``max(physical, logical)`` wide)
needed at the previous simulated step.  A child whose delta equals a neighbour's previous one
gets it over the link.  Per step it counts the parent's accesses with and without those
links (identical deltas of the remaining children are multicast) and keeps the links only
when they save accesses; the delivered points then count as link transfers.

The simulated steps are Timeloop's: iterations #0 and #1 of every temporal loop above the
fanout, #1 weighed by ``bound - 1``.  The step where loop ``j`` advances moves every child's
tile by ``tau_j = u_j - sum(u_i, i < j)`` (``u``: per-iteration moves); the step before it is
the one where loop 0 advanced (``j >= 1``), or, for ``j == 0``, the one where the lowest
advancing outer loop ``i`` advanced, or the first step.  All children see the same moves, so
the delta of child ``k`` is a fixed region shifted by its data offset ``s_k``, and its delta
equals neighbour ``n``'s previous one exactly when both regions have the same shape
(:mod:`.deltas`: empty, the new slab of ``u_a``, or the whole tile) and ``s_n - s_k = tau_j``.
Compute units keep nothing: their "delta" is their operand point at every step.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..tl.problem import DataSpace
from .deltas import delta_size

Placed = tuple[int, int, int]  # (dimension, bound, stride) of one non-trivial loop
Vector = tuple[int, ...]


class LinkEffect(NamedTuple):
    """One dataspace at one spatial fanout, per instance of the parent, when links are used."""

    content: float  # parent accesses (deliveries, identical deltas multicast)
    weighted: float  # sum over deliveries of the children they serve
    transfers: float  # points the children receive over links
    share: float  # parent accesses per child (weighted / children), with Timeloop's rounding error


def move(ds: DataSpace, dim: int, stride: int) -> Vector:
    """Translation (per tensor rank) of a tile when a loop over ``dim`` with ``stride`` advances."""
    return tuple(sum(t.coef for t in rank if t.dim == dim) * stride for rank in ds.ranks)


def link_effect(ds: DataSpace, spatial: list[Placed], is_x: tuple[bool, ...], mesh: tuple[int, int],
                above: list[Placed], child_extents: tuple[int, ...] | None) -> LinkEffect | None:
    """Accesses of the parent and link transfers of ``ds`` at one spatial fanout, or None when
    Timeloop would use no link (then the multicast-only counts apply).

    ``spatial``: the fanout's loops (innermost first); ``is_x``: whether each runs along X;
    ``mesh``: the physical (fanoutX, fanoutY); ``above``: the temporal loops at and above the
    parent level (innermost first); ``child_extents``: the child tile's shape per rank (None
    for compute units).
    """
    if len(spatial) == 0 or len(above) == 0:
        return None
    if not ds.coupled and (child_extents is not None or all(d in ds.dims for d, _, _ in spatial)):
        # Each rank takes one dimension: neighbours' data differ by less than the fanout's extent
        # in a rank, a temporal move by a multiple of it.  Only compute units whose neighbour
        # shares their unmoved operand can use a link (storage children get no delta then).
        return None
    bounds = tuple(b for _, b, _ in spatial)
    moves = tuple(move(ds, d, s) for d, _, s in spatial)
    groups, by_offset = _fanout_links(bounds, moves, is_x, mesh)
    if not by_offset:
        return None
    u = [move(ds, d, s) for d, _, s in above]
    taus = _taus(u)
    if not any(t in by_offset for t in taus):
        return None
    cases = _steps(taus, [b for _, b, _ in above], child_extents)
    # Parent accesses per (multicast, scatter), as Timeloop's access-stat matrix keeps them.
    entries: dict[tuple[int, int], int] = {}
    transfers = 0
    used = False
    for weight, tau, size, prev_size in cases:
        link = by_offset.get(tau) if size > 0 and prev_size == size else None
        if link is not None and link[0] < groups.count:
            histogram, linked = link[1], link[2]
            transfers += weight * size * linked
            used = True
        else:
            histogram = groups.histogram
        for multicast, scatter in histogram:
            entries[(multicast, scatter)] = entries.get((multicast, scatter), 0) + weight * size * scatter
    if not used:
        return None
    children = 1
    for b in bounds:
        children *= b
    share = 0.0  # summed in Timeloop's order (its fills keep the float error, then truncate)
    for key in sorted(entries):
        share += entries[key] * key[0] / children
    return LinkEffect(float(sum(entries.values())), float(sum(a * k[0] for k, a in entries.items())),
                      float(transfers), share)


def _taus(u: list[Vector]) -> list[Vector]:
    """``tau_j = u_j - sum(u_i, i < j)``: the move of the step where loop ``j`` advances."""
    taus = []
    prefix = tuple(0 for _ in u[0])
    for m in u:
        taus.append(tuple(a - p for a, p in zip(m, prefix)))
        prefix = tuple(p + a for p, a in zip(prefix, m))
    return taus


def _steps(taus: list[Vector], bounds: list[int], child_extents: tuple[int, ...] | None
           ) -> list[tuple[int, Vector, int, int]]:
    """Timeloop's simulated steps as (weight, tau, delta size now, delta size at the step before)."""
    k = len(taus)
    outer = [1] * (k + 1)  # outer[j]: product of the bounds of loops j.. (outer[k] = 1)
    for j in range(k - 1, -1, -1):
        outer[j] = outer[j + 1] * bounds[j]
    if child_extents is None:  # compute units: one operand point at every step
        full = 1
        sizes = [1] * k
    else:
        full = 1
        for e in child_extents:
            full *= e
        first = next((t for t in taus if any(t)), None)
        new = delta_size(first, child_extents, full) if first is not None else full
        sizes = [0 if not any(t) else (new if t == first else full) for t in taus]
    cases = [(1, tuple(0 for _ in taus[0]), full, -1)]  # the first step: no neighbour data yet
    cases.append(((bounds[0] - 1), taus[0], sizes[0], full))  # loop 0 advances after the first step
    for i in range(1, k):  # loop 0 advances after loop i did
        cases.append(((bounds[0] - 1) * (bounds[i] - 1) * outer[i + 1], taus[0], sizes[0], sizes[i]))
    for j in range(1, k):  # loop j advances; the step before was loop 0's
        cases.append(((bounds[j] - 1) * outer[j + 1], taus[j], sizes[j], sizes[0]))
    return cases


class _Groups(NamedTuple):
    """Children that need distinct data: how many groups, and (multicast, groups of that size)."""

    count: int
    histogram: tuple[tuple[int, int], ...]


def _groups(label: np.ndarray) -> _Groups:
    _, sizes = np.unique(label, return_counts=True)
    multicasts, scatters = np.unique(sizes, return_counts=True)
    return _Groups(int(sizes.size), tuple((int(m), int(c)) for m, c in zip(multicasts, scatters)))


@lru_cache(maxsize=4096)
def _fanout_links(bounds: tuple[int, ...], moves: tuple[Vector, ...], is_x: tuple[bool, ...],
                  mesh: tuple[int, int]) -> tuple[_Groups, dict[Vector, tuple[int, tuple[tuple[int, int], ...], int]]]:
    """The children's data groups, and for every data offset between mesh neighbours: (groups
    among the children with no neighbour at that offset, their (multicast, scatter) histogram,
    children with one).

    Children are numbered as Timeloop numbers them (the innermost loop fastest) and laid out
    row by row on a mesh ``max(physical, logical)`` wide.
    """
    count = 1
    logical_x = 1
    for b, x in zip(bounds, is_x):
        count *= b
        if x:
            logical_x *= b
    h_size = max(mesh[0], logical_x)
    v_size = max(mesh[1], count // logical_x)
    index = np.arange(count)
    pos = np.zeros((count, len(moves[0])), dtype=np.int64)
    stride = 1
    for b, mv in zip(bounds, moves):
        pos += ((index // stride) % b)[:, None] * np.asarray(mv, dtype=np.int64)[None, :]
        stride *= b
    _, label = np.unique(pos, axis=0, return_inverse=True)
    label = label.ravel()
    groups = _groups(label)
    h, v = index % h_size, index // h_size
    pairs = []
    for dh, dv in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nh, nv = h + dh, v + dv
        other = nv * h_size + nh
        ok = (nh >= 0) & (nh < h_size) & (nv >= 0) & (nv < v_size) & (other < count)
        pairs.append((index[ok], other[ok]))
    src = np.concatenate([p[0] for p in pairs])
    dst = np.concatenate([p[1] for p in pairs])
    out: dict[Vector, tuple[int, tuple[tuple[int, int], ...], int]] = {}
    if len(src) == 0:
        return groups, out
    keys, which = np.unique(pos[dst] - pos[src], axis=0, return_inverse=True)
    which = which.ravel()
    for ki, key in enumerate(keys):
        linked = np.zeros(count, dtype=bool)
        linked[src[which == ki]] = True
        rest = _groups(label[~linked]) if (~linked).any() else _Groups(0, ())
        out[tuple(int(x) for x in key)] = (rest.count, rest.histogram, int(linked.sum()))
    return groups, out


def shared_stationary(bounds: tuple[int, ...], relevant: tuple[bool, ...], is_x: tuple[bool, ...],
                      mesh: tuple[int, int]) -> int:
    """For a tensor whose ranks each take one dimension, at a fanout to compute units: the data
    groups a step that leaves the operand in place no longer reads (each of its units has a mesh
    neighbour that needs the same point).  ``relevant``: whether the tensor depends on each loop."""
    n = len(bounds)
    moves = tuple(tuple(int(k == i and rel) for k in range(n)) for i, rel in enumerate(relevant))
    groups, by_offset = _fanout_links(bounds, moves, is_x, mesh)
    link = by_offset.get(tuple(0 for _ in range(n)))
    return groups.count - link[0] if link is not None else 0
