"""Representation formats: rank matching, per-rank units, word bits, access counts (hand cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import GEMM_SHAPE
from sparsesweep.engine.density import DensityModel, model_for
from sparsesweep.engine.formats import (
    CapacityUse,
    MetadataStorage,
    RankBits,
    adjust_word_bits,
    check_capacity,
    compressed_accesses,
    format_accesses,
    rank_bits,
    rank_units,
    vector_access_ratio,
)
from sparsesweep.engine.rankmatch import LevelRanks, RankSlot
from sparsesweep.engine.representation import analyse_formats
from sparsesweep.errors import MappingError, SpecError
from sparsesweep.inputs import bundle_from_text
from sparsesweep.tl import load_spec
from sparsesweep.tl.problem import Density
from sparsesweep.tl.sparse import Rank

ARCH = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - name: Backing
      class: DRAM
      attributes: {{width: 64, datawidth: 8, metadata_storage_width: 8, metadata_datawidth: 4}}
    subtree:
    - name: PE{pes}
      local:
      - name: Buffer
        class: storage
        subclass: regfile_metadata
        attributes: {{depth: 4096, width: 8, datawidth: 8, metadata_storage_depth: 4096,
                     metadata_storage_width: 8, metadata_datawidth: 4}}
      - name: MAC
        class: compute
        attributes: {{datawidth: 8}}
{GEMM_SHAPE}
  instance:
    M: {M}
    N: {N}
    K: {K}
    densities:
      A: {{distribution: {dist}, density: {density}}}
mapping:
{mapping}
sparse_optimizations:
  targets:
{targets}
"""


def spec_of(mapping: str, targets: str, *, M: int = 4, N: int = 1, K: int = 8, pes: str = "",
            dist: str = "fixed_structured", density: float = 0.5):
    text = ARCH.format(GEMM_SHAPE=GEMM_SHAPE, mapping=mapping, targets=targets, M=M, N=N, K=K, pes=pes, dist=dist, density=density)
    return load_spec(bundle_from_text(text), need_energy=False)


def format_a(level: str, ranks: str, order: str = "outer_to_inner") -> str:
    return f"""
  - name: {level}
    representation_format:
      data_spaces:
      - name: A
        rank_application_order: {order}
        ranks: {ranks}
"""


def buffer_a(ranks: str, order: str = "outer_to_inner") -> str:
    return format_a("Buffer", ranks, order)


def two_level(buffer: str, backing: str) -> str:
    """A mapping with the given Buffer and Backing temporal factors/permutations."""
    return (f"- {{target: Buffer, type: temporal, {buffer}}}\n"
            f"- {{target: Backing, type: temporal, {backing}}}\n")


MAP_MK = two_level("factors: M4 N1 K8, permutation: KMN", "factors: M1 N1 K1, permutation: MNK")


# -- rank matching and units ------------------------------------------------------------


def test_uop_over_cp_outer_to_inner() -> None:
    tf = analyse_formats(spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: CP}]"))).at("A", 0)
    # rank 1 (UOP) <- M4: 1 fiber x (4+1) offsets; rank 0 (CP) <- K8: 4 fibers x ceil(8 x 0.5) coordinates
    assert tf.formats == ("cp", "uop")
    assert tf.capacity_units == ((16, 0), (0, 5))
    assert tf.expected_units == ((16.0, 0.0), (0.0, 5.0))
    assert tf.data_capacity == 16 and tf.compressed and tf.expected_density == 0.5
    # 64 reads of the 32-point tile read every unit twice
    assert tf.format_accesses(64) == ((32, 0), (0, 10))
    assert tf.metadata_bits(((32, 0), (0, 10))) == 32 * 4 + 10 * 4


def test_bitmask_run_length_and_uncompressed_bitmask_units() -> None:
    spec = spec_of(MAP_MK, buffer_a("[{format: B}, {format: RLE}]"))
    tf = analyse_formats(spec).at("A", 0)
    # B <- M4: metadata = one bit per position (4); payload = ceil(4 x (1 - P(8-point row empty)))
    # RLE <- K8: 4 fibers x 8 x (1 - 0.5) runs, no ceil; rank 0 has no payload
    assert tf.capacity_units == ((16, 0), (4, 4))
    assert tf.bits[1] == RankBits(1, 4)  # B metadata defaults to 1 bit; payload to metadata_datawidth
    tf = analyse_formats(spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: UB}]"))).at("A", 0)
    assert tf.capacity_units == ((32, 0), (0, 5))
    # UB keeps every position (uncompressed) but has metadata: only the nonzeros are stored
    assert tf.has_metadata and not tf.compressed
    cp = analyse_formats(spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: CP}]"))).at("A", 0)
    assert tf.data_capacity == cp.data_capacity < tf.tile_points


