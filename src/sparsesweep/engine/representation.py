"""Representation analysis of a whole evaluation point: every dataspace at every level.

:func:`analyse_formats` ties :mod:`.density`, :mod:`.rankmatch` and :mod:`.formats`
together for a parsed :class:`~sparsesweep.tl.spec.Spec`.  The result is cached on the
hashable inputs it depends on (problem shape, densities, mapping, formats, metadata
storage), so re-evaluating the same point costs a dictionary look-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem
from ..tl.sparse import Representation
from ..tl.spec import Spec
from .density import DensityModel, model_for
from .formats import MetadataStorage, RankBits, TileFormat, rank_bits, tile_format
from .rankmatch import LevelRanks, match_ranks


@dataclass(frozen=True)
class FormatInputs:
    """The hashable part of a spec that the representation analysis depends on."""

    dims: tuple[str, ...]
    bounds: tuple[int, ...]
    dataspaces: tuple[DataSpace, ...]
    models: tuple[DensityModel, ...]  # per dataspace
    mapping: Mapping
    spatial_levels: tuple[bool, ...]  # per storage level: fans out (has a spatial tiling level)
    storage: tuple[MetadataStorage, ...]  # per storage level
    formats: tuple[tuple[Representation | None, ...], ...]  # per dataspace, per storage level
    confidence: float = 1.0
    flatten_once: bool = False  # 2022 Sparseloop build: a flattened dimension covers one loop


@dataclass(frozen=True)
class DataspaceFormats:
    """One dataspace: per storage level (innermost first), None where it is bypassed."""

    model: DensityModel
    ranks: tuple[LevelRanks | None, ...]
    tiles: tuple[TileFormat | None, ...]


@dataclass(frozen=True)
class FormatAnalysis:
    dataspaces: dict[str, DataspaceFormats]

    def at(self, ds: str, level: int) -> TileFormat | None:
        return self.dataspaces[ds].tiles[level]


def format_inputs(spec: Spec, confidence: float = 1.0, flatten_once: bool = False) -> FormatInputs:
    """Collect the hashable inputs of :func:`analyse_formats` from a spec with a mapping."""
    problem, arch = spec.problem, spec.arch
    if spec.mapping is None:
        raise ValueError("format analysis needs a mapping")
    models = []
    for ds in problem.dataspaces:
        extents = tuple(1 + sum(t.coef * (problem.bounds[t.dim] - 1) for t in rank) for rank in ds.ranks)
        models.append(model_for(problem.density_of(ds.name), problem.tensor_size(ds), extents))
    spatial = tuple(fx * fy > 1 for fx, fy in (arch.fanout(i) for i in range(len(arch.storage))))
    formats = tuple(tuple(spec.sparse.at(level.name).formats.get(ds.name) for level in arch.storage)
                    for ds in problem.dataspaces)
    return FormatInputs(problem.dims, problem.bounds, problem.dataspaces, tuple(models), spec.mapping, spatial,
                        tuple(MetadataStorage.of(level) for level in arch.storage), formats, float(confidence),
                        flatten_once)


def analyse_formats(spec: Spec, confidence: float = 1.0, flatten_once: bool = False) -> FormatAnalysis:
    """Rank structures and tile formats of every dataspace at every storage level."""
    return analyse_inputs(format_inputs(spec, confidence, flatten_once))


@lru_cache(maxsize=1024)
def analyse_inputs(inp: FormatInputs) -> FormatAnalysis:
    """:func:`analyse_formats` on collected inputs (cached)."""
    problem = Problem(name="", dims=inp.dims, bounds=inp.bounds, dataspaces=inp.dataspaces)
    names = tuple(s.name for s in inp.storage)
    out: dict[str, DataspaceFormats] = {}
    for di, ds in enumerate(inp.dataspaces):
        reps = inp.formats[di]
        ranks = match_ranks(problem, inp.mapping, inp.spatial_levels, reps, ds.name, names, inp.flatten_once)
        tiles: list[TileFormat | None] = []
        for li, lr in enumerate(ranks):
            if lr is None:
                tiles.append(None)
                continue
            parent = next((p for p in range(li + 1, len(ranks)) if ranks[p] is not None), None)
            parent_md = parent is not None and ranks[parent] is not None and ranks[parent].has_metadata
            tiles.append(tile_format(inp.models[di], lr, _bits(reps[li], inp.storage[li], ds.name),
                                     parent_has_metadata=parent_md, confidence=inp.confidence))
        out[ds.name] = DataspaceFormats(inp.models[di], ranks, tuple(tiles))
    return FormatAnalysis(out)


def _bits(rep: Representation | None, storage: MetadataStorage, ds: str) -> tuple[RankBits, ...]:
    if rep is None or not rep.ranks:
        return (RankBits(0, 0),)
    n = len(rep.ranks)
    return tuple(rank_bits(rep.ranks[n - 1 - r], storage, f"'{ds}' rank {r} at '{storage.name}'")
                 for r in range(n))
