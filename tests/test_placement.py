"""Format placement and word-bit rules, on hand-made two-level cases (Backing -> Buffer -> MAC).

A tensor is compressed where some rank drops empty coordinates (CP, B, RLE); UOP and UB keep
every position, so a format of only those is uncompressed although it has metadata.  Timeloop
evaluates uncompressed-under-uncompressed and compressed-under-compressed placements, needs
``decompression_supported`` for uncompressed-under-compressed, and aborts on
compressed-under-uncompressed.
"""

from __future__ import annotations

import pytest

from conftest import GEMM_SHAPE
from test_formats import ARCH, MAP_MK, buffer_a, format_a, spec_of
from sparsesweep.engine.formats import RankBits
from sparsesweep.engine.nest import analyse
from sparsesweep.engine.placement import check_placement
from sparsesweep.engine.representation import analyse_formats
from sparsesweep.engine.sparse import direct_counts
from sparsesweep.errors import SpecError
from sparsesweep.inputs import bundle_from_text
from sparsesweep.tl import load_spec


def _spec(targets: str, *, buffer_attrs: str = ""):
    text = ARCH.format(GEMM_SHAPE=GEMM_SHAPE, mapping=MAP_MK, targets=targets, M=4, N=1, K=8, pes="",
                       dist="fixed_structured", density=0.5)
    if buffer_attrs:
        old = "metadata_datawidth: 4}\n      - name: MAC"
        assert old in text
        text = text.replace(old, f"metadata_datawidth: 4, {buffer_attrs}}}\n      - name: MAC")
    return load_spec(bundle_from_text(text), need_energy=False)


def _check(spec) -> None:
    formats = analyse_formats(spec)
    kept = {ds.name: tuple(ds.name in lvl.keep for lvl in spec.mapping.levels) for ds in spec.problem.dataspaces}
    check_placement(spec.arch.storage, {d.name: d.read_write for d in spec.problem.dataspaces}, kept,
                    formats.dataspaces)


UOP_UB = "[{format: UOP}, {format: UB}]"
UOP_CP = "[{format: UOP}, {format: CP}]"


def test_ub_is_uncompressed_metadata():
    tf = analyse_formats(spec_of(MAP_MK, buffer_a(UOP_UB))).at("A", 0)
    assert tf.has_metadata and not tf.compressed


def test_ub_below_a_level_without_format_is_evaluated():
    _check(_spec(buffer_a(UOP_UB)))  # Backing keeps A with no format: no error


def test_compressed_below_an_uncompressed_parent_is_refused():
    spec = _spec(format_a("Backing", UOP_UB) + buffer_a(UOP_CP))
    with pytest.raises(SpecError, match="'A' is compressed at 'Buffer' but its parent level 'Backing' keeps it "
                                        "uncompressed"):
        _check(spec)


def test_uncompressed_below_a_compressed_parent_needs_decompression_support():
    targets = format_a("Backing", UOP_CP) + buffer_a(UOP_UB)
    with pytest.raises(SpecError, match="decompression \\(from parent level\\) needed but not supported"):
        _check(_spec(targets))
    spec = _spec(targets, buffer_attrs="decompression_supported: true")
    assert spec.arch.storage[0].decompression_supported
    _check(spec)
    # the Buffer decompresses every (nonzero) word it is filled with
    nest = analyse(spec.problem, spec.mapping)
    tiles = analyse_formats(spec).dataspaces["A"].tiles
    counts = direct_counts(False, nest.tiles["A"], tiles)
    fills = counts[0][1].random
    assert fills == nest.tiles["A"][0].fills * 0.5 and counts[0][7] == fills


def test_ub_takes_the_level_word_bits_whatever_the_rank_says():
    spec = spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: UB, metadata_word_bits: 2, payload_word_bits: 8}]"))
    assert analyse_formats(spec).at("A", 0).bits[0] == RankBits(4, 4)  # metadata_datawidth 4
    spec = spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: CP, metadata_word_bits: 2}]"))
    assert analyse_formats(spec).at("A", 0).bits[0] == RankBits(2, 4)


def test_hyphenated_payload_word_bits_are_dropped_as_master_drops_them():
    hyphen = spec_of(MAP_MK, buffer_a("[{format: UOP, payload-word-bits: 8}, {format: CP}]"))
    assert analyse_formats(hyphen).at("A", 0).bits[1] == RankBits(4, 4)  # the level's metadata_datawidth
    assert any("'payload-word-bits' is ignored" in w for w in hyphen.sparse.warnings)
    underscore = spec_of(MAP_MK, buffer_a("[{format: UOP, payload_word_bits: 8}, {format: CP}]"))
    assert analyse_formats(underscore).at("A", 0).bits[1] == RankBits(4, 8)
    assert not underscore.sparse.warnings


def test_word_bits_that_do_not_divide_the_metadata_width_are_bumped_with_a_warning():
    spec = spec_of(MAP_MK, buffer_a("[{format: UOP}, {format: CP, metadata_word_bits: 3}]"))
    assert analyse_formats(spec).at("A", 0).bits[0].metadata == 4  # next divisor of the 8-bit width
    assert spec.sparse.warnings == ("'A' at 'Buffer': word bits adjusted from 3 to 4 to divide the 8-bit "
                                    "metadata storage width",)


def test_scalar_densities_round_halves_away_from_zero_as_sparseloop_does():
    from sparsesweep.engine.compute_saf import round6

    # 45 nonzeros of 128 (hypergeometric 0.35): 0.3515625 -> 0.351563 (C round), not 0.351562
    assert round6(45 / 128) == 0.351563
    assert round6(0.25) == 0.25 and round6(1 / 3) == 0.333333 and round6(2 / 3) == 0.666667
