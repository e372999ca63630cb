"""Hypergeometric probabilities where Boost's rounding cannot be reproduced.

:mod:`.hypergeom` repeats Boost.Math's computation in x87 80-bit long double to match
Timeloop bit for bit; numpy only offers that format on x86-64.  Elsewhere this module stands
in with SciPy's double-precision pmf (same values to ~1e-10 relative).  A count that sits
exactly on an integer, like ``total * P(empty)``, can then land one off Timeloop's.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

warnings.warn("numpy.longdouble is not x87 extended precision on this platform: hypergeometric "
              "probabilities are computed in double precision and a few counts may differ from "
              "Timeloop's by one", RuntimeWarning, stacklevel=2)


def support(r: int, n: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Occupancies ``max(0, n+r-N) .. min(n, r)`` and their probabilities."""
    ks = np.arange(max(0, n + r - total), min(n, r) + 1, dtype=np.int64)
    return ks, stats.hypergeom.pmf(ks, total, r, n)


def p_empty(n: int, total: int, r: np.ndarray) -> np.ndarray:
    """P(drawing ``n`` of ``total`` points misses all ``r`` marked ones), elementwise over ``r``."""
    r = np.asarray(r, dtype=np.int64)
    return np.where(n + r <= total, stats.hypergeom.pmf(0, total, r, n), 0.0)
