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


# -- the fast paths against step-by-step references -----------------------------------------

LDT = np.longdouble
LD_MIN = np.finfo(LDT).smallest_normal


def lanczos_reference(x: int, r: int, n: int, total: int) -> np.longdouble:
    """Boost 1.74's Lanczos-method pdf written out one scalar long double step at a time."""
    from sparsesweep.engine.hypergeom.lanczos import G

    args = [n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x]
    bases = [(LDT(a) + G) + LDT(0.5) for a in args]
    bases = bases[:4] + [1 / b for b in bases[4:]]
    expo = [LDT(a) + LDT(0.5) for a in args]
    efac = [-1] * 4 + [1] * 5
    order = sorted(range(9), key=lambda i: -expo[i])  # stable, like the reference's sort of 9

    def bubble_down(start: int) -> None:
        i = start
        while i + 1 < 9 and not expo[order[i]] > expo[order[i + 1]]:
            order[i], order[i + 1] = order[i + 1], order[i]
            i += 1

    with np.errstate(all="ignore"):
        while True:
            a, b = order[0], order[1]
            expo[a] -= expo[b]
            bases[b] *= bases[a]
            if bases[b] < LD_MIN and expo[b] != 0:
                return LDT(0)
            efac[b] += efac[a]
            bubble_down(0)
            if not expo[order[1]] > 1:
                break
        j = 8
        while expo[order[j]] == 0:
            j -= 1
        while j:
            while j and expo[order[j - 1]] == expo[order[j]]:
                bases[order[j - 1]] *= bases[order[j]]
                expo[order[j]] = LDT(0)
                efac[order[j - 1]] += efac[order[j]]
                bubble_down(j)
                j -= 1
            j -= 1

        def term(i: int) -> np.longdouble:
            return bases[i] * np.exp(LDT(efac[i]))

        result = np.power(term(order[0]), expo[order[0]])
        for i in order[1:]:
            if not expo[i] > 0:
                break
            if result < LD_MIN:
                return LDT(0)
            result *= term(i) if expo[i] == 1 else np.sqrt(term(i)) if expo[i] == 0.5 else np.power(term(i), expo[i])
        s = [lanczos_sum(np.array([a + 1]))[0] for a in args]
        return result * (s[0] * s[1] * s[2] * s[3] / (s[4] * s[5] * s[6] * s[7] * s[8]))


