"""Density models: occupancy distributions checked against exact combinatorics."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from sparsesweep.engine import density as dm
from sparsesweep.errors import SpecError
from sparsesweep.tl.problem import Density


def fixed(d: float, size: int = 1 << 20) -> dm.DensityModel:
    return dm.model_for(Density("fixed_structured", d), size)


def hyper(d: float, size: int) -> dm.DensityModel:
    return dm.model_for(Density("hypergeometric", d), size)


def banded(side: int, width: int) -> dm.DensityModel:
    return dm.model_for(Density("banded", 1.0, band_width=width), side * side, (side, side))


def exact_hypergeom(r: int, n: int, total: int) -> dict[int, Fraction]:
    denom = math.comb(total, n)
    return {k: Fraction(math.comb(r, k) * math.comb(total - r, n - k), denom)
            for k in range(max(0, n + r - total), min(n, r) + 1)}


# -- fixed_structured -------------------------------------------------------------------


def test_fixed_integral_tile_is_never_empty() -> None:
    model = fixed(0.5)
    dist = dm.occupancy_distribution(model, (4, 8))
    assert dist.values.tolist() == [16] and dist.probs.tolist() == [1.0]
    assert dm.prob_empty(model, 32) == 0.0
    assert dm.occupancy_by_confidence(model, 32) == 16


def test_fixed_fractional_tile_splits_between_floor_and_ceil() -> None:
    model = fixed(0.25)
    dist = dm.occupancy_distribution(model, 6)  # 1.5 nonzeros on average
    assert dist.values.tolist() == [1, 2]
    assert dist.probs.tolist() == pytest.approx([0.5, 0.5])
    assert dist.expected == pytest.approx(1.5)
    assert dm.occupancy_by_confidence(model, 6) == 2  # worst case: ceil
    assert dm.occupancy_by_confidence(model, 6, 0.5) == 1  # confidence <= P(floor): floor


def test_fixed_scalar_empty_probability_is_one_minus_density() -> None:
    model = fixed(0.3)
    assert dm.prob_empty(model, 1) == pytest.approx(0.7)
    assert dm.expected_density(model, (1,)) == pytest.approx(0.3)
    assert dm.min_occupancy(model, 1) == 0


def test_fixed_conditional_uses_the_parent_density() -> None:
    model = fixed(0.5)
    # a 64-point parent holding k nonzeros gives a 2-point sub-tile 2*k/64 nonzeros
    got = dm.conditional_prob_empty(model, 2, 64, np.array([0, 8, 16, 32, 64]))
    want = [1.0, 1 - 2 * 8 / 64, 1 - 2 * 16 / 64, 0.0, 0.0]
    assert got.tolist() == pytest.approx(want)


# -- hypergeometric -----------------------------------------------------------------------


def test_hypergeometric_nonzero_count_is_ceil_of_density_times_size() -> None:
    model = hyper(0.56, 1000)
    assert model.nnz == math.ceil(0.56 * 1000)
    assert model.name == "hypergeometric"


@pytest.mark.parametrize("n", [1, 7, 40, 150])
def test_hypergeometric_matches_exact_pmf(n: int) -> None:
    model = hyper(0.37, 200)
    r = model.nnz
    dist = dm.occupancy_distribution(model, n)
    exact = exact_hypergeom(r, n, 200)
    got = dict(zip(dist.values.tolist(), dist.probs.tolist()))
    for k, p in exact.items():
        if float(p) > 1e-300:
            assert got[k] == pytest.approx(float(p), rel=1e-13), k
    assert dist.expected == pytest.approx(n * r / 200, rel=1e-13)
    assert dm.prob_empty(model, n) == pytest.approx(float(exact.get(0, 0)), rel=1e-13, abs=1e-300)
    assert dm.occupancy_by_confidence(model, n) == min(n, r)


@pytest.mark.parametrize("confidence", [0.1, 0.5, 0.9, 0.999])
def test_hypergeometric_occupancy_by_confidence_is_the_quantile(confidence: float) -> None:
    model = hyper(0.37, 200)
    n = 40
    cdf = 0
    for k, p in sorted(exact_hypergeom(model.nnz, n, 200).items()):
        cdf += p
        if cdf >= Fraction(confidence):
            break
    assert dm.occupancy_by_confidence(model, n, confidence) == k


def test_hypergeometric_support_starts_above_zero_when_the_tile_is_large() -> None:
    model = hyper(0.9, 100)  # 90 nonzeros: a 50-point tile holds at least 40
    dist = dm.occupancy_distribution(model, 50)
    assert dist.support_min == 40 == dm.min_occupancy(model, 50)
    assert dist.values[0] >= 40 and dist.p_empty == 0.0


def test_hypergeometric_is_stable_for_large_tensors() -> None:
    model = hyper(0.56, 1 << 20)
    dist = dm.occupancy_distribution(model, 1 << 19)
    assert np.all(np.isfinite(dist.probs)) and np.all(dist.probs > 0)
    assert float(dist.probs.sum()) == pytest.approx(1.0, abs=1e-12)
    assert dist.expected == pytest.approx((1 << 19) * model.nnz / (1 << 20), rel=1e-12)
    whole = dm.occupancy_distribution(model, 1 << 20)
    assert whole.values.tolist() == [model.nnz] and whole.probs.tolist() == [1.0]


def test_hypergeometric_conditional_empty_matches_combinatorics() -> None:
    model = hyper(0.5, 10_000)
    ks = np.array([0, 1, 5, 30, 56, 57, 64])
    got = dm.conditional_prob_empty(model, 8, 64, ks)
    want = [math.comb(64 - k, 8) / math.comb(64, 8) if 64 - k >= 8 else 0.0 for k in ks.tolist()]
    assert got.tolist() == pytest.approx(want, rel=1e-14, abs=1e-300)
    # a large parent: the long product is taken along the shorter side
    big = dm.conditional_prob_empty(model, 3000, 200_000, np.array([10, 500]))
    want_big = [math.exp(sum(math.log1p(-3000 / (200_000 - j)) for j in range(k))) for k in (10, 500)]
    assert big.tolist() == pytest.approx(want_big, rel=1e-12)


# -- banded -------------------------------------------------------------------------------


def brute_banded(side: int, width: int, a: int, b: int) -> dict[int, float]:
    idx = np.arange(side)
    band = (np.abs(idx[:, None] - idx[None, :]) <= width).astype(int)
    counts = band.reshape(side // a, a, side // b, b).sum(axis=(1, 3)).ravel()
    values, freq = np.unique(counts, return_counts=True)
    return {int(v): f / counts.size for v, f in zip(values, freq)}


@pytest.mark.parametrize("side,width,a,b", [(8, 1, 2, 2), (8, 0, 2, 2), (12, 2, 3, 4), (16, 3, 4, 2), (8, 1, 1, 1)])
def test_banded_matches_brute_force(side: int, width: int, a: int, b: int) -> None:
    model = banded(side, width)
    assert model.nnz == sum(1 for i in range(side) for j in range(side) if abs(i - j) <= width)
    assert model.name == f"banded-{width}"
    dist = dm.occupancy_distribution(model, (a, b))
    assert dict(zip(dist.values.tolist(), dist.probs.tolist())) == pytest.approx(brute_banded(side, width, a, b))
    assert dist.expected == pytest.approx(model.nnz * a * b / side ** 2)


def test_banded_confidence_walks_down_from_the_largest_occupancy() -> None:
    model = banded(8, 1)  # 2x2 tiles: 0 (6/16), 1 (6/16), 4 (4/16)
    assert dm.occupancy_by_confidence(model, (2, 2)) == 4
    assert dm.occupancy_by_confidence(model, (2, 2), 0.7) == 1
    assert dm.occupancy_by_confidence(model, (2, 2), 0.3) == 0


def test_banded_conditional_empty_counts_sub_tiles_of_a_representative_tile() -> None:
    model = banded(8, 0)  # diagonal: a 4x4 diagonal block holds 4, its 2x2 sub-tiles: 2 of 4 empty
    assert dm.conditional_prob_empty(model, (2, 2), (4, 4), np.array([4, 0])).tolist() == [0.5, 1.0]


def test_representation_walks_occupancies_from_timeloops_minimum() -> None:
    # fixed: floor(1 / 49 * 49) = 0 in doubles, so the walk starts at 0 (the true minimum is 1)
    window = dm.representation_window(fixed(0.03), 49)
    assert window.support_min == 0 and window.values.tolist() == [1, 2]
    # hypergeometric, a 1-point tile of a dense 2-point tensor: 1 - 2 wraps around, 2**64 converts to 0
    assert dm.occupancy_distribution(hyper(1.0, 2), 1).support_min == 1
    assert dm.representation_window(hyper(1.0, 2), 1).support_min == 0
    # a 49-point tile of 98 with 59 nonzeros: the wrapped minimum lies above every occupancy
    window = dm.representation_window(hyper(0.6, 98), 49)
    assert window.values.size == 0 and window.expected == 0.0
    # a tile that can be empty, and the whole tensor, keep the true minimum
    assert dm.representation_window(hyper(0.5, 100), 10).support_min == 0
    assert dm.representation_window(hyper(0.9, 100), 100).support_min == 90


def test_banded_needs_a_square_matrix() -> None:
    with pytest.raises(SpecError, match="square 2-D"):
        dm.model_for(Density("banded", 1.0, band_width=1), 12, (3, 4))
    with pytest.raises(SpecError, match="divide"):  # Timeloop asserts that conditioned tiles divide the side
        dm.conditional_prob_empty(banded(8, 1), (1, 1), (3, 3), np.array([1]))


def test_banded_tile_larger_than_the_matrix_is_refused() -> None:
    with pytest.raises(SpecError, match="larger than the 4x4"):
        dm.occupancy_distribution(banded(4, 1), (8, 1))


def test_banded_tile_that_does_not_divide_the_side_leaves_the_remainder_out() -> None:
    model = banded(6, 1)  # 4x1 tiles: one row group (rows 0-3) of 6 columns with 2, 3, 3, 2, 1, 0 band points
    dist = dm.occupancy_distribution(model, (4, 1))
    assert dict(zip(dist.values.tolist(), dist.probs.tolist())) == pytest.approx({0: 1 / 6, 1: 1 / 6, 2: 2 / 6, 3: 2 / 6})


def test_banded_counts_warm_up_rows_twice_and_one_row_for_the_steady_state() -> None:
    # 6x6, band 3, 2x2 tiles: 3 row groups, 2 warm-up groups (counted twice each, for the mirrored
    # bottom rows) and no steady-state group: Timeloop's shares add up to 12/9, not 1
    dist = dm.occupancy_distribution(banded(6, 3), (2, 2))
    assert dict(zip(dist.values.tolist(), dist.probs.tolist())) == pytest.approx({1: 2 / 9, 4: 10 / 9})


def test_banded_conditional_sub_tiles_start_at_twice_the_representative_offset() -> None:
    # 8x8, band 1, 2x2 parents: the first with 1 band point is at (0, 2); master's 1x1 sub-tiles of it
    # start at column 4 and are one column wide minus the offset, so none holds a point
    assert dm.conditional_prob_empty(banded(8, 1), (1, 1), (2, 2), np.array([1, 4])).tolist() == [1.0, 0.0]


# -- conditioning and caching -----------------------------------------------------------


def test_nonempty_conditioning_drops_the_empty_tiles() -> None:
    cond = dm.condition_nonempty(dm.occupancy_distribution(fixed(0.5), 1))
    assert cond.kept_fraction == pytest.approx(0.5)
    assert cond.occupancy.probs.tolist() == [0.0, 1.0]
    assert cond.occupancy.expected == 1.0


def test_nonempty_conditioning_leaves_never_empty_tiles_alone() -> None:
    dist = dm.occupancy_distribution(fixed(0.5), 64)
    cond = dm.condition_nonempty(dist)
    assert cond.kept_fraction == 1.0 and cond.occupancy is dist


def test_results_are_cached_and_read_only() -> None:
    model = hyper(0.4, 5000)
    first = dm.occupancy_distribution(model, (10, 10))
    assert dm.occupancy_distribution(model, (10, 10)) is first
    with pytest.raises(ValueError):
        first.probs[0] = 1.0
