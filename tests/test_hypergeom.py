"""The hypergeometric pmf against Boost.Math's own results, bit for bit.

``tests/fixtures/hypergeom_boost.json`` is written by ``tools/boost_hypergeom/regen_fixture.py``
from the C++ library (as Timeloop calls it); these tests never need Boost themselves.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from sparsesweep.engine import density as dm
from sparsesweep.engine import hypergeom as hg
from sparsesweep.engine.hypergeom.lanczos import lanczos_sum
from sparsesweep.errors import SpecError

FIXTURE = Path(__file__).parent / "fixtures" / "hypergeom_boost.json"


@pytest.fixture(scope="module")
def boost() -> dict:
    return json.loads(FIXTURE.read_text())


def method(total: int) -> str:
    return "factorial" if total <= hg.FACTORIAL_LIMIT else "prime" if total <= hg.PRIME_LIMIT else "lanczos"


def fixture_shapes(data: dict, which: str) -> list[dict]:
    return [s for s in data["points"] if method(s["N"]) == which]


def test_fixture_covers_every_method_and_edge(boost):
    shapes = boost["points"]
    assert {method(s["N"]) for s in shapes} == {"factorial", "prime", "lanczos"}
    assert {method(s["N"]) for s in boost["supports"]} >= {"prime", "lanczos"}
    limits = {s["N"] for s in shapes}
    assert {hg.FACTORIAL_LIMIT, hg.FACTORIAL_LIMIT + 1, hg.PRIME_LIMIT, hg.PRIME_LIMIT + 1} <= limits
    assert any(s["r"] == 0 for s in shapes) and any(s["r"] == s["N"] for s in shapes)
    assert any(s["n"] == s["N"] for s in shapes) and any(s["n"] == 1 for s in shapes)
    assert boost["boost"]["max_factorial"] == str(hg.FACTORIAL_LIMIT)
    assert boost["boost"]["prime_limit"] == str(hg.PRIME_LIMIT)


@pytest.mark.parametrize("which", ["factorial", "prime", "lanczos"])
def test_pmf_points_bit_exact(boost, which):
    """Every stored value, evaluated per (n, N) over vectors of (r, k) as the engine does."""
    groups: dict[tuple[int, int], list[tuple[int, int, float]]] = {}
    for shape in fixture_shapes(boost, which):
        for k, p in zip(shape["k"], shape["p"]):
            groups.setdefault((shape["n"], shape["N"]), []).append((shape["r"], k, float.fromhex(p)))
    wrong = []
    for (n, total), rows in groups.items():
        r, k, want = (np.array(col) for col in zip(*rows))
        got = hg.pmf(r, n, total, k)
        wrong += [(int(a), n, total, int(b), g.hex(), w.hex()) for a, b, g, w in zip(r, k, got, want) if g != w]
    assert not wrong, f"{len(wrong)} values differ from Boost (r, n, N, k, ours, Boost): {wrong[:5]}"


def test_support_ends_and_outside(boost):
    for shape in boost["points"]:
        r, n, total = shape["r"], shape["n"], shape["N"]
        low, high = max(0, n + r - total), min(n, r)
        if shape["k"][0] == low and shape["k"][-1] == high:
            outside = hg.pmf(r, n, total, np.array([low - 1, high + 1]))
            assert (outside == 0).all()


def test_full_supports_hash_and_timeloop_mean(boost):
    """Whole supports (up to 70000 values) hash like Boost's, and the expected occupancy summed
    k = 0, 1, ... in double (Timeloop's loop, via the density model) is the same double."""
    for entry in boost["supports"]:
        r, n, total = entry["r"], entry["n"], entry["N"]
        ks, probs = hg.support(r, n, total)
        assert ks.size == entry["size"]
        digest = hashlib.sha256(np.ascontiguousarray(probs, dtype="<f8").tobytes()).hexdigest()
        assert digest == entry["sha256"], (r, n, total)
        model = dm.DensityModel("hypergeometric", r / total, total, nnz=r)
        assert dm.expected_occupancy(model, n) == float.fromhex(entry["mean"]), (r, n, total)


def test_p_empty_vector_matches_points(boost):
    """P(empty) over a vector of marked counts equals the per-point Boost values (k = 0)."""
    by_shape: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for shape in boost["points"]:
        if shape["k"] == [0]:
            by_shape.setdefault((shape["n"], shape["N"]), []).append((shape["r"], float.fromhex(shape["p"][0])))
    assert len(by_shape) >= 5
    for (n, total), pairs in by_shape.items():
        rs = np.array([r for r, _ in pairs])
        assert (hg.p_empty(n, total, rs) == np.array([p for _, p in pairs])).all(), (n, total)
        assert (dm._hypergeom_p_empty(n, total, rs) == np.array([p for _, p in pairs])).all()


def test_factorial_table_and_lanczos_sums_are_boosts(boost):
    from sparsesweep.engine.hypergeom import _FACTORIALS

    assert [v.tobytes()[:10].hex() for v in _FACTORIALS] == boost["factorials_raw"]
    for raw_z, raw_sum in boost["lanczos_sum_raw"].items():
        z = np.frombuffer(bytes.fromhex(raw_z) + bytes(6), dtype=np.longdouble)[0]
        assert lanczos_sum(np.array([int(z)]))[0].tobytes()[:10].hex() == raw_sum, int(z)


def test_close_to_exact_combinatorics():
    """Independent of the fixture: every method stays within its expected error of the exact value."""
    for r, n, total, tol in ((40, 60, 150, 1e-15), (3000, 500, 9000, 1e-14), (300000, 2000, 900000, 1e-11)):
        mean = n * r // total
        ks = np.arange(mean - 5, mean + 6)
        got = hg.pmf(r, n, total, ks)
        for k, g in zip(ks, got):
            exact = Fraction(math.comb(r, int(k)) * math.comb(total - r, n - int(k)), math.comb(total, n))
            assert abs(g - float(exact)) <= tol * float(exact)


def test_density_model_uses_the_boost_values(boost):
    """The density model's tile distribution is the Boost pmf with zero entries dropped."""
    shape = next(s for s in fixture_shapes(boost, "lanczos") if s["k"][0] == 0 and len(s["k"]) > 20)
    model = dm.DensityModel("hypergeometric", shape["r"] / shape["N"], shape["N"], nnz=shape["r"])
    dist = dm.occupancy_distribution(model, shape["n"])
    want = {k: float.fromhex(p) for k, p in zip(shape["k"], shape["p"]) if float.fromhex(p) > 0}
    got = dict(zip(dist.values.tolist(), dist.probs.tolist()))
    assert all(got[k] == p for k, p in want.items())
    assert dm.prob_empty(model, shape["n"]) == float.fromhex(shape["p"][0])


def test_read_only_cached_support():
    ks, probs = hg.support(10, 20, 100)
    assert hg.support(10, 20, 100)[1] is probs
    with pytest.raises(ValueError):
        probs[0] = 1.0


def test_too_large_tensor_is_a_clear_error():
    with pytest.raises(SpecError, match="32-bit"):
        hg.pmf(1, 1, 1 << 33, 0)
