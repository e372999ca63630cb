"""What the sparse pipeline asks of density models and representation formats, per point.

:class:`SparseModels` wraps the format analysis (:mod:`.representation`) and the density
models (:mod:`.density`) behind the small set of questions the SAF analyses, the combiner,
the compute split and the energy model ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from ..tl.problem import DataSpace
from ..tl.spec import Spec
from .compute_saf import round6
from .density import DensityModel, conditional_prob_empty, expected_occupancy, occupancy_by_confidence, prob_empty
from .formats import MetadataStorage, TileFormat, format_accesses, level_capacity, vector_access_ratio
from .formats import check_capacity as check_format_capacity
from .nest import NestResult, TileStats
from .propagate import LevelInput
from .representation import FormatAnalysis, FormatInputs, FormatStatic, analyse_inputs, format_inputs


@dataclass(frozen=True)
class SparseModels:
    spec: Spec
    nest: NestResult
    formats: FormatAnalysis
    storage: tuple[MetadataStorage, ...]  # per storage level
    artifact: bool = False  # 2022 Sparseloop build rules (see context.Context.artifact)

    @classmethod
    def build(cls, spec: Spec, nest: NestResult, *, artifact: bool = False,
              static: FormatStatic | None = None) -> SparseModels:
        """``static``: the spec's :attr:`.context.Context.format_static`, if at hand."""
        if static is not None and spec.mapping is not None:
            inputs = FormatInputs(static, spec.mapping, 1.0, artifact)
        else:
            inputs = format_inputs(spec, flatten_once=artifact)
        return cls(spec, nest, analyse_inputs(inputs), inputs.static.storage, artifact)

    # -- structure -----------------------------------------------------------------------
    def tile(self, li: int, ds: str) -> TileFormat | None:
        return self.formats.dataspaces[ds].tiles[li]

    def model(self, ds: str) -> DensityModel:
        return self.formats.dataspaces[ds].model

    def has_metadata(self, li: int, ds: str) -> bool:
        tf = self.formats.dataspaces[ds].tiles[li]
        return tf is not None and tf.has_metadata

    def compressed(self, li: int, ds: str) -> bool:
        tf = self.tile(li, ds)
        return tf is not None and tf.compressed

    # -- density questions (see saf.Densities) --------------------------------------------
    def p_empty(self, ds: DataSpace, extents: tuple[int, ...], level: int | None = None) -> float:
        return _p_empty(self.formats.dataspaces[ds.name].model, extents)

    def max_elements(self, ds: DataSpace, fiber: tuple[int, ...], element: tuple[int, ...],
                     level: int | None = None) -> int:
        if math.prod(fiber) % math.prod(element):
            raise SpecError(f"skipping-spatial: a fiber of {math.prod(fiber)} points of '{ds.name}' is not a whole "
                            f"number of its spatial loop's {math.prod(element)}-point tiles (sliding windows overlap); "
                            f"Timeloop aborts on this (GetMaxNumElementByConfidence)", key="sparse_optimizations",
                            fix=f"map that spatial loop over a dimension along which the tiles of '{ds.name}' do "
                                f"not overlap, or drop the skipping-spatial SAF")
        return _max_elements(self.formats.dataspaces[ds.name].model, fiber, element)

    def scalar_density(self, ds: str, level: int | None) -> float:
        """Expected density of one scalar operand, rounded as Sparseloop rounds it."""
        return self.operand_density(self.spec.problem.dataspaces[self.spec.problem.ds_index(ds)])

    def operand_density(self, ds: DataSpace) -> float:
        """:meth:`scalar_density` of a dataspace."""
        return _scalar_density(self.formats.dataspaces[ds.name].model, len(ds.ranks))

    # -- energy-related -------------------------------------------------------------------
    def read_energy(self, li: int) -> float:
        energies = self.spec.energies
        return energies.level(self.spec.arch.storage[li].name).op("random_read") if energies else 0.0

    def saf_occupancy(self, li: int, ds: str) -> float:
        """Expected target tile occupancy used to rank SAF options: the tile's expected data
        words plus the metadata a read sends out (the child level's ranks, or all ranks at the
        innermost level), in data words (Sparseloop's integer ratio of metadata to data bits)."""
        tf = self.tile(li, ds)
        if tf is None:
            return 0.0
        level = self.spec.arch.storage[li]
        ratio = level.md_word_bits // level.word_bits
        if not ratio:
            return tf.expected_data
        tiles = self.formats.dataspaces[ds].tiles
        child = next((tiles[c] for c in range(li - 1, -1, -1) if tiles[c] is not None), tf)
        metadata = sum(md + pl for md, pl in child.expected_units) if child.has_metadata else 0.0
        return tf.expected_data + metadata * ratio

    def rank_bits(self, li: int, ds: str) -> tuple[tuple[int, int], ...]:
        tf = self.formats.dataspaces[ds].tiles[li]
        if tf is None or not tf.has_metadata:
            return ()
        return tf.bits

    def vector_ratio(self, li: int, ds: str) -> float:
        tf = self.formats.dataspaces[ds].tiles[li]
        tile = self.nest.tiles[ds][li]
        if tf is None or not tile.kept or self.artifact or not tf.compressed:
            return 1.0  # (vector_access_ratio is 1 for uncompressed tiles)
        return _vector_ratio(self.model(ds), tile.extents, tf.expected_density,
                             self.spec.arch.storage[li].block_size, tf.compressed)

    def instance_scale(self, li: int, ds: str) -> float:
        tf = self.formats.dataspaces[ds].tiles[li]
        return tf.instance_scale if tf is not None else 1.0

    # -- combiner inputs ------------------------------------------------------------------
    def level_input(self, li: int, ds: DataSpace, tile: TileStats) -> LevelInput:
        rw = ds.read_write
        tf = self.formats.dataspaces[ds.name].tiles[li]
        reductions = tile.reads if rw else 0.0
        if tf is None or not tile.kept:
            return LevelInput(tile.kept, rw, tile.reads, tile.fills, tile.updates, False, False, 1.0, (), (), (),
                              reductions)
        if not tf.has_metadata:
            return LevelInput(True, rw, tile.reads, tile.fills, tile.updates, False, tf.compressed,
                              tf.expected_density, (), (), (), reductions)
        units, points = tf.expected_units, tf.tile_points
        return LevelInput(True, rw, tile.reads, tile.fills, tile.updates, True, tf.compressed, tf.expected_density,
                          format_accesses(units, tile.reads, points), format_accesses(units, tile.fills, points),
                          format_accesses(units, tile.updates, points), reductions)

    def check_capacity(self) -> None:
        """Data words and metadata bits of every level against its storage (at confidence 1)."""
        formats, kept = self.formats.dataspaces, self.nest.tiles
        for li, storage in enumerate(self.storage):
            tiles = [formats[d].tiles[li] for d in formats if kept[d][li].kept]
            check_format_capacity(level_capacity(storage, tiles))


