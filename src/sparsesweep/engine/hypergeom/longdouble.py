"""Long double building blocks shared by the three pmf methods.

All arithmetic here is ``numpy.longdouble``, one rounding per operation and in a fixed order,
so that results equal the C++ ones operation for operation.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np

LD = np.longdouble
if np.finfo(LD).nmant != 63 or np.finfo(LD).maxexp != 16384:
    raise RuntimeError("the hypergeometric model needs numpy.longdouble to be x87 80-bit extended "
                       "precision (x86-64 Linux) to reproduce Timeloop's numbers")

LD_MAX = np.finfo(LD).max
LD_MIN = np.finfo(LD).smallest_normal
ONE = LD(1)
HALF = LD(0.5)
_CELLS = 1 << 16  # factors per temporary flat block (1 MiB)


def ld_exact(value: Fraction | int | str) -> np.longdouble:
    """``value`` rounded to the nearest long double, ties to even (as a compiler rounds a literal)."""
    value = Fraction(value)
    if value == 0:
        return LD(0)
    sign, value = (-1, -value) if value < 0 else (1, value)
    shift = value.numerator.bit_length() - value.denominator.bit_length() - 64
    while True:  # scale into [2^63, 2^64)
        scaled = value / 2**shift if shift >= 0 else value * 2**-shift
        if scaled >= 2**64:
            shift += 1
        elif scaled < 2**63:
            shift -= 1
        else:
            break
    mantissa = round(scaled)  # Fraction.__round__: half to even
    if mantissa == 2**64:
        mantissa, shift = 2**63, shift + 1
    high, low = divmod(mantissa, 2**32)
    return LD(sign) * np.ldexp(LD(high) * LD(2**32) + LD(low), shift)


def tiny(values: np.ndarray) -> np.ndarray:
    """``values < LD_MIN`` for nonnegative long doubles, read from the exponent field (a zero
    biased exponent: 0 or subnormal), which is much cheaper than x87 comparisons."""
    values = np.ascontiguousarray(values)
    return values.reshape(-1).view(np.uint16)[4::8].reshape(values.shape) == 0


def repeat_multiply(start: np.ndarray, factor: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``start * factor * factor * ...`` (``times >= 1`` roundings) per element, and whether any
    intermediate product fell below the smallest normal long double.

    Repeated multiplication by one positive factor is monotonic (rounding preserves order), so
    the smallest product is the first or the last one.  Longer chains run as one flat
    ``multiply.reduceat`` over ``[first product, factor, factor, ...]`` segments (a reduction
    that multiplies strictly left to right), in pieces of at most ``_CELLS`` factors.
    """
    times = np.asarray(times, dtype=np.int64)
    with np.errstate(under="ignore", over="ignore"):
        out = start * factor
        many = np.flatnonzero(times > 1)
        low = tiny(out)
        cols, left = many, times[many] - 1  # multiplications still to do
        while cols.size:
            take = np.minimum(left, _CELLS)
            stop = max(1, int(np.searchsorted(np.cumsum(take), _CELLS, side="right")))
            c, t = cols[:stop], take[:stop]
            flat = np.repeat(factor[c], t + 1)
            at = np.cumsum(t + 1) - (t + 1)
            flat[at] = out[c]
            out[c] = np.multiply.reduceat(flat, at)
            left[:stop] -= t
            done = left == 0
            cols, left = cols[~done], left[~done]
        low[many] |= tiny(out[many])
    return out, low


Rule = Callable[[np.ndarray], np.ndarray]


def alternate(result: np.ndarray, first: np.ndarray, first_len: np.ndarray, first_divides: bool,
              first_when: Rule, second: np.ndarray, second_len: np.ndarray, second_when: Rule) -> np.ndarray:
    """Fold two queues of factors into ``result`` the way Boost keeps a product near 1::

        while items are left in either queue:
            while first has items and (first_when(result) or second is empty): apply next first
            while second has items and (second_when(result) or first is empty): multiply next second

    ``first`` / ``second`` are (depth, columns) arrays read top-down up to each column's length;
    the first queue divides instead of multiplying when ``first_divides``.
    """
    cols = np.arange(result.size)
    i = np.zeros(result.size, dtype=np.int64)
    j = np.zeros(result.size, dtype=np.int64)
    in_first = np.ones(result.size, dtype=bool)
    with np.errstate(under="ignore", over="ignore"):
        while True:
            has_first, has_second = i < first_len, j < second_len
            if not (has_first | has_second).any():
                return result
            use_first = in_first & has_first & (first_when(result) | ~has_second)
            use_second = ~in_first & has_second & (second_when(result) | ~has_first)
            a = first[np.minimum(i, first.shape[0] - 1), cols]
            b = second[np.minimum(j, second.shape[0] - 1), cols]
            result = np.where(use_first, result / a if first_divides else result * a, result)
            result = np.where(use_second, result * b, result)
            i += use_first
            j += use_second
            in_first = np.where(use_first | use_second, in_first, ~in_first)
