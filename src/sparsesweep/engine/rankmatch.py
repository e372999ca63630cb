"""Rank-to-loop matching: which mapping loops each rank of a representation format covers.

Reproduces Timeloop's ``DefineCompressionFormatModels`` for one dataspace at every storage
level that keeps it (inner levels first, since a compressed level may *pre-tile*: adopt its
child's ranks as its own innermost ranks).

The candidate loops of a level are the loops of that level and of the levels it bypasses
down to (not including) the child level that keeps the tensor, restricted to dimensions the
tensor's projection uses, innermost first.  Timeloop's complete loop nest lists *every*
dimension at every tiling level (bound 1 for unmapped ones; a spatial tiling level exists
where the hardware fans out), and the order of those trivial loops matters: without
pre-tiling, the factors of the child level and below are folded into the innermost
candidate loop of the same dimension, trivial or not.  Ranks are then given loops in
``outer_to_inner`` order (the top rank takes the outermost non-trivial loop) or
``inner_to_outer`` order; ``flattened_rankIDs`` lets one rank swallow consecutive loops of
the listed dimensions; leftover ranks become dummies (fiber shape 1) and leftover
non-trivial loops mean the hardware needs more ranks (a :class:`MappingError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..errors import MappingError
from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem
from ..tl.sparse import Representation
from .complete import CompleteNest, build_complete_nest

Extents = tuple[int, ...]
Factors = tuple[int, ...]  # per-dimension product of the loops up to some point of the nest
# Formats whose rank drops empty coordinates.  UB counts as compressed in Timeloop master
# (a UOP+UB tile is stored and read at its expected density).
COMPRESSED_FORMATS = ("cp", "b", "rle")


# Builds a NamedTuple from all its fields in order, without its Python-level ``__new__``.
_new = tuple.__new__


class RankSlot(NamedTuple):
    """One rank of a level's representation; rank 0 is the innermost.

    ``fiber_shape`` = coordinates per fiber (projected to the tensor); ``tile`` = extents of
    the data the rank spans (the sub-tile under one coordinate of the rank above).
    """

    format: str  # uop | cp | b | rle | ub, or "none" for the implicit rank of a plain level
    loops: tuple[tuple[int, int], ...]  # (dimension, bound after folding) in matching order
    fiber_shape: int
    tile: Extents


class LevelRanks(NamedTuple):
    """The rank structure of one dataspace at one storage level."""

    level: int
    dataspace: str
    has_metadata: bool
    compressed: bool
    inner_to_outer: bool
    pre_tiled: bool
    ranks: tuple[RankSlot, ...]  # index = rank id (0 = innermost)
    base_tile: Extents  # extents under one coordinate of rank 0 (a scalar, or the child's)
    tile: Extents  # the level's data tile

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(r.format for r in self.ranks)

    def sub_tile(self, rank: int) -> Extents:
        """Extents under one coordinate of ``rank`` (the tile of the rank below it)."""
        return self.base_tile if rank == 0 else self.ranks[rank - 1].tile


def rank_nest(mapping: Mapping, ndims: int, spatial_levels: tuple[bool, ...]) -> CompleteNest:
    """The complete nest rank matching walks; ``spatial_levels[i]``: storage level ``i`` fans out.

    A level that does not fan out still lists its spatial loops when it has spatial factors
    (the SAF analyses' nest leaves them out; such a mapping exceeds the fanout anyway).
    """
    return build_complete_nest(mapping, ndims, spatial_levels, spatial_factors=True)


def _points(extents: Extents) -> int:
    out = 1
    for e in extents:
        out *= e
    return out


# A candidate loop for rank matching: (dimension, bound possibly folded, the unfolded nest's
# factors at this loop -- its tile is their projection).
_Cand = tuple[int, int, Factors]


class RankFormat(NamedTuple):
    """The mapping-independent facts of one dataspace's representation at one level."""

    has_metadata: bool  # a format with at least one rank
    compressed: bool  # some rank drops empty coordinates
    inner_to_outer: bool
    formats: tuple[str, ...]  # rank 0 (innermost) first; ("none",) without metadata
    rules: tuple[tuple[int, ...] | None, ...]  # per rank id: dimensions it may flatten (None: no rule)
    nranks: int


NO_FORMAT = RankFormat(False, False, False, ("none",), (None,), 1)


def rank_format(rep: Representation | None, dims: tuple[str, ...]) -> RankFormat:
    """Summarise ``rep`` (None or no ranks: the level has no metadata) for rank matching."""
    if rep is None or not rep.ranks:
        return NO_FORMAT
    ranks = rep.ranks[::-1]  # YAML lists ranks outermost first
    rules = tuple(tuple(dims.index(d) for d in r.flattened if d in dims) if r.flattened else None for r in ranks)
    return RankFormat(True, any(r.format in COMPRESSED_FORMATS for r in ranks), rep.inner_to_outer,
                      tuple(r.format for r in ranks), rules, len(ranks))


def _apply_ranks(ds: DataSpace, cands: list[_Cand], first_tile: Extents, fmt: RankFormat, inner: int,
                 unit: Extents, once: bool) -> tuple[list[tuple[tuple[int, int], ...]], list[Extents], bool]:
    """Give loops to ranks ``inner .. nranks-1``; returns (loops per rank, tile per rank, more needed).

    ``cands`` are the non-trivial candidate loops, innermost first (trivial loops are never
    taken and never stop a flattening rank); ``first_tile`` is the tile at the innermost
    candidate, trivial or not.  ``outer_to_inner`` walks the candidates from the outermost
    loop and the ranks from the top; ``inner_to_outer`` walks both from the inside.  A rank
    takes the next loop and, if its flattening rule allows, the following loops of the
    listed dimensions; its tile is the one at the first loop it took.
    """
    nranks = fmt.nranks
    inward = not fmt.inner_to_outer
    walk = cands[::-1] if inward else cands
    ranks = range(nranks - 1, inner - 1, -1) if inward else range(inner, nranks)
    rules = fmt.rules
    loops_of: list[tuple[tuple[int, int], ...]] = []  # per visited rank (rule misses left out inward)
    tiles: list[Extents] = []
    misses = 0  # ranks whose rule did not admit the next loop (dummies)
    pos = 0
    end = len(walk)
    for r_id in ranks:
        if pos >= end:
            break
        dim, bound, factors = walk[pos]
        rule = rules[r_id]
        if rule is not None and dim not in rule:  # the rank cannot take this loop: a dummy
            if inward:
                misses += 1
            else:
                loops_of.append(())
                tiles.append(unit)
            continue
        loops = [(dim, bound)]
        pos += 1
        if rule is not None:
            left = _take(rule, dim, once)
            while pos < end and walk[pos][0] in left:
                loops.append(walk[pos][:2])
                left = _take(left, walk[pos][0], once)
                pos += 1
        loops_of.append(tuple(loops))
        tiles.append(ds.extents(factors))
    spare = nranks - inner - len(loops_of) - misses
    if inward:  # Timeloop inserts ranks at the inner end but appends the rule misses
        loops_of.reverse()
        tiles.reverse()
        return ([()] * spare + loops_of + [()] * misses, [first_tile] * spare + tiles + [first_tile] * misses,
                pos < end)
    return loops_of + [()] * spare, tiles + [first_tile] * spare, pos < end


def _take(rule: tuple[int, ...] | None, dim: int, once: bool) -> tuple[int, ...]:
    """The dimensions a rank may still flatten after taking a loop of ``dim``."""
    if rule is None:
        return ()
    if not once or dim not in rule:
        return rule
    i = rule.index(dim)
    return rule[:i] + rule[i + 1:]


def match_ranks(problem: Problem, mapping: Mapping, spatial_levels: tuple[bool, ...],
                formats: Sequence[Representation | RankFormat | None], ds_name: str,
                level_names: tuple[str, ...] = (), flatten_once: bool = False,
                nest: CompleteNest | None = None) -> tuple[LevelRanks | None, ...]:
    """Rank structure of ``ds_name`` at every storage level (None where it is bypassed).

    ``formats[i]`` is the representation of the tensor at level ``i`` (None: no metadata),
    or its :func:`rank_format`.
    ``flatten_once``: a dimension of a ``flattened_rankIDs`` list covers one loop only (the
    2022 Sparseloop build); Timeloop master merges every consecutive loop of the listed
    dimensions into the rank.  ``nest``: the mapping's :func:`rank_nest`, if already built.
    Raises :class:`MappingError` when a level needs more ranks than its format has, or when
    pre-tiling meets a child whose ranks do not line up.
    """
    ds = problem.dataspaces[problem.ds_index(ds_name)]
    if nest is None:
        nest = rank_nest(mapping, len(problem.dims), spatial_levels)
    fmts = [f if isinstance(f, RankFormat) else rank_format(f, problem.dims) for f in formats]
    unit = (1,) * len(ds.ranks)
    out: list[LevelRanks | None] = []
    child: int | None = None
    for li, lvl in enumerate(mapping.levels):
        if ds_name not in lvl.keep:
            out.append(None)
            continue
        name = level_names[li] if li < len(level_names) else str(li)
        child_ranks, child_fmt = (None, NO_FORMAT) if child is None else (out[child], fmts[child])
        out.append(_level(len(problem.dims), ds, nest, unit, li, child, child_ranks, fmts[li], child_fmt, name,
                          flatten_once))
        child = li
    return tuple(out)


def _level(ndims: int, ds: DataSpace, nest: CompleteNest, unit: Extents, li: int, child: int | None,
           child_ranks: LevelRanks | None, fmt: RankFormat, child_fmt: RankFormat, name: str,
           once: bool) -> LevelRanks:
    inner_most = 0 if child is None else child + 1
    nranks = fmt.nranks
    tile = ds.extents(nest.molds[li][-1])
    pre_tiled = fmt.compressed and child_ranks is not None and _points(child_ranks.tile) > 1
    child_nranks = child_fmt.nranks
    if pre_tiled:
        if child_nranks > nranks:
            raise MappingError(f"'{ds.name}' at '{name}' is compressed and must pre-tile its child level, but "
                               f"the child has {child_nranks} ranks and this level only {nranks}",
                               fix=f"give '{ds.name}' at '{name}' at least {child_nranks} ranks")
        if child_fmt.compressed:
            own = list(fmt.formats[:child_nranks])
            theirs = list(child_fmt.formats[:child_nranks])
            if own != theirs:
                raise MappingError(f"'{ds.name}' at '{name}' must pre-tile its child level, but its inner ranks "
                                   f"{own} differ from the child's {theirs}",
                                   fix="use the child's rank formats as this level's innermost ranks")
    # Candidate loops: the relevant loops of this level and the levels it bypasses; without
    # pre-tiling, the factors below them fold into the innermost candidate of each dimension.
    if not fmt.has_metadata:
        return _plain_level(ndims, ds, nest, unit, li, inner_most, tile)
    cands, first = _candidates(ds, nest, inner_most, li, fold=not pre_tiled)
    inner = child_nranks if pre_tiled else 0
    first_tile = unit if first is None else ds.extents(first)
    subnests, tiles, more = _apply_ranks(ds, cands, first_tile, fmt, inner, unit, once)
    if more:
        raise MappingError(f"'{ds.name}' at '{name}' needs more format ranks than the {nranks} given: the tile "
                           "has more non-trivial loops than ranks",
                           fix=f"add ranks to the representation format of '{ds.name}' at '{name}', or flatten "
                               "dimensions with flattened_rankIDs")
    formats = fmt.formats
    slots: list[RankSlot] = []
    base = unit
    if pre_tiled and child_ranks is not None:  # the child's ranks, as matched there, are the inner ones
        base = child_ranks.base_tile
        for r_id, slot in enumerate(child_ranks.ranks):
            slots.append(slot if slot.format == formats[r_id] else slot._replace(format=formats[r_id]))
    r_id = len(slots)
    for rank_loops, rank_tile in zip(subnests, tiles):
        fiber = _fiber(ndims, ds, rank_loops) if rank_loops else 1
        slots.append(_new(RankSlot, (formats[r_id], rank_loops, fiber, rank_tile)))
        r_id += 1
    return LevelRanks(li, ds.name, fmt.has_metadata, fmt.compressed, fmt.has_metadata and fmt.inner_to_outer,
                      pre_tiled, tuple(slots), base, tile)


def _plain_level(ndims: int, ds: DataSpace, nest: CompleteNest, unit: Extents, li: int, inner_most: int,
                 tile: Extents) -> LevelRanks:
    """A level without a format: one implicit rank takes every non-trivial candidate loop.

    (What :func:`_apply_ranks` would do for it, directly: a plain level never pre-tiles, so the
    factors below fold into the innermost loop of each dimension.)
    """
    taken, first = _candidates(ds, nest, inner_most, li, fold=True)
    loops = tuple([(d, b) for d, b, _ in reversed(taken)])  # outermost first
    rank_tile = ds.extents(taken[-1][2] if taken else first) if first is not None else unit
    slot = RankSlot("none", loops, _fiber(ndims, ds, loops), rank_tile)
    return LevelRanks(li, ds.name, False, False, False, False, (slot,), unit, tile)


def _candidates(ds: DataSpace, nest: CompleteNest, inner_most: int, li: int,
                fold: bool) -> tuple[list[_Cand], Factors | None]:
    """The non-trivial candidate loops of levels ``inner_most..li`` (innermost first) and the
    factors at the innermost candidate, trivial or not (None without one).

    Candidates are the loops of the tensor's dimensions; with ``fold``, the factors below
    ``inner_most`` fold into the innermost candidate of each dimension.
    """
    relevant = ds.dims
    below = list(nest.top_mold(inner_most - 1)) if fold else None
    cands: list[_Cand] = []
    first: Factors | None = None
    for lv in range(inner_most, li + 1):
        for loop, factors in zip(nest.levels[lv], nest.molds[lv]):
            d = loop[0]
            if d in relevant:
                b = loop[1]
                if below is not None and below[d] != 1:
                    b *= below[d]
                    below[d] = 1
                if first is None:
                    first = factors
                if b > 1:
                    cands.append((d, b, factors))
    return cands, first


def _fiber(ndims: int, ds: DataSpace, loops: Sequence[tuple[int, int]]) -> int:
    """Points of the fiber that ``loops`` (dimension, bound) span in the tensor (1 without loops)."""
    if not loops:
        return 1
    sizes = [1] * ndims
    for d, b in loops:
        sizes[d] *= b
    return _points(ds.extents(sizes))