# Pure functions of hashable inputs, cached: a mapper asks them again and again.

@lru_cache(maxsize=4096)
def _p_empty(model: DensityModel, extents: tuple[int, ...]) -> float:
    return float(prob_empty(model, extents))


@lru_cache(maxsize=4096)
def _max_elements(model: DensityModel, fiber: tuple[int, ...], element: tuple[int, ...]) -> int:
    """Max non-empty ``element`` tiles inside a ``fiber`` tile, at confidence 1."""
    fiber_points, element_points = math.prod(fiber), math.prod(element)
    k = occupancy_by_confidence(model, fiber, 1.0)
    p0 = float(conditional_prob_empty(model, element, fiber, np.array([k]))[0])
    share = p0 if model.kind == "banded" else 1.0 - p0  # Timeloop's banded model uses P(empty) here
    return math.ceil((fiber_points // element_points) * share - 1e-12)


@lru_cache(maxsize=256)
def _scalar_density(model: DensityModel, ranks: int) -> float:
    if model.kind == "banded":  # Timeloop's banded expected occupancy is the tile's points x the global density
        return round6(float(model.density))
    return round6(float(expected_occupancy(model, (1,) * ranks)))


@lru_cache(maxsize=4096)
def _vector_ratio(model: DensityModel, extents: tuple[int, ...], density: float, block_size: int,
                  compressed: bool) -> float:
    return float(vector_access_ratio(model, extents, density, block_size, compressed))