def test_inner_to_outer_turns_extra_outer_ranks_into_dummies() -> None:
    ranks = "[{format: UOP}, {format: UOP}, {format: UOP}, {format: CP}]"
    tf = analyse_formats(spec_of(MAP_MK, buffer_a(ranks, "inner_to_outer"))).at("A", 0)
    assert tf.capacity_units == ((16, 0), (0, 5), (0, 0), (0, 0))


def test_outer_to_inner_extra_ranks_sit_inside_and_the_lowest_real_rank_has_no_payload() -> None:
    mapping = two_level("factors: M4 N1 K1, permutation: KMN", "factors: M1 N1 K1, permutation: MNK")
    tf = analyse_formats(spec_of(mapping, buffer_a("[{format: UOP}, {format: CP}]"), K=1)).at("A", 0)
    # the top rank (UOP) takes M4; the inner CP rank is a dummy; UOP points at the data: no payload
    assert tf.capacity_units == ((0, 0), (0, 0))


def test_a_single_dummy_top_rank_still_holds_its_coordinate() -> None:
    mapping = two_level("factors: M1 N8 K1, permutation: NMK", "factors: M4 N1 K8, permutation: MNK")
    tf = analyse_formats(spec_of(mapping, buffer_a("[{format: CP}]"), N=8)).at("A", 0)
    assert tf.tile_points == 1 and tf.capacity_units == ((1, 0),)


def test_flattened_rank_takes_consecutive_loops() -> None:
    ranks = "[{format: UOP}, {format: CP, flattened_rankIDs: [[M, K]]}]"
    tf = analyse_formats(spec_of(MAP_MK, buffer_a(ranks))).at("A", 0)
    # the top UOP rank takes M4, so the flattening rule of the inner CP rank only finds K8 left
    assert tf.capacity_units == ((16, 0), (0, 5))
    ranks = "[{format: CP, flattened_rankIDs: [[M, K]]}]"
    tf = analyse_formats(spec_of(MAP_MK, buffer_a(ranks))).at("A", 0)
    assert tf.capacity_units == ((16, 0),)  # one 32-coordinate fiber holding 16 nonzeros


def test_more_loops_than_ranks_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="more format ranks"):
        analyse_formats(spec_of(MAP_MK, buffer_a("[{format: CP}]")))


def test_child_factors_fold_into_the_innermost_loop_of_the_same_dimension() -> None:
    mapping = two_level("factors: M1 N1 K2, permutation: KMN", "factors: M4 N1 K4, permutation: KMN")
    analysis = analyse_formats(spec_of(mapping, format_a("Backing", "[{format: UOP}, {format: UOP}]")))
    ranks = analysis.dataspaces["A"].ranks[1]
    # Backing (uncompressed, no pre-tiling): K4 x the child's K2 = K8 on the inner rank, M4 on the outer
    assert [r.loops for r in ranks.ranks] == [((2, 8),), ((0, 4),)]
    assert [r.fiber_shape for r in ranks.ranks] == [8, 4]
    assert analysis.at("A", 1).capacity_units == ((0, 0), (0, 5))


def test_compressed_parent_pre_tiles_its_child_ranks() -> None:
    mapping = two_level("factors: M1 N1 K8, permutation: KMN", "factors: M4 N1 K1, permutation: MKN")
    targets = format_a("Backing", "[{format: UOP}, {format: CP}]") + buffer_a("[{format: CP}]")
    analysis = analyse_formats(spec_of(mapping, targets))
    backing = analysis.dataspaces["A"].ranks[1]
    assert backing.pre_tiled and backing.ranks[0].loops == ((2, 8),) and backing.ranks[1].loops == ((0, 4),)
    assert analysis.at("A", 1).capacity_units == ((16, 0), (0, 5))
    with pytest.raises(MappingError, match="pre-tile"):
        analyse_formats(spec_of(mapping, targets.replace("[{format: UOP}, {format: CP}]", "[{format: RLE}]")))


