"""Large tensors: the Lanczos approximation of the nine factorials of the pmf.

Each factorial ``a!`` is ``((a + g + 1/2) / e)^(a + 1/2) * S(a + 1)`` with ``S`` the
exp(g)-scaled Lanczos sum (17 terms for a 64-bit mantissa, g = 12.2252...).  The nine
``base^power`` terms are first folded into each other -- the largest power repeatedly gives
up the second largest, whose base takes the product -- until one power above 1 is left; equal
powers are then merged, the powers taken with ``powl``/``sqrt``, and the Lanczos sums applied.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .longdouble import HALF, LD, LD_MIN, ONE, ld_exact, repeat_multiply

G = LD(12.2252227365970611572265625)  # a double in the C++ source, exact here
_NUM = np.array([ld_exact(Fraction(s)) for s in (
    "2715894658327.717377557655133124376674911", "3590179526097.912105038525528721129550434",
    "2223966599737.814969312127353235818710172", "856940834518.9562481809925866825485883417",
    "229885871668.749072933597446453399395469", "45526171687.54610815813502794395753410032",
    "6884887713.165178784550917647709216424823", "811048596.1407531864760282453852372777439",
    "75213915.96540822314499613623119501704812", "5509245.417224265151697527957954952830126",
    "317673.5368435419126714931842182369574221", "14268.27989845035520147014373320337523596",
    "489.3618720403263670213909083601787814792", "12.38941330038454449295883217865458609584",
    "0.2183627389504614963941574507281683147897", "0.002393749522058449186690627996063983095463",
    "0.1229541408909435212800785616808830746135e-4")], dtype=LD)
_DEN = np.array([0, 1307674368000, 4339163001600, 6165817614720, 5056995703824, 2706813345600,
                 1009672107080, 272803210680, 54631129553, 8207628000, 928095740, 78558480,
                 4899622, 218400, 6580, 120, 1], dtype=LD)
_SIGNS = np.array([-1, -1, -1, -1, 1, 1, 1, 1, 1], dtype=np.int64)  # e^-1 for numerators
_POS = np.arange(9)


def lanczos_sum(z: np.ndarray) -> np.ndarray:
    """The exp(g)-scaled Lanczos sum at integer ``z >= 1``: a rational function of degree 16
    in Horner's scheme for even and odd powers apart, in ``z`` (z <= 1) or ``1/z``."""
    z = np.asarray(z, dtype=np.int64)
    values, inverse = np.unique(z, return_inverse=True)
    zl = values.astype(LD)
    out = np.empty(zl.shape, dtype=LD)
    small = zl <= ONE
    out[small] = _rational(zl[small], zl[small] * zl[small], range(16, -1, -1))
    big = zl[~small]
    out[~small] = _rational(ONE / big, ONE / (big * big), range(17))
    return out[inverse].reshape(z.shape)


def _rational(z: np.ndarray, z2: np.ndarray, order: range) -> np.ndarray:
    a, b, c = _NUM, _DEN, list(order)  # c[0] goes with the highest power of z2
    t0, t1 = a[c[0]] * z2 + a[c[2]], a[c[1]] * z2 + a[c[3]]
    t2, t3 = b[c[0]] * z2 + b[c[2]], b[c[1]] * z2 + b[c[3]]
    for i in range(4, 16, 2):
        t0, t1 = t0 * z2 + a[c[i]], t1 * z2 + a[c[i + 1]]
        t2, t3 = t2 * z2 + b[c[i]], t3 * z2 + b[c[i + 1]]
    t0, t2 = t0 * z2 + a[c[16]], t2 * z2 + b[c[16]]
    return (t0 + t1 * z) / (t2 + t3 * z)