def prime_reference(x: int, r: int, n: int, total: int) -> tuple[np.longdouble, int]:
    """Boost's prime-factor pdf one prime at a time, with its partial products; also returns
    how many partial products it used."""
    from sparsesweep.engine.hypergeom.primes import PRIMES, integer_power

    ld_max = np.finfo(LDT).max
    args = (n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x)
    signs = (1, 1, 1, 1, -1, -1, -1, -1, -1)
    partials, value = [], LDT(1)
    with np.errstate(all="ignore"):
        for p in PRIMES[PRIMES <= total].tolist():
            e, q = 0, p
            while q <= total:
                e += sum(s * (a // q) for s, a in zip(signs, args))
                q *= p
            if e:
                f = integer_power(np.array([p]), e)[0]
                if (f > 1 and ld_max / f < value) or (f < 1 and LD_MIN / f > value):
                    partials.append(value)
                    value = f
                else:
                    value *= f
        partials.append(value)
        newest = partials[::-1]
        big, small = [v for v in newest if v >= 1], [v for v in newest if v < 1]
        prod = LDT(1)
        while big or small:
            while big and (prod <= 1 or not small):
                prod *= big.pop(0)
            while small and (prod >= 1 or not big):
                prod *= small.pop(0)
    return prod, len(partials)


def ld_bits(values) -> np.ndarray:
    """The 10 significant bytes of each long double (the rest is padding)."""
    return np.ascontiguousarray(values, dtype=LDT).reshape(-1).view(np.uint8).reshape(-1, 16)[:, :10]


def same_ld(a, b) -> bool:
    return bool((ld_bits(a) == ld_bits(b)).all())


def test_vectorised_lanczos_fold_matches_step_by_step_reference():
    """P(empty | r) runs and support windows, as the density model asks for them."""
    from sparsesweep.engine.hypergeom.lanczos import pdf_lanczos

    rng = np.random.default_rng(7)
    for n, total in ((16, 196608), (64, 294912), (3, 150000)):
        r = np.sort(rng.choice(total // 2, 12, replace=False)) + total // 4
        got = pdf_lanczos(np.zeros(r.size, dtype=np.int64), r, n, total)
        assert all(same_ld(g, lanczos_reference(0, int(v), n, total)) for g, v in zip(got, r)), (n, total)
    for r, n, total in ((294912, 196608, 589824), (50000, 70000, 1000000), (700000, 131072, 2097152)):
        mean = n * r // total
        x = np.arange(mean - 6, mean + 7)
        got = pdf_lanczos(x, np.full(x.size, r), n, total)
        assert all(same_ld(g, lanczos_reference(int(k), r, n, total)) for g, k in zip(got, x)), (r, n, total)


def test_prime_products_with_partial_products_match_reference():
    """Values whose running product leaves the long double range (new partial products) and
    values that stay inside it, against Boost's loop written out prime by prime."""
    from sparsesweep.engine.hypergeom.primes import pdf_prime

    cases = [(16384, 32768, 65536, np.array([8180, 8192, 8200])), (900, 64, 73728, np.array([0, 1, 2])),
             (50000, 50000, 104723, np.array([23870, 23880]))]
    split_seen = False
    for r, n, total, xs in cases:
        got = pdf_prime(lambda v: tuple(np.broadcast_arrays(n, r, total - n, total - r, total, v, n - v, r - v,
                                                             total - n - r + v)), xs, total)
        for g, x in zip(got, xs):
            want, parts = prime_reference(int(x), r, n, total)
            split_seen |= parts > 1
            assert same_ld(g, want), (r, n, total, int(x))
    assert split_seen  # the checked path was exercised


def test_underflow_test_reads_the_exponent_field():
    from sparsesweep.engine.hypergeom.longdouble import tiny

    values = np.array([0, LD_MIN, LD_MIN / 2, np.nextafter(LD_MIN, LDT(0)), 1e-4000, 1, 1e4000], dtype=LDT)
    assert (tiny(values) == (values < LD_MIN)).all()
    assert tiny(values.reshape(7, 1)).shape == (7, 1)


def test_repeat_multiply_rounds_every_step():
    from sparsesweep.engine.hypergeom.longdouble import _CELLS, repeat_multiply

    rng = np.random.default_rng(3)
    start = (rng.random(6) + 0.5).astype(LDT)
    factor = (1 + (rng.random(6) - 0.5) * 1e-6).astype(LDT)
    factor[5] = LDT(1) / 3  # falls below the smallest normal long double on the way
    times = np.array([1, 2, 7, 300, _CELLS + 5, 20000])
    got, low = repeat_multiply(start, factor, times)
    for i in range(6):
        want, went_low = start[i], False
        with np.errstate(all="ignore"):
            for _ in range(int(times[i])):
                want = want * factor[i]
                went_low |= bool(want < LD_MIN)
        assert same_ld(got[i], want) and bool(low[i]) == went_low, i
    assert low[5] and not low[:5].any()


def test_lanczos_sum_blocks_match_direct_sums():
    from sparsesweep.engine.hypergeom.lanczos import lanczos_sums

    z = np.stack([np.full(5, 7), np.arange(2040, 2045), np.array([1, 2, 3, 4, 5]), np.array([9, 3_000_000, 17, 5, 2])])
    assert same_ld(lanczos_sums(z), lanczos_sum(z))


def test_negligible_windows_equal_pairwise_filter():
    """A sorted run of occupancies (or of marked counts) skips the negligible values found by
    bisection; the same pairs in shuffled order are judged pair by pair.  Same doubles."""
    rng = np.random.default_rng(11)
    for r, n, total in ((294912, 196608, 589824), (30000, 5000, 90000), (16384, 32768, 65536), (150, 100, 170)):
        ks, probs = hg.support(r, n, total)
        assert (probs == 0).any() == (total > hg.FACTORIAL_LIMIT) and (probs > 0).any()
        perm = rng.permutation(ks.size)
        shuffled = hg.pmf(r, n, total, ks[perm])
        assert (shuffled == probs[perm]).all(), (r, n, total)
    rs = np.arange(0, 60000)
    run = hg.p_empty(4096, 131072, rs)
    assert (run == 0).any() and (run > 0).any()
    assert (hg.pmf(rs[::-1], 4096, 131072, 0)[::-1] == run).all()


def test_p_empty_runs_are_cached_read_only():
    rs = np.arange(1000, 1200)
    first = hg.p_empty(16, 131072, rs)
    assert hg.p_empty(16, 131072, rs.copy()) is first
    assert (hg.p_empty(16, 131072, rs[::-1]) == first[::-1]).all()
    with pytest.raises(ValueError):
        first[0] = 0.5