def test_children_of_a_metadata_level_are_conditioned_on_being_non_empty() -> None:
    mapping = two_level("factors: M1 N1 K1, permutation: KMN", "factors: M4 N1 K8, permutation: KMN")
    targets = format_a("Backing", "[{format: UOP}, {format: CP}]") + buffer_a("[{format: CP}]")
    analysis = analyse_formats(spec_of(mapping, targets, density=0.25))
    scalar = analysis.at("A", 0)
    assert scalar.instance_scale == pytest.approx(0.25) and scalar.expected_density == 1.0
    assert analysis.at("A", 1).instance_scale == 1.0


def test_rank_units_follow_the_hypergeometric_conditioning() -> None:
    model = model_for(Density("hypergeometric", 0.5), 64)
    # an M2 x K4 tile: rank 1 (UOP) over M, rank 0 (CP) over K
    slots = (RankSlot("cp", ((2, 4),), 4, (1, 4)), RankSlot("uop", ((0, 2),), 2, (2, 4)))
    ranks = LevelRanks(0, "A", True, True, False, False, slots, (1, 1), (2, 4))
    units = rank_units(model, ranks, np.array([0, 1, 8]))
    assert units[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]  # an empty tile has no fibers
    # one nonzero in 8 points: its M row is non-empty (1 fiber) and holds 1 coordinate
    assert units[1].tolist() == [[1.0, 0.0], [0.0, 3.0]]
    assert units[2].tolist() == [[8.0, 0.0], [0.0, 3.0]]


# -- word bits, accesses, capacity, vectors -----------------------------------------------


def storage(width: int, default: int = 4, bits: int | None = 1024, words: int | None = 256) -> MetadataStorage:
    return MetadataStorage("Buffer", default, width, bits, words)


def test_word_bits_default_bump_and_overflow() -> None:
    assert adjust_word_bits(None, storage(8), "x") == 4
    assert adjust_word_bits(3, storage(8), "x") == 4  # bumped to a divisor of the width
    assert adjust_word_bits(5, storage(8), "x") == 8
    assert adjust_word_bits(0, storage(0, 0), "x") == 0
    assert rank_bits(Rank("b"), storage(8), "x") == RankBits(1, 4)
    with pytest.raises(SpecError, match="exceed the metadata storage width"):
        adjust_word_bits(2, storage(0, 0), "x")


def test_access_counts() -> None:
    assert format_accesses(((3.5, 0.0), (0.0, 5.0)), 10, 4) == ((9, 0), (0, 13))
    assert format_accesses(((1.0, 1.0),), 7, 0) == ((0, 0),)
    assert compressed_accesses(524288, 0.5) == 262144
    assert compressed_accesses(7, 0.3) == 7 - math.floor(7 * 0.7)


def test_capacity_check() -> None:
    check_capacity(CapacityUse(256, 1024, storage(8)))
    with pytest.raises(MappingError, match="need 257 words"):
        check_capacity(CapacityUse(257, 0, storage(8)))
    with pytest.raises(MappingError, match="metadata"):
        check_capacity(CapacityUse(10, 1025, storage(8)))
    check_capacity(CapacityUse(10**9, 10**9, storage(8, bits=None, words=None)))


def test_vector_access_ratio() -> None:
    model: DensityModel = model_for(Density("hypergeometric", 0.3), 4096)
    assert vector_access_ratio(model, (64,), 0.3, 4, compressed=False) == 1.0
    assert vector_access_ratio(model, (64,), 0.3, 64, compressed=True) == 1.0  # outside the table
    assert vector_access_ratio(model, (4096,), 0.3, 4, compressed=True) == 1.0  # large tile
    from sparsesweep.engine.density import occupancy_distribution

    dist = occupancy_distribution(model, 64)
    want = sum(math.ceil(k / 4) * p for k, p in zip(dist.values.tolist(), dist.probs.tolist()) if k) / (64 * 0.3 / 4)
    assert vector_access_ratio(model, (64,), 0.3, 4, compressed=True) == pytest.approx(want)
    assert vector_access_ratio(model, (64,), 0.3, 4, compressed=True) > 1.0


def test_vector_access_ratio_of_a_fixed_structured_tile() -> None:
    # 64 points at density 0.1 hold 6 (p 0.6) or 7 (p 0.4) nonzeros: 2 blocks of 4 either way,
    # against 64 x 0.1 / 4 = 1.6 blocks for a perfectly packed tile
    model = model_for(Density("fixed_structured", 0.1), 1 << 16)
    assert vector_access_ratio(model, (8, 8), 0.1, 4, compressed=True) == pytest.approx(2 / 1.6)
