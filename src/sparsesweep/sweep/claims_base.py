"""Shared pieces of the claim checks (:mod:`.claims`, :mod:`.claims_sides`): thresholds, the
per-scope verdict types, and selecting designs and sparsities from the summary table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .acts import dual_act, dual_rows
from .grid import FACTOR_SUFFIX

RATIO_BAND = (1.5, 2.67)  # "~2x": geometric mean of unstructured/structured energy within 2 (x/÷ 4/3)
UP_TO_70 = 0.70  # "up to ~70% sparsity"
AT_75 = 0.745  # "needs >=75%": no win below this sparsity
NEAR_40 = (0.30, 0.50)  # "needs ~40%": break-even sparsity within this band
AT_66 = 0.66  # "at >=66%"
SAME_SKIPS = 0.02  # "the same number": skipped fractions within 2 percentage points
LOWERS = -0.005  # "lowers": at least 0.5% less energy at the largest size than at the smallest
EQUALLY = 0.02  # "equally": relative changes within 2 percentage points
NOTHING = 0.005  # "changes nothing": every relative change within 0.5%
INSIGNIFICANT = 0.02  # "insignificantly": every relative change within 2%
MOST = 0.5  # "most cases": more than half
BREAK_EVEN_STEP = 0.01  # a break-even is "measured" when evaluated points bracket it this tightly
TOL = 1e-9


@dataclass(frozen=True)
class Part:
    """One verdict of a claim: for one side (single / dual), design kind or normalisation."""

    scope: str
    holds: bool | None
    evidence: str
    threshold: str = ""
    points: str = ""  # which points (designs, sparsities, settings) the verdict used


@dataclass(frozen=True)
class ClaimResult:
    holds: bool | None  # every tested part holds: True; any fails: False; none tested: None
    evidence: str
    notes: str = ""
    parts: tuple[Part, ...] = ()


def combine(parts: list[Part], notes: str = "") -> ClaimResult:
    """A claim's overall result from its parts."""
    tested = [p.holds for p in parts if p.holds is not None]
    holds = None if not tested else all(tested)
    evidence = "; ".join(f"{p.scope}: {p.evidence}" for p in parts)
    return ClaimResult(holds, evidence, notes if holds is not True else "", tuple(parts))


def command_adding(sparsities: list[float], extra: str = "") -> str:
    """The command that adds the points a claim needs to the default study."""
    values = ",".join(f"{s:g}" for s in sorted(set(sparsities)))
    return f"`python sweep.py --sparsity {values}{extra}`"


def or_untested(parts: list[Part], needs: str, sparsities: list[float] | None = None) -> list[Part]:
    """``parts``, or when the grid gave none, one untested part for both sides naming what the claim
    needs and the command that adds it (the default study's sparsities unless ``sparsities``)."""
    adding = command_adding(DEFAULT if sparsities is None else sparsities)
    return parts or [Part("single, dual", None, f"not tested: needs {needs}; run {adding}")]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    check: Callable[[pd.DataFrame, Mapping[str, Any]], ClaimResult]
    axis: str | None = None  # the arch parameter the claim varies (None: the reference setting only)


def axis_column(columns: Any, parameter: str) -> str:
    """The column of a swept parameter: its name, or ``<name>_factor`` when swept as multiples."""
    factor = parameter + FACTOR_SUFFIX
    return factor if factor in columns and parameter not in columns else parameter


# ---- selection helpers -------------------------------------------------------------------------

def scheme_of(summary: pd.DataFrame, kind: str) -> str | None:
    names = list(dict.fromkeys(summary.loc[summary["kind"].eq(kind), "scheme"]))
    return kind if kind in names else (names[0] if names else None)


def at_reference(summary: pd.DataFrame, reference: Mapping[str, Any], free: str | None = None) -> pd.DataFrame:
    """Rows whose swept parameters (all but ``free``) sit at their reference values."""
    mask = pd.Series(True, index=summary.index)
    for name, value in reference.items():
        if name != free and name in summary.columns:
            mask &= summary[name].eq(value)
    return summary[mask]


def series(summary: pd.DataFrame, kind: str, sides: str, metric: str) -> pd.Series:
    """``metric`` of complete points of one design, indexed by (nonzero) sparsity."""
    scheme = scheme_of(summary, kind)
    rows = summary[summary["scheme"].eq(scheme) & summary["sides"].eq(sides) & summary["sparsity"].gt(0)
                   & summary["complete"].astype(bool)]
    if sides == "dual" and len(rows):  # one activation setting for every design (see .acts.dual_act)
        rows = dual_rows(rows, dual_act(summary))
    return rows.set_index("sparsity")[metric].astype(float).sort_index()


def break_even(ratios: pd.Series) -> tuple[float | None, str]:
    """Sparsity where ``ratios`` (energy vs dense, by sparsity) crosses 1, and how it was found."""
    pts = [(float(s), float(r)) for s, r in ratios.dropna().items()]
    for (s0, r0), (s1, r1) in zip(pts, pts[1:]):
        if r0 >= 1 > r1 or r0 < 1 <= r1:
            return s0 + (r0 - 1) * (s1 - s0) / (r0 - r1), f"interpolated between {s0:g} and {s1:g}"
    if len(pts) < 2:
        return None, "needs at least two sparsities"
    (s0, r0), (s1, r1) = (pts[0], pts[1]) if pts[0][1] < 1 else (pts[-2], pts[-1])
    slope = (r1 - r0) / (s1 - s0)
    if slope >= 0:
        return None, "energy does not fall with sparsity"
    s = s0 + (1 - r0) / slope
    side = "below" if s < pts[0][0] else "above"
    return (max(s, 0.0), f"extrapolated {side} the swept sparsities") if s < 1 else (None, "no crossing below 1.0")


def _fmt(values: Mapping[float, float], digits: int = 3) -> str:
    return ", ".join(f"{s:g}: {v:.{digits}f}" for s, v in values.items())


def _pair(summary: pd.DataFrame, reference: Mapping[str, Any], metric: str) -> dict[str, pd.DataFrame]:
    """Per sides: structured and unstructured ``metric`` side by side at the shared sparsities."""
    rows = at_reference(summary, reference)
    out = {}
    for sides in ("single", "dual"):
        both = pd.concat({k: series(rows, k, sides, metric) for k in ("structured", "unstructured")}, axis=1).dropna()
        if len(both):
            out[sides] = both
    return out


DEFAULT = [0.0, 0.5, 0.667, 0.75]  # the default study's sparsities (what "not tested" adds to)


def _pts(df: pd.DataFrame, what: str) -> str:
    return f"{what} at " + ", ".join(f"{s:g}" for s in df.index)
