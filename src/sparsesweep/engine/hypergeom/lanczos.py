"""Large tensors: the Lanczos approximation of the nine factorials of the pmf.

Each factorial ``a!`` is ``((a + g + 1/2) / e)^(a + 1/2) * S(a + 1)`` with ``S`` the
exp(g)-scaled Lanczos sum (17 terms for a 64-bit mantissa, g = 12.2252...).  The nine
``base^power`` terms are first folded into each other -- the largest power repeatedly gives
up the second largest, whose base takes the product -- until one power above 1 is left; equal
powers are then merged, the powers taken with ``powl``/``sqrt``, and the Lanczos sums applied.

Values are processed together as (9, values) arrays (the folding in :mod:`.fold`).  Lanczos
sums are cached in blocks of consecutive arguments (the density model asks about runs of
marked counts and occupancies, and the same runs for several tile sizes).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from .fold import fold
from .longdouble import HALF, LD, ONE, ld_exact, tiny

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


_BLOCK = 2048  # Lanczos sums are cached in blocks of consecutive arguments


@lru_cache(maxsize=1024)
def _sum_block(block: int) -> np.ndarray:
    """Lanczos sums at ``z = block * _BLOCK ...`` (read-only; z = 0, never asked for, is NaN)."""
    z = np.arange(max(1, block * _BLOCK), (block + 1) * _BLOCK, dtype=np.int64)
    out = np.full(_BLOCK, np.nan, dtype=LD)
    out[_BLOCK - z.size:] = lanczos_sum(z)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4096)
def _sum_at(z: int) -> np.longdouble:
    """One Lanczos sum (arguments shared by a whole call: n, N, N - n, ...)."""
    return lanczos_sum(np.array([z]))[0]


def lanczos_sums(z: np.ndarray) -> np.ndarray:
    """``lanczos_sum`` of an integer (9, m) array, row by row: a constant row once, rows of
    nearby values from the block cache, a widely spread row directly."""
    out = np.empty(z.shape, dtype=LD)
    for i, row in enumerate(z):
        lo, hi = int(row.min()), int(row.max())
        first, last = lo // _BLOCK, hi // _BLOCK
        if lo == hi:
            out[i] = _sum_at(lo)
        elif last - first <= 2 + 2 * row.size // _BLOCK:
            table = np.concatenate([_sum_block(b) for b in range(first, last + 1)])
            out[i] = table[row - first * _BLOCK]
        else:
            out[i] = lanczos_sum(row)
    return out


_EXP_SPAN = 1024


@lru_cache(maxsize=1)
def _exp_table() -> np.ndarray:
    """``expl`` of the integers -_EXP_SPAN .. _EXP_SPAN (the e-factors of the terms)."""
    return np.exp(np.arange(-_EXP_SPAN, _EXP_SPAN + 1).astype(LD))


def _exp_int(e: np.ndarray) -> np.ndarray:
    """``expl(e)`` for integers ``e``: table look-ups, the same values ``np.exp`` gives."""
    inside = np.abs(e) <= _EXP_SPAN
    if inside.all():
        return _exp_table()[e + _EXP_SPAN]
    out = np.exp(e.astype(LD))
    out[inside] = _exp_table()[e[inside] + _EXP_SPAN]
    return out


def pdf_lanczos(x: np.ndarray, r: np.ndarray, n: int, total: int) -> np.ndarray:
    """The pmf in long double for occupancies ``x`` with marked counts ``r`` (same shape).

    Per value, nine (base, power, e-factor) terms in slots for the factorials of n, r, N-n,
    N-r (numerators) and N, x, n-x, r-x, N-n-r+x (denominators), held as (9, values) arrays.
    """
    args = np.stack(np.broadcast_arrays(n, r, total - n, total - r, total, x, n - x, r - x, total - n - r + x)
                    ).astype(np.int64)
    bases = np.empty(args.shape, dtype=LD)
    for i, row in enumerate(args):  # (a + g) + 1/2, inverted for the denominators
        constant = bool((row == row[0]).all())
        value = (LD(int(row[0])) if constant else row.astype(LD)) + G + HALF
        bases[i] = ONE / value if i >= 4 else value
    efac = np.repeat(_SIGNS[:, None], x.size, axis=1)
    twice, slot, zero = fold(2 * args + 1, bases, efac)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        result = _apply_powers(twice, slot, bases.reshape(-1), efac.reshape(-1), zero)
        s = lanczos_sums(args + 1)
        result = result * (s[0] * s[1] * s[2] * s[3] / (s[4] * s[5] * s[6] * s[7] * s[8]))
    result[zero] = 0
    return result


def _apply_powers(twice: np.ndarray, slot: np.ndarray, flat_bases: np.ndarray, flat_efac: np.ndarray,
                  zero: np.ndarray) -> np.ndarray:
    """``(base e^efac)^power`` multiplied in sorted order: ``powl`` for the first, then a
    plain product for power 1, ``sqrt`` for 1/2 and ``powl`` otherwise, over nonzero powers.
    A running product below the smallest normal long double marks the value as 0."""
    m = zero.size
    cols = np.arange(m)
    at = slot[0] * m + cols
    result = np.power(flat_bases[at] * _exp_int(flat_efac[at]), twice[0].astype(LD) / 2)
    for j in range(1, 9):
        on = (twice[j] > 0) & ~zero
        zero |= on & tiny(result)
        idx = np.flatnonzero(on & ~zero)
        if not idx.size:
            continue
        w = twice[j, idx]
        at = slot[j, idx] * m + idx
        term = flat_bases[at] * _exp_int(flat_efac[at])
        half, other = w == 1, w > 2
        term[half] = np.sqrt(term[half])
        term[other] = np.power(term[other], w[other].astype(LD) / 2)
        result[idx] *= term
    return result
