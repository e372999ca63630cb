"""The portable hypergeometric stand-in (platforms without x87 long double) agrees with the exact port."""

from __future__ import annotations

import numpy as np
import pytest

from sparsesweep.engine import hypergeom

with pytest.warns(RuntimeWarning, match="not x87 extended precision"):
    from sparsesweep.engine import hypergeom_portable


@pytest.mark.parametrize("r, n, total", [(100, 50, 1000), (73401, 64, 131072), (3, 7, 150), (5000, 4096, 20000)])
def test_support_agrees_with_the_exact_pmf(r, n, total):
    ks, exact = hypergeom.support(r, n, total)
    pks, approx = hypergeom_portable.support(r, n, total)
    lookup = dict(zip(pks.tolist(), approx.tolist()))
    assert np.allclose([lookup[k] for k in ks.tolist()], exact, rtol=1e-9, atol=1e-300)
    assert approx.sum() == pytest.approx(1.0, rel=1e-9)


def test_p_empty_agrees_with_the_exact_pmf():
    r = np.arange(0, 300)
    assert np.allclose(hypergeom_portable.p_empty(16, 1000, r), hypergeom.p_empty(16, 1000, r), rtol=1e-9, atol=0)
    assert hypergeom_portable.p_empty(900, 1000, np.array([200]))[0] == 0.0
