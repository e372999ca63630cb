"""Sparsity schemes and the sparsity -> N:M rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsesweep.errors import SpecError
from sparsesweep.specs import NM, check_sparsity, coordinate_bits, load_scheme, nm_for_sparsity
from sparsesweep.specs.scheme import DENSITY_TOLERANCE, MAX_M

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sparsity, pattern", [
    (0.5, "2:4"), (0.667, "2:6"), (0.6667, "2:6"), (0.75, "2:8"),   # the STC-flexible family
    (0.6, "2:5"), (0.8, "2:10"), (0.875, "2:16"),                  # other N = 2 patterns
    (0.9, "1:10"), (0.25, "3:4"), (0.3, "7:10"),                   # N = 2 impossible: smallest M
])
def test_nm_rule(sparsity, pattern):
    assert str(nm_for_sparsity(sparsity)) == pattern


def test_zero_sparsity_is_dense():
    assert nm_for_sparsity(0.0) is None


@pytest.mark.parametrize("sparsity", [0.66, 0.97, 0.001])
def test_sparsities_without_a_close_pattern_are_rejected(sparsity):
    with pytest.raises(SpecError) as exc:
        nm_for_sparsity(sparsity)
    text = exc.value.one_line()
    assert text.startswith("--sparsity:") and "no N:M pattern" in text and "nearest is" in text


def test_nearest_pattern_prefers_n_2():
    with pytest.raises(SpecError, match=r"nearest is 2:6 "):
        nm_for_sparsity(0.66)


def test_patterns_restrict_the_choice():
    patterns = [NM(2, 4), NM(2, 8)]
    assert nm_for_sparsity(0.75, patterns) == NM(2, 8)
    with pytest.raises(SpecError, match="among 2:4, 2:8"):
        nm_for_sparsity(0.667, patterns)


@given(st.floats(min_value=0.0, max_value=0.99, allow_nan=False))
def test_any_chosen_pattern_is_within_tolerance(sparsity):
    try:
        nm = nm_for_sparsity(sparsity)
    except SpecError:
        return
    if sparsity == 0:
        assert nm is None
        return
    assert nm is not None and 1 <= nm.n < nm.m <= MAX_M
    assert abs(nm.density - (1 - sparsity)) <= DENSITY_TOLERANCE


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_must_give_a_density_in_0_1(value):
    with pytest.raises(SpecError):
        check_sparsity(value)


def test_nm_parse():
    assert NM.parse("2:4") == NM(2, 4) and NM(2, 4).density == 0.5
    for bad, message in (("6:4", "N > M"), ("2-4", "is not N:M"), ("0:4", "N < 1")):
        with pytest.raises(ValueError, match=message):
            NM.parse(bad)


@pytest.mark.parametrize("m, bits", [(4, 2), (6, 3), (8, 3), (16, 4), (2, 1)])
def test_coordinate_bits_are_ceil_log2_m(m, bits):
    assert coordinate_bits(m) == bits


def test_shipped_schemes():
    kinds = {}
    for path in sorted((REPO / "sparse_opt").glob("*.yaml")):
        scheme = load_scheme(path)
        assert scheme.name == path.stem
        kinds[scheme.name] = (scheme.kind, scheme.saf, scheme.topology)
    assert kinds["dense"] == ("dense", "skipping", "stc")
    assert kinds["structured"] == ("structured", "skipping", "stc")
    assert kinds["structured_gating"][1] == "gating"
    assert kinds["unstructured"] == ("unstructured", "skipping", "dstc")
    assert load_scheme(REPO / "sparse_opt" / "structured_rle.yaml").weights_format == "RLE"
    assert load_scheme(REPO / "sparse_opt" / "unstructured_position_skipping.yaml").position_skipping


@pytest.mark.parametrize("body, expected", [
    ("kind: dense\nweight_format: CP\n", "weight_format has no meaning for a dense scheme"),
    ("kind: structured\nweight_format: B\n", "structured weights use CP or RLE"),
    ("kind: unstructured\nactivation_format: RLE\n", "unstructured designs use bitmask (B)"),
    ("kind: unstructured\nnm_patterns: ['2:4']\n", "only structured schemes have N:M patterns"),
    ("kind: structured\nsaf: clock_gating\n", "did you mean 'gating'?"),
    ("kind: structured\nactivation_density: 0\n", "a density must lie in (0, 1] (got 0)"),
])
def test_scheme_option_errors(tmp_path, body, expected):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\n" + body)
    with pytest.raises(SpecError) as exc:
        load_scheme(path)
    assert expected in exc.value.one_line() and "s.yaml:" in exc.value.one_line()


# ---- activation patterns (structured dual side) ---------------------------------------------------

from sparsesweep.specs.scheme import ACT_BLOCK_SIZES, act_nm_for_sparsity  # noqa: E402


@pytest.mark.parametrize("sparsity, k_block, pattern", [
    (0.5, 32, "2:4"), (0.667, 48, "2:6"), (0.75, 64, "2:8"),      # the study's act = weight points
    (0.25, 32, "3:4"), (0.625, 64, "3:8"), (0.875, 128, "2:16"),
    (0.333, 24, "4:6"), (0.5, 20, "2:4"), (0.8333, 96, "1:6"),
])
def test_activation_patterns_use_hardware_blocks_dividing_the_weights_block(sparsity, k_block, pattern):
    nm = act_nm_for_sparsity(sparsity, k_block)
    assert str(nm) == pattern
    assert nm.m in ACT_BLOCK_SIZES and k_block % nm.m == 0


@given(st.floats(min_value=0.01, max_value=0.99), st.sampled_from([16, 20, 24, 32, 48, 64, 96, 128, 160]))
def test_an_activation_pattern_is_a_hardware_block_within_tolerance_or_an_error(sparsity, k_block):
    try:
        nm = act_nm_for_sparsity(sparsity, k_block)
    except SpecError as exc:
        assert "nearest:" in str(exc) and "--act-sparsity" in str(exc)
        return
    assert nm.m in ACT_BLOCK_SIZES and k_block % nm.m == 0
    assert abs(nm.density - (1 - sparsity)) <= DENSITY_TOLERANCE


@pytest.mark.parametrize("sparsity, k_block, nearest", [
    (0.3, 32, ["0.3125 (11:16)", "0.25 (3:4)"]),      # 7:10 would need M = 10
    (0.444, 32, ["0.4375 (9:16)", "0.5 (2:4)"]),      # 5:9 would need M = 9
    (0.667, 32, ["0.6875 (5:16)", "0.625 (3:8)"]),    # 2:6 does not divide a 2:4 weight block
    (0.2, 20, ["0.25 (3:4)"]),                        # 4:5 weights: only M = 4 fits their block of 20
])
def test_inexpressible_activation_sparsity_names_the_nearest_patterns(sparsity, k_block, nearest):
    with pytest.raises(SpecError) as err:
        act_nm_for_sparsity(sparsity, k_block)
    text = str(err.value)
    assert text.count("\n") == 0 and text.startswith("--act-sparsity")
    for item in nearest:
        assert item in text


def test_activation_kind_unstructured_needs_a_structured_scheme_and_bitmask(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nkind: unstructured\nactivation_kind: structured\n")
    with pytest.raises(SpecError, match="activation_kind"):
        load_scheme(path)
    path.write_text("name: s\nkind: structured\nactivation_kind: unstructured\nactivation_format: CP\n")
    with pytest.raises(SpecError, match="activation_format"):
        load_scheme(path)
    path.write_text("name: s\nkind: dense\nactivation_kind: unstructured\n")
    with pytest.raises(SpecError, match="activation_kind"):
        load_scheme(path)
    shipped = load_scheme(REPO / "sparse_opt" / "structured_dualcompress.yaml")
    assert shipped.kind == "structured" and shipped.activations_kind == "unstructured"
    assert load_scheme(REPO / "sparse_opt" / "structured.yaml").activations_kind == "structured"
