"""Compute-level sparsity: split the remaining computes into random, gated and skipped.

Each of the two read-only operands is, per compute, either existing and nonzero (ENZ),
existing and zero (EZ: stored uncompressed) or not existing (NE: compressed away).  A
storage SAF that reached the compute level conditions the *other* operand on its leader
being nonempty.  Gating turns EZ/NE pairs into gated computes, skipping turns NE pairs
into skipped computes; NE,NE pairs never happen.  Rounding is Sparseloop's: gated and
skipped are floored, random takes the rest.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..errors import SpecError


def round6(x: float) -> float:
    """``x`` rounded to 6 decimals as Sparseloop rounds it: C ``round(1e6 * x) / 1e6``, halves
    away from zero (Python's ``round`` takes halves to even: 0.3515625 -> 0.351562, not 0.351563)."""
    v = 1_000_000 * x
    r = math.floor(v)
    if v - r >= 0.5:
        r += 1
    return r / 1_000_000


class Operand(NamedTuple):
    name: str
    density: float  # expected density of a scalar (rounded to 6 decimals)
    has_metadata: bool  # at the innermost level that keeps it
    saf_prob: float | None  # storage SAF probability that reached compute, if any


class ComputeSplit(NamedTuple):
    random: int
    gated: int
    skipped: int


def _states(op: Operand, other: Operand) -> tuple[float, float, float]:
    """(ENZ, EZ, NE) of ``op``, conditioned on ``other``'s SAF when it reached compute."""
    d = op.density
    if other.saf_prob is not None and other.saf_prob < 1.0:
        d = op.density / (1.0 - other.saf_prob)
    enz = d
    rest = 1.0 - d
    ez, ne = (0.0, rest) if op.has_metadata else (rest, 0.0)
    out = []
    for value in (enz, ez, ne):
        if value < -1e-5 or value > 1.0 + 1e-5:
            raise SpecError(f"operand state probability {value:.6f} of '{op.name}' is outside [0, 1]",
                            key="sparse_optimizations",
                            fix="check the SAFs and densities of the compute operands")
        out.append(min(max(value, 0.0), 1.0))
    return out[0], out[1], out[2]


def split_computes(total: float, a: Operand, b: Operand, gating: bool, skipping: bool) -> ComputeSplit:
    """Split ``total`` computes given the two operands and the compute optimizations."""
    a_enz, a_ez, a_ne = _states(a, b)
    b_enz, b_ez, b_ne = _states(b, a)
    # Same accumulation order as Sparseloop, so that floors see the same doubles.
    random = gated = skipped = 0.0
    random += total * (a_enz * b_enz)
    cases = (
        (total * (a_enz * b_ez + a_ez * b_enz), False),  # one zero operand
        (total * (a_enz * b_ne + a_ne * b_enz), True),  # one missing operand
        (total * (a_ez * b_ez), False),  # two zero operands
        (total * (a_ez * b_ne + a_ne * b_ez), True),  # one zero, one missing
    )
    for delta, missing in cases:
        if missing and skipping:
            skipped += delta
        elif gating:
            gated += delta
        else:
            random += delta
    nonexistent = total * (a_ne * b_ne)
    s, g = math.floor(skipped), math.floor(gated)
    return ComputeSplit(random=int(total - s - g - math.floor(nonexistent)), gated=g, skipped=s)