def pdf_lanczos(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """The pmf in long double for occupancies ``x`` with marked counts ``r`` (same shape).

    Per value, nine (base, power, e-factor) terms in slots for the factorials of n, r, N-n,
    N-r (numerators) and N, x, n-x, r-x, N-n-r+x (denominators).  ``twice`` holds the powers
    (multiples of 1/2) doubled as integers, sorted largest first, ``slot`` where each sits.
    """
    args = np.stack(np.broadcast_arrays(n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x),
                    axis=1).astype(np.int64)
    bases = (args.astype(LD) + G) + HALF
    bases[:, 4:] = ONE / bases[:, 4:]
    efac = np.repeat(_SIGNS[None, :], x.size, axis=0)
    twice = 2 * args + 1
    slot = np.argsort(-twice, axis=1, kind="stable")  # stable, descending
    twice = np.take_along_axis(twice, slot, 1)
    zero = np.zeros(x.size, dtype=bool)
    _fold(twice, slot, bases, efac, zero)
    _merge_equal_powers(twice, slot, bases, efac, zero)
    terms = np.take_along_axis(bases, slot, 1) * np.exp(np.take_along_axis(efac, slot, 1).astype(LD))
    powers = twice.astype(LD) / 2
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        result = np.power(terms[:, 0], powers[:, 0])
        for j in range(1, 9):
            on = (twice[:, j] > 0) & ~zero  # merged powers left zeros in between
            zero |= on & (result < LD_MIN)
            on &= ~zero
            t, p, w = terms[on, j], powers[on, j], twice[on, j]
            result[on] *= np.where(w == 2, t, np.where(w == 1, np.sqrt(t), np.power(t, p)))
        s = lanczos_sum(args + 1)
        result = result * (s[:, 0] * s[:, 1] * s[:, 2] * s[:, 3] / (s[:, 4] * s[:, 5] * s[:, 6] * s[:, 7] * s[:, 8]))
    result[zero] = 0
    return result


def _fold(twice: np.ndarray, slot: np.ndarray, bases: np.ndarray, efac: np.ndarray, zero: np.ndarray) -> None:
    """Subtract the second largest power from the largest until the second largest is <= 1,
    the base of the second taking the product; then move the first entry to its sorted place.

    A pair that repeats (the largest stays largest) is done as one run of ``m`` steps; the
    base still takes ``m`` separate roundings.  A base under the smallest normal long double
    with a nonzero power makes the pmf 0.
    """
    rows = np.arange(twice.shape[0])
    key = twice * 16 + slot  # power and slot in one integer; keys order like the powers
    flat_bases, flat_efac = bases.reshape(-1), efac.reshape(-1)  # views: rows of 9
    while rows.size:
        e0, e1, s0, s1 = key[:, 0] >> 4, key[:, 1] >> 4, key[:, 0] & 15, key[:, 1] & 15
        times = np.where(e1 > 2, np.maximum(1, -(-e0 // np.maximum(e1, 1)) - 1), 1)
        e0 = e0 - times * e1
        at0, at1 = rows * 9 + s0, rows * 9 + s1
        flat_bases[at1], low = repeat_multiply(flat_bases[at1], flat_bases[at0], times)
        tiny = low & (e1 != 0)
        flat_efac[at1] += times * flat_efac[at0]
        first = e0 * 16 + s0
        count = (key[:, 1:] >= (e0 * 16)[:, None]).sum(axis=1)  # passes every power >= its own
        key = np.where(_POS < count[:, None], np.concatenate((key[:, 1:], first[:, None]), axis=1), key)
        key[np.arange(rows.size), count] = first
        done = tiny | ((key[:, 1] >> 4) <= 2)
        twice[rows[done]], slot[rows[done]] = key[done] >> 4, key[done] & 15
        zero[rows[tiny]] = True
        rows, key = rows[~done], key[~done]


def _merge_equal_powers(twice: np.ndarray, slot: np.ndarray, bases: np.ndarray, efac: np.ndarray,
                        zero: np.ndarray) -> None:
    """Multiply together the bases of equal nonzero powers, from the smallest power upwards."""
    top = 8 - np.argmax(twice[:, ::-1] != 0, axis=1)  # position of the smallest nonzero power
    for j in range(8, 0, -1):
        same = (j <= top) & (twice[:, j - 1] == twice[:, j])
        if not same.any():
            continue
        if j == 1 and (same & ~zero).any():
            raise RuntimeError("hypergeometric pmf: two equal leading powers, a case the reference "
                               "implementation leaves undefined")
        rows, hi, lo = np.flatnonzero(same), slot[same, j], slot[same, j - 1]
        bases[rows, lo] *= bases[rows, hi]
        twice[same, j] = 0
        efac[rows, lo] += efac[rows, hi]
