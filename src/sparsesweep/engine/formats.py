"""Representation formats (metadata) of one dataspace at one storage level.

Given the rank structure (:mod:`.rankmatch`) and the tensor's density model (:mod:`.density`),
this module computes what Timeloop's representation analysis and buffer model print:

* per-rank (metadata, payload) *units* per tile for UOP, CP, B, RLE and UB, for a data tile
  that holds ``k`` nonzeros, walking from the top rank down with ``F`` fibers
  (``P_cur`` = P(the tile under one coordinate of the rank above is empty), ``P_next`` =
  P(the sub-tile under one coordinate of this rank is empty), both conditioned on ``k``):

  ======  =========================  ==========================
  format  metadata                   payload
  ======  =========================  ==========================
  UOP     0                          F(1-P_cur) (f+1)
  CP      F(1-P_cur) ceil(f(1-P_n))  same as metadata
  B       F(1-P_cur) f               F(1-P_cur) ceil(f(1-P_n))
  RLE     F(1-P_cur) f(1-P_n)        same as metadata
  UB      F f                        F f
  ======  =========================  ==========================

  Dummy ranks (fiber shape 1) hold nothing, except the rank loops are applied to first (the
  top rank for outer_to_inner, rank 0 for inner_to_outer); the lowest rank that is not a
  dummy has no payload (its payload is the data itself).
* the *expected* units (weighted over the data tile's occupancy distribution) and the units
  at a confidence (default 1.0 = worst case: "Max utilized Repr format storage capacity");
* word bits per rank (``AdjustFormatWordBits``), metadata bits vs the level's metadata
  storage, data words vs the data storage;
* format access counts from data access counts, the access reduction of compressed data,
  and the vector-access ratio of compressed tiles (``VectorWidthCoefficientTable``).

Units are counts of metadata / payload *words* of the rank's word bits; "bits" are bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import MappingError, SpecError
from ..tl.arch import StorageLevel
from ..tl.sparse import Rank
from .density import (DensityModel, Occupancy, condition_nonempty, conditional_prob_empty, occupancy_by_confidence,
                      representation_window)
from .density import occupancy_distribution
from .rankmatch import LevelRanks

Units = tuple[float, float]  # (metadata, payload) per rank
Counts = tuple[int, int]


class RankBits(NamedTuple):
    """Word bits of one rank: bits per metadata unit and per payload unit."""

    metadata: int
    payload: int


@dataclass(frozen=True)
class TileFormat:
    """Representation analysis of one dataspace at one storage level (per instance).

    ``expected_units[r]`` / ``capacity_units[r]`` are (metadata, payload) units of rank ``r``
    (0 = innermost) per tile: expected, and at the confidence (ceil'd, as printed).
    """

    density_name: str  # "Tile density distribution"
    tile_points: int  # data tile shape (points)
    has_metadata: bool
    compressed: bool
    formats: tuple[str, ...]  # per rank, rank 0 first ("none": the level has no metadata)
    bits: tuple[RankBits, ...]  # per rank
    expected_data: float  # expected nonzeros per tile (non-empty conditioned if applicable)
    expected_density: float  # expected_data / tile_points
    data_capacity: int  # words: max utilized data storage capacity at the confidence
    expected_units: tuple[Units, ...]
    capacity_units: tuple[Counts, ...]  # ceil of capacity_exact, as Timeloop prints them
    capacity_exact: tuple[Units, ...]
    metadata_capacity_bits: int  # bits: ceil(sum of units x word bits) at the confidence
    instance_scale: float  # average-utilized-instances factor from non-empty conditioning

    def format_accesses(self, count: float) -> tuple[Counts, ...]:
        """Per-rank (metadata, payload) accesses for ``count`` data accesses of the tile."""
        return format_accesses(self.expected_units, count, self.tile_points)

    def metadata_bits(self, accesses: Sequence[Counts]) -> int:
        """Bits moved by per-rank (metadata, payload) accesses."""
        return sum(b.metadata * md + b.payload * pl for b, (md, pl) in zip(self.bits, accesses))

    def access_bits(self, count: float) -> float:
        """Metadata bits moved by ``count`` data accesses of the tile: the :meth:`metadata_bits` of
        its :meth:`format_accesses` (ranks without word bits move none)."""
        points = self.tile_points
        if not points or not count:
            return 0.0
        ratio = count / points
        ceil = math.ceil
        total = 0
        for md, pl, md_bits, pl_bits in self.moving_units:
            total += ceil(md * ratio) * md_bits + ceil(pl * ratio) * pl_bits
        return float(total)

    @cached_property
    def moving_units(self) -> tuple[tuple[float, float, int, int], ...]:
        """(metadata units, payload units, metadata bits, payload bits) of the ranks whose words have bits."""
        return tuple((md, pl, b.metadata, b.payload) for (md, pl), b in zip(self.expected_units, self.bits)
                     if b.metadata or b.payload)


# -- per-rank units -------------------------------------------------------------------


def rank_units(model: DensityModel, ranks: LevelRanks, occupancies: np.ndarray) -> np.ndarray:
    """(metadata, payload) units of every rank for data tiles holding ``occupancies`` nonzeros.

    Returns an array of shape ``(len(occupancies), n_ranks, 2)``, rank 0 first.
    """
    ks = np.asarray(occupancies, dtype=np.int64)
    n = len(ranks.ranks)
    out = np.zeros((ks.size, n, 2))
    shapes = [slot.fiber_shape for slot in ranks.ranks]
    first = 0 if ranks.inner_to_outer else n - 1  # the rank loops are applied to first
    fibers = 1
    p_cur = conditional_prob_empty(model, ranks.tile, ranks.tile, ks)
    for r in range(n - 1, -1, -1):
        f = shapes[r]
        p_next = conditional_prob_empty(model, ranks.sub_tile(r), ranks.tile, ks)
        if f != 1 or r == first:
            md, pl = _format_units(ranks.ranks[r].format, fibers, f, p_cur, p_next)
            out[:, r, 0] = md
            # the lowest rank that holds coordinates points at the data itself: no payload
            out[:, r, 1] = 0.0 if all(s == 1 for s in shapes[:r]) else pl
        fibers *= f
        p_cur = p_next
    return out


def _format_units(fmt: str, fibers: int, f: int, p_cur: np.ndarray, p_next: np.ndarray):
    nonempty = fibers * (1.0 - p_cur)
    if fmt == "uop":
        return 0.0, nonempty * float(f + 1)
    if fmt == "cp":
        coords = np.ceil(f * (1.0 - p_next))
        return coords * nonempty, coords * nonempty
    if fmt == "b":
        return nonempty * float(f), nonempty * np.ceil(f * (1.0 - p_next))
    if fmt == "rle":
        coords = f * (1.0 - p_next)
        return coords * nonempty, coords * nonempty
    if fmt == "ub":
        return float(fibers * f), float(fibers * f)
    raise SpecError(f"unknown representation format '{fmt}'", fix="use UOP, CP, B, RLE or UB")


# -- word bits --------------------------------------------------------------------------


@dataclass(frozen=True)
class MetadataStorage:
    """The metadata side of a storage level (hashable)."""

    name: str
    word_bits: int  # metadata_datawidth: default bits per metadata/payload unit (0 = free)
    width: int  # bits per metadata storage access (metadata_storage_width; 0 = none)
    capacity_bits: int | None  # effective metadata capacity; None = unbounded data storage
    data_words: int | None  # effective data capacity in words; None = unbounded

    @classmethod
    def of(cls, level: StorageLevel) -> MetadataStorage:
        """From a parsed level: capacity = floor(depth x width / multiple buffering)."""
        if level.size is None:
            return cls(level.name, level.md_word_bits, level.md_storage_width, None, None)
        raw = level.attributes.get("multiple_buffering", level.attributes.get("multiple-buffering", 1.0))
        buffering = float(raw or 1.0)
        bits = (level.md_storage_depth or 0) * level.md_storage_width
        return cls(level.name, level.md_word_bits, level.md_storage_width, int(math.floor(bits / buffering)),
                   level.size)


def adjust_word_bits(bits: int | None, level: MetadataStorage, where: str) -> int:
    """Timeloop's ``AdjustFormatWordBits``: bits per unit of one rank field at ``level``.

    Unspecified -> the level's ``metadata_datawidth``; a value that does not divide the
    metadata storage width is bumped to the next divisor (at most twice the value); more
    bits than the metadata storage width is an error.
    """
    width = level.width
    if bits is None:
        out = level.word_bits
    elif bits != 0 and width % bits != 0:
        out = next((b for b in range(bits, 2 * bits) if width % b == 0), 2 * bits)
    else:
        out = bits
    if out > width:
        raise SpecError(f"{where}: {out} word bits exceed the metadata storage width ({width} bits) of "
                        f"'{level.name}'",
                        fix=f"set metadata_storage_width of '{level.name}' to at least {out} bits, or fewer bits")
    return out


def rank_bits(rank: Rank, level: MetadataStorage, where: str) -> RankBits:
    """Word bits of a rank at a level (B's metadata defaults to 1 bit).

    UB (uncompressed bitmask) reads no word bits from its rank: both fields always take the
    level's ``metadata_datawidth``, whatever the rank says (Timeloop's UB ignores the keys).
    """
    md, pl = rank.metadata_bits, rank.payload_bits
    if rank.format == "ub":
        md = pl = None
    elif md is None and rank.format == "b":
        md = 1
    return RankBits(adjust_word_bits(md, level, f"{where} metadata_word_bits"),
                    adjust_word_bits(pl, level, f"{where} payload_word_bits"))


# -- the whole tile ---------------------------------------------------------------------


def tile_format(model: DensityModel, ranks: LevelRanks, bits: tuple[RankBits, ...], *,
                parent_has_metadata: bool, confidence: float = 1.0) -> TileFormat:
    """Representation analysis of one tile (see :class:`TileFormat`); cached on its inputs.

    ``parent_has_metadata``: the next outer level keeping the tensor has a format, so empty
    tiles are never sent here (the occupancy distribution is conditioned on non-empty).
    """
    return _tile_format(model, ranks, tuple(bits), bool(parent_has_metadata), float(confidence))


@lru_cache(maxsize=8192)
def _tile_format(model: DensityModel, ranks: LevelRanks, bits: tuple[RankBits, ...], parent_has_metadata: bool,
                 confidence: float) -> TileFormat:
    points = 1
    for e in ranks.tile:
        points *= e
    dist: Occupancy = representation_window(model, ranks.tile)
    scale = 1.0
    if parent_has_metadata:
        nonempty = condition_nonempty(dist)
        dist, scale = nonempty.occupancy, nonempty.kept_fraction
    expected = dist.expected
    n = len(ranks.ranks)
    if ranks.has_metadata:
        units = rank_units(model, ranks, dist.values) * dist.probs[:, None, None]
        summed = np.cumsum(units, axis=0)[-1] if units.shape[0] else np.zeros((n, 2))
        expected_units = tuple((float(md), float(pl)) for md, pl in summed)
        k_max = occupancy_by_confidence(model, ranks.tile, confidence)
        worst = rank_units(model, ranks, np.array([k_max]))[0]
        exact = tuple((float(md), float(pl)) for md, pl in worst)
        capacity = tuple((math.ceil(md), math.ceil(pl)) for md, pl in exact)
        md_bits = math.ceil(_seq_bits(worst, bits))
    else:
        expected_units, exact, capacity, md_bits = (), (), (), 0
    # Any tensor with metadata (UB and UOP-only too) stores only its nonzeros.
    data_capacity = occupancy_by_confidence(model, ranks.tile, confidence) if ranks.has_metadata else points
    return TileFormat(density_name=model.name, tile_points=points, has_metadata=ranks.has_metadata,
                      compressed=ranks.compressed, formats=ranks.formats, bits=bits, expected_data=expected,
                      expected_density=expected / points if points else 0.0, data_capacity=data_capacity,
                      expected_units=expected_units, capacity_units=capacity, capacity_exact=exact,
                      metadata_capacity_bits=md_bits,
                      instance_scale=scale)


def _seq_bits(units: np.ndarray, bits: tuple[RankBits, ...]) -> float:
    total = 0.0
    for (md, pl), b in zip(units, bits):
        total += md * b.metadata + pl * b.payload
    return total


# -- capacity ----------------------------------------------------------------------------


class CapacityUse(NamedTuple):
    """What the dataspaces kept at one level occupy (per instance)."""

    data_words: int  # sum of the tiles' data capacities (words)
    metadata_bits: int  # sum of the tiles' metadata capacities (bits)
    storage: MetadataStorage

    @property
    def fits(self) -> bool:
        if self.storage.data_words is None:
            return True
        if self.data_words > self.storage.data_words:
            return False
        return self.metadata_bits <= (self.storage.capacity_bits or 0)


def level_capacity(storage: MetadataStorage, tiles: Sequence[TileFormat | None]) -> CapacityUse:
    """Data words and metadata bits of the tiles kept at one level (None: bypassed)."""
    kept = [t for t in tiles if t is not None]
    return CapacityUse(sum(t.data_capacity for t in kept), sum(t.metadata_capacity_bits for t in kept), storage)


def check_capacity(use: CapacityUse) -> None:
    """Raise :class:`MappingError` when the tiles overflow the level (Timeloop's capacity check).

    Levels without a size (DRAM) always fit; the data check comes first; a level without
    metadata storage has 0 metadata bits of room.
    """
    size = use.storage.data_words
    if size is None or use.fits:
        return
    name = use.storage.name
    if use.data_words > size:
        raise MappingError(f"the tiles mapped to '{name}' need {use.data_words} words but it holds {size}",
                           fix=f"use smaller tiles at '{name}' (move loop factors outward) or a larger buffer")
    room = use.storage.capacity_bits or 0
    raise MappingError(f"the metadata of the tiles mapped to '{name}' needs {use.metadata_bits} bits but its "
                       f"metadata storage holds {room}",
                       fix=f"use smaller tiles at '{name}', fewer metadata bits, or a larger metadata_storage_depth")


# -- access counts ------------------------------------------------------------------------


def format_accesses(expected_units: Sequence[Units], count: float, tile_points: int) -> tuple[Counts, ...]:
    """Per-rank (metadata, payload) accesses: ``ceil(units * count / tile_points)``."""
    if not tile_points or not count:
        return tuple([(0, 0)] * len(expected_units))
    ratio = count / tile_points
    ceil = math.ceil
    return tuple([(ceil(md * ratio), ceil(pl * ratio)) for md, pl in expected_units])


def compressed_accesses(dense: int, expected_density: float) -> int:
    """Data accesses left of ``dense`` ones for a compressed tile: ``dense - floor(dense*(1-d))``."""
    return int(dense - math.floor(dense * (1.0 - expected_density)))


# -- vector accesses --------------------------------------------------------------------

# Tile points per vector above which Timeloop stops modelling partial blocks, by block size
# and by density decile (0.1 .. 1.0); from Timeloop's buffer model.
VECTOR_WIDTH_THRESHOLDS: dict[int, tuple[int, ...]] = {
    2: (251, 125, 84, 63, 51, 42, 36, 32, 28, 1),
    4: (375, 188, 125, 94, 75, 63, 54, 47, 42, 1),
    8: (438, 219, 146, 110, 88, 73, 63, 55, 49, 1),
    16: (469, 235, 157, 118, 94, 79, 67, 59, 52, 1),
    32: (485, 243, 162, 122, 97, 81, 70, 61, 52, 1),
}


def vector_access_ratio(model: DensityModel, tile: tuple[int, ...], expected_density: float, block_size: int,
                        compressed: bool) -> float:
    """Scale of ``ceil(accesses / block_size)`` for the partially filled blocks of a compressed tile.

    1.0 unless the tile is compressed, its expected density is below 1, the block holds more
    than one word and the tile is small against the block (threshold table).  Then
    ``ratio = sum_{k>=1} ceil(k/block) P(k) / (points * density / block)``.  Block sizes
    outside the table (e.g. 64) crash Timeloop master; like the 2022 Sparseloop build we
    return 1.0 for them (no partial-block correction).
    """
    points = 1
    for e in tile:
        points *= e
    # an expected density of 0 leaves no access to scale (Timeloop's ratio is then inf or NaN, unused)
    if not compressed or points == 0 or block_size <= 1 or expected_density >= 1.0 or expected_density <= 0.0:
        return 1.0
    row = VECTOR_WIDTH_THRESHOLDS.get(block_size)
    if row is None:
        return 1.0
    idx = math.floor(expected_density / 0.1) - 1 if expected_density >= 0.1 else 0
    if not row[int(idx)] > points // block_size:
        return 1.0
    dist = occupancy_distribution(model, tile)
    mask = dist.values >= 1
    total = float(np.cumsum(np.ceil(dist.values[mask] / block_size) * dist.probs[mask])[-1]) if mask.any() else 0.0
    return total / (points * expected_density / block_size)

