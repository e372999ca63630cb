"""The Lanczos method's folding of nine powers into each other, for many values at once.

Per value, nine terms ``base^power`` (powers are multiples of 1/2, held doubled as odd
integers, ``twice``) sit in slots 0..8.  The reference keeps the slot indices sorted by power,
largest first (the initial sort is stable), and repeats::

    power[first] -= power[second]; base[second] *= base[first]; efac[second] += efac[first]
    move first down past every entry whose power is >= its own
    until the second largest power is <= 1 (twice <= 2)

then multiplies together the bases of equal nonzero powers, from the smallest power upwards.

Here the sorted order is a (9, rows) array of keys ``twice << 4 | slot`` (one column per
value, positions top-down), so each step is a handful of whole-array operations over the
values still folding.  A pair that repeats (the first stays first) is done as one step of
``times`` multiplications, each still rounded on its own.  A base that falls below the
smallest normal long double marks the value as 0.
"""

from __future__ import annotations

import numpy as np

from .longdouble import repeat_multiply

# Sort keys: twice << 24 | age << 4 | (15 - slot), ordered like the reference's positions.
# ``age`` falls with every step, so an entry moved later sorts after equal powers moved
# earlier (the reference moves an entry past its equals); at the start, equal powers keep
# slot order (its sort is stable).  Keys are unique within a value.
_SHIFT, _FRESH = 24, (1 << 20) - 1
_DONE = 3 << _SHIFT  # a second key below this has twice <= 2


def fold(twice: np.ndarray, bases: np.ndarray, efac: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold and merge; ``twice`` (9, m) holds the doubled powers by slot, ``bases`` (9, m) and
    ``efac`` (9, m) (C-contiguous) are updated in place.  Returns the doubled powers and slots
    in their final order (9, m) and the values found to be 0."""
    m = twice.shape[1]
    slots = np.arange(9, dtype=np.int64)[:, None]
    key = -np.sort(-((twice << _SHIFT) | (_FRESH << 4) | (15 - slots)), axis=0)
    if (key[1] < _DONE).any():  # the powers of N and of max(n, N - n) exceed 1
        raise RuntimeError("hypergeometric pmf: a second largest power <= 1 before folding")
    buffers = (np.empty_like(key), np.empty_like(key))  # the insertion writes to the one key is not in
    final = np.empty_like(key)
    zero = np.zeros(m, dtype=bool)
    rows = np.arange(m)
    at_base = rows + 15 * m  # flat index of (slot, value) is at_base - (15 - slot) * m
    flat_bases, flat_efac = bases.reshape(-1), efac.reshape(-1)
    for age in range(_FRESH - 1, 0, -1):
        if not rows.size:
            break
        k0, k1 = key[0], key[1]
        e0, e1 = k0 >> _SHIFT, k1 >> _SHIFT
        times = (e0 - 1) // e1  # the longest run that keeps the first entry first, at least 1
        np.maximum(times, 1, out=times)
        at0, at1 = at_base - (k0 & 15) * m, at_base - (k1 & 15) * m
        flat_bases[at1], low = repeat_multiply(flat_bases[at1], flat_bases[at0], times)
        flat_efac[at1] += times * flat_efac[at0]
        e0 -= times * e1
        moved = (e0 << _SHIFT) | (k0 & 15) | (age << 4)
        # insert the first entry at its sorted place among the others (keys are unique):
        # position j takes max(key[j + 1], min(moved, key[j])).
        new = buffers[1 if key.base is buffers[0] else 0][:, :rows.size]
        np.minimum(key, moved, out=new)
        np.maximum(new[:8], key[1:], out=new[:8])
        key = new
        done = key[1] < _DONE
        done |= low
        if done.any():
            ended = np.flatnonzero(done)
            final[:, rows[ended]] = key[:, ended]
            zero[rows[low]] = True
            keep = ~done
            rows, at_base, key = rows[keep], at_base[keep], key[:, keep]
    else:
        raise RuntimeError("hypergeometric pmf: the Lanczos folding did not end")
    twice, slot = final >> _SHIFT, 15 - (final & 15)
    _merge_equal_powers(twice, slot, flat_bases, flat_efac, zero)
    return twice, slot, zero


def _merge_equal_powers(twice: np.ndarray, slot: np.ndarray, flat_bases: np.ndarray, flat_efac: np.ndarray,
                        zero: np.ndarray) -> None:
    """Multiply together the bases of equal nonzero powers, from the smallest power upwards
    (the emptied powers become 0 and are skipped later)."""
    m = twice.shape[1]
    top = 8 - np.argmax(twice[::-1] != 0, axis=0)  # position of the smallest nonzero power
    for j in range(8, 0, -1):
        same = (j <= top) & (twice[j - 1] == twice[j])
        if not same.any():
            continue
        if j == 1 and (same & ~zero).any():
            raise RuntimeError("hypergeometric pmf: two equal leading powers, a case the reference "
                               "implementation leaves undefined")
        cols = np.flatnonzero(same)
        lo, hi = slot[j - 1, cols] * m + cols, slot[j, cols] * m + cols
        flat_bases[lo] *= flat_bases[hi]
        flat_efac[lo] += flat_efac[hi]
        twice[j, cols] = 0
