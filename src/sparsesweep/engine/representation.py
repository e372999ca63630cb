"""Representation analysis of a whole evaluation point: every dataspace at every level.

:func:`analyse_formats` ties :mod:`.density`, :mod:`.rankmatch` and :mod:`.formats`
together for a parsed :class:`~sparsesweep.tl.spec.Spec`.  The result is cached on the
hashable inputs it depends on (problem shape, densities, mapping, formats, metadata
storage), so re-evaluating the same point costs a dictionary look-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from ..tl.mapping import Mapping
from ..tl.problem import DataSpace, Problem
from ..tl.sparse import Representation
from ..tl.spec import Spec
from .complete import CompleteNest, build_complete_nest, spatial_beyond_fanout
from .density import DensityModel, model_for
from .formats import MetadataStorage, RankBits, TileFormat, rank_bits, tile_format
from .rankmatch import LevelRanks, RankFormat, match_ranks, rank_format, rank_nest


@dataclass(frozen=True)
class FormatStatic:
    """The spec's part of the inputs: problem shape, densities, formats, metadata storage."""

    dims: tuple[str, ...]
    bounds: tuple[int, ...]
    dataspaces: tuple[DataSpace, ...]
    models: tuple[DensityModel, ...]  # per dataspace
    spatial_levels: tuple[bool, ...]  # per storage level: fans out (has a spatial tiling level)
    storage: tuple[MetadataStorage, ...]  # per storage level
    formats: tuple[tuple[Representation | None, ...], ...]  # per dataspace, per storage level
    rank_formats: tuple[tuple[RankFormat, ...], ...] = field(compare=False)  # the formats, summarised
    # word bits per (dataspace, level), worked out on first use (an error surfaces where it did)
    _word_bits: dict[tuple[int, int], tuple[RankBits, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __hash__(self) -> int:  # every mapping of a spec hashes this part again: compute it once
        return self._hash

    def word_bits(self, di: int, li: int) -> tuple[RankBits, ...]:
        """Word bits of every rank of dataspace ``di``'s format at storage level ``li``."""
        found = self._word_bits.get((di, li))
        if found is None:
            found = self._word_bits[(di, li)] = _bits(self.formats[di][li], self.storage[li],
                                                      self.dataspaces[di].name)
        return found

    @cached_property
    def level_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.storage)

    @cached_property
    def problem(self) -> Problem:
        """The problem shape (no densities) the rank matching works on."""
        return Problem(name="", dims=self.dims, bounds=self.bounds, dataspaces=self.dataspaces)

    @cached_property
    def _hash(self) -> int:
        return hash((self.dims, self.bounds, self.dataspaces, self.models, self.spatial_levels, self.storage,
                     self.formats))


@dataclass(frozen=True)
class FormatInputs:
    """The hashable part of a spec (with its mapping) that the representation analysis depends on."""

    static: FormatStatic
    mapping: Mapping
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
    nest: CompleteNest  # the mapping's complete nest, as the SAF analyses walk it

    def at(self, ds: str, level: int) -> TileFormat | None:
        return self.dataspaces[ds].tiles[level]


def format_static(spec: Spec) -> FormatStatic:
    """Collect the mapping-independent inputs of :func:`analyse_formats` from a spec."""
    problem, arch = spec.problem, spec.arch
    models = []
    for ds in problem.dataspaces:
        extents = ds.extents(problem.bounds)
        models.append(model_for(problem.density_of(ds.name), problem.tensor_size(ds), extents))
    spatial = tuple(fx * fy > 1 for fx, fy in (arch.fanout(i) for i in range(len(arch.storage))))
    formats = tuple(tuple(spec.sparse.at(level.name).formats.get(ds.name) for level in arch.storage)
                    for ds in problem.dataspaces)
    return FormatStatic(problem.dims, problem.bounds, problem.dataspaces, tuple(models), spatial,
                        tuple(MetadataStorage.of(level) for level in arch.storage), formats,
                        tuple(tuple(rank_format(rep, problem.dims) for rep in reps) for reps in formats))


def format_inputs(spec: Spec, confidence: float = 1.0, flatten_once: bool = False) -> FormatInputs:
    """Collect the hashable inputs of :func:`analyse_formats` from a spec with a mapping."""
    from .context import context_for  # the context caches the spec's static part

    if spec.mapping is None:
        raise ValueError("format analysis needs a mapping")
    return FormatInputs(context_for(spec).format_static, spec.mapping, float(confidence), flatten_once)


def analyse_formats(spec: Spec, confidence: float = 1.0, flatten_once: bool = False) -> FormatAnalysis:
    """Rank structures and tile formats of every dataspace at every storage level."""
    return analyse_inputs(format_inputs(spec, confidence, flatten_once))


@lru_cache(maxsize=1024)
def analyse_inputs(inp: FormatInputs) -> FormatAnalysis:
    """:func:`analyse_formats` on collected inputs (cached)."""
    st = inp.static
    problem = st.problem
    names = st.level_names
    nest = build_complete_nest(inp.mapping, len(st.dims), st.spatial_levels)
    ranked = rank_nest(inp.mapping, len(st.dims), st.spatial_levels) if spatial_beyond_fanout(
        inp.mapping, st.spatial_levels) else nest
    out: dict[str, DataspaceFormats] = {}
    for di, ds in enumerate(st.dataspaces):
        ranks = match_ranks(problem, inp.mapping, st.spatial_levels, st.rank_formats[di], ds.name, names,
                            inp.flatten_once, ranked)
        parent_md = [False] * len(ranks)  # the next outer level keeping the tensor has metadata
        for li in range(len(ranks) - 2, -1, -1):
            outer = ranks[li + 1]
            parent_md[li] = outer.has_metadata if outer is not None else parent_md[li + 1]
        tiles = tuple(None if lr is None else
                      tile_format(st.models[di], lr, st.word_bits(di, li), parent_has_metadata=parent_md[li],
                                  confidence=inp.confidence)
                      for li, lr in enumerate(ranks))
        out[ds.name] = DataspaceFormats(st.models[di], ranks, tiles)
    return FormatAnalysis(out, nest)


def _bits(rep: Representation | None, storage: MetadataStorage, ds: str) -> tuple[RankBits, ...]:
    if rep is None or not rep.ranks:
        return (RankBits(0, 0),)
    n = len(rep.ranks)
    return tuple(rank_bits(rep.ranks[n - 1 - r], storage, f"'{ds}' rank {r} at '{storage.name}'")
                 for r in range(n))
