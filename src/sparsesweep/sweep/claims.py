"""The study's claims, each checked against a sweep's network totals (the summary table).

Every claim is a function ``check(summary, reference) -> ClaimResult`` over the summary DataFrame
(:func:`~.tables.summary_frame`) and the reference values of the swept arch parameters (the other
axes are held at these while one varies).  ``holds`` is True or False when the sweep has the
points the claim needs, None when it does not (the evidence says what to add).  The thresholds
that turn "~2x", "~40%", "equally", "nothing" and "insignificantly" into numbers are the constants
below; the report prints them.

"structured" and "unstructured" mean the first swept scheme of that kind (the scheme named
``structured`` / ``unstructured`` when swept); dual-sided points use the activation sparsity that
equals the weight sparsity when swept, else the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
TOL = 1e-9


@dataclass(frozen=True)
class ClaimResult:
    holds: bool | None
    evidence: str
    notes: str = ""


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
    if sides == "dual" and len(rows):
        same = rows[np.isclose(rows["act_sparsity"].astype(float), rows["sparsity"].astype(float))]
        rows = same if len(same) else rows.drop_duplicates("sparsity")
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


# ---- the claims --------------------------------------------------------------------------------

def structured_saves_2x(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    pairs = {sd: df[df.index <= UP_TO_70 + TOL] for sd, df in _pair(summary, reference, "energy_pj").items()}
    pairs = {sd: df for sd, df in pairs.items() if len(df)}
    if not pairs:
        return ClaimResult(None, "not tested: needs structured and unstructured points at a sparsity in (0, 0.7]")
    ratios = pd.concat([df["unstructured"] / df["structured"] for df in pairs.values()])
    gmean = float(np.exp(np.log(ratios).mean()))
    holds = bool(RATIO_BAND[0] <= gmean <= RATIO_BAND[1] and (ratios > 1).all())
    parts = [f"{sd}: " + _fmt((df["unstructured"] / df["structured"]).to_dict(), 2) for sd, df in pairs.items()]
    evidence = (f"unstructured / structured network energy by sparsity: {'; '.join(parts)} "
                f"(geometric mean {gmean:.2f}x; '~2x' = {RATIO_BAND[0]}..{RATIO_BAND[1]}x with structured "
                "always cheaper)")
    notes = "" if holds else ("Unstructured runs on the DSTC arch (per-core LRF feeding a 16x16 MAC array, bitmask "
                              "metadata, its own pinned energies) and pads M and N to the 32x32 core split; structured "
                              "runs on the STC arch. The ratio mixes both differences.")
    return ClaimResult(holds, evidence, notes)


def unstructured_single_needs_75(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    ratios = series(at_reference(summary, reference), "unstructured", "single", "energy_vs_dense")
    if not len(ratios):
        return ClaimResult(None, "not tested: needs unstructured single-sided points")
    below = ratios[ratios.index < AT_75]
    if not len(below):
        return ClaimResult(None, f"not tested: needs a sparsity below 0.75 (energy vs dense: {_fmt(ratios)})")
    wins_below = below[below < 1]
    at = ratios[ratios.index >= AT_75]
    s, how = break_even(ratios)
    where = f"; break-even ~{s:.2f} ({how})" if s is not None else ""
    evidence = f"unstructured single energy vs dense: {_fmt(ratios)}{where}"
    if len(wins_below):
        return ClaimResult(False, evidence, f"it already beats dense at sparsity {wins_below.index[0]:g}.")
    notes = "" if (at < 1).any() else "It does not beat dense at the swept sparsities >= 0.75 either."
    return ClaimResult(True, evidence, notes)


def unstructured_dual_needs_40(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    ratios = series(at_reference(summary, reference), "unstructured", "dual", "energy_vs_dense")
    s, how = break_even(ratios)
    if s is None:
        return ClaimResult(None, f"not tested: no break-even found ({how}); energy vs dense: {_fmt(ratios)}")
    holds = NEAR_40[0] <= s <= NEAR_40[1]
    evidence = (f"unstructured dual energy vs dense: {_fmt(ratios)}; break-even sparsity ~{s:.2f} ({how}; "
                f"'~40%' = {NEAR_40[0]}..{NEAR_40[1]})")
    notes = "Sweep sparsities around 0.3..0.5 to measure the break-even instead of extrapolating." if "extra" in how else ""
    if not holds:
        notes = (notes + " " if notes else "") + ("The break-even is where what DSTC saves per MAC not performed "
                                                  "(shares below) pays for its overheads: bitmask metadata, its own "
                                                  "energies and the padded GEMM.")
    return ClaimResult(holds, evidence, notes)


def unstructured_faster_at_66(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    pairs = {sd: df[df.index >= AT_66 - TOL] for sd, df in _pair(summary, reference, "cycles").items()}
    pairs = {sd: df for sd, df in pairs.items() if len(df)}
    if not pairs:
        return ClaimResult(None, "not tested: needs structured and unstructured points at a sparsity >= 0.66")
    faster = all((df["unstructured"] < df["structured"]).all() for df in pairs.values())
    parts = [f"{sd}: " + _fmt((df["unstructured"] / df["structured"]).to_dict(), 2) for sd, df in pairs.items()]
    evidence = f"unstructured / structured network cycles: {'; '.join(parts)} (< 1 = unstructured faster)"
    notes = "" if faster else ("Cycles follow the MACs each design performs (shares below) and how well its array is "
                               "used: structured skipping removes exactly the zero weights' MACs from the PE lanes; "
                               "unstructured on DSTC performs the share below, on a padded GEMM.")
    return ClaimResult(faster, evidence, notes)


def same_skipped_computes(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """Computes not performed = algorithmic - actual (skipped, gated, or removed by spatial skipping)."""
    frac = summary.assign(skip_fraction=1 - summary["actual_computes"] / summary["algorithmic_computes"])
    pairs = _pair(frac, reference, "skip_fraction")
    if not pairs:
        return ClaimResult(None, "not tested: needs structured and unstructured points at the same sparsity")
    worst = max(float((df["structured"] - df["unstructured"]).abs().max()) for df in pairs.values())
    parts = [f"{sd}: " + ", ".join(f"{s:g}: {r.structured:.1%} vs {r.unstructured:.1%}" for s, r in df.iterrows())
             for sd, df in pairs.items()]
    evidence = (f"computes not performed (1 - actual / algorithmic), structured vs unstructured: {'; '.join(parts)} "
                f"(largest gap {worst:.1%}; 'the same' = within {SAME_SKIPS:.0%})")
    holds = worst <= SAME_SKIPS
    notes = "" if holds else ("Structured designs remove exactly the zero-weight MACs, single or dual: dualCompress "
                              "compresses activations only in DRAM/SMEM and its RF skips on weights alone. Unstructured "
                              "designs skip what their SAFs allow (shares below). Fractions are of each design's own "
                              "padded algorithmic computes.")
    return ClaimResult(holds, evidence, notes)


def _axis_changes(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str,
                  kinds: tuple[str, ...] = ("structured", "unstructured")) -> tuple[dict[tuple[str, str, float], float], str]:
    """Relative energy change from the smallest to the largest value of ``axis`` per design point."""
    parameter, axis = axis, axis_column(summary.columns, axis)
    if axis not in summary.columns or summary[axis].nunique() < 2:
        return {}, f"not tested: sweep the parameter, e.g. --set {parameter}=V1,V2,V3 or =x0.5,x1,x2"
    rows = at_reference(summary, reference, free=axis)
    changes: dict[tuple[str, str, float], float] = {}
    for kind in kinds:
        for sides in ("single", "dual"):
            by_value = {v: series(rows[rows[axis].eq(v)], kind, sides, "energy_pj") for v in sorted(rows[axis].unique())}
            lo, hi = min(by_value), max(by_value)
            for s in by_value[lo].index.intersection(by_value[hi].index):
                changes[(kind, sides, float(s))] = float(by_value[hi][s] / by_value[lo][s] - 1)
    values = [f"x{v:g}" if axis != parameter else v for v in sorted(summary[axis].unique())]
    return changes, f"{parameter} {values[0]} -> {values[-1]}"


def _changes_text(changes: Mapping[tuple[str, str, float], float]) -> str:
    return "; ".join(f"{k} {sd} {s:g}: {d:+.2%}" for (k, sd, s), d in changes.items())


PINNED = ("Sizes change capacities: a smaller buffer or metadata store forces smaller tiles (another mapping) and "
          "more traffic from the level above, a larger one can save refills; with the scaled or hwcomponents "
          "energy source a larger memory also costs more per access (pinned energies do not change with sizes; "
          "the evidence names the source used).")


def more_smem_lowers_both_equally(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    changes, span = _axis_changes(summary, reference, "smem_kib")
    if not changes:
        return ClaimResult(None, span if span.startswith("not") else f"not tested: no complete points over {span}")
    lowers = all(d <= LOWERS for d in changes.values())
    gaps = [abs(changes[("structured", sd, s)] - changes[("unstructured", sd, s)])
            for (k, sd, s) in changes if k == "structured" and ("unstructured", sd, s) in changes]
    equal = bool(gaps) and max(gaps) <= EQUALLY
    evidence = (f"energy change {span}: {_changes_text(changes)} (lowers = <= {LOWERS:+.1%}; equally = within "
                f"{EQUALLY:.0%} of each other" + (f", largest gap {max(gaps):.2%})" if gaps else ")"))
    return ClaimResult(lowers and equal, evidence, "" if lowers and equal else PINNED)


def _within(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str, limit: float, word: str) -> ClaimResult:
    """Holds when every relative energy change over ``axis`` stays within ``limit``."""
    changes, span = _axis_changes(summary, reference, axis)
    if not changes:
        return ClaimResult(None, span if span.startswith("not") else f"not tested: no complete points over {span}")
    holds = all(abs(d) <= limit for d in changes.values())
    evidence = f"energy change {span}: {_changes_text(changes)} ('{word}' = within {limit:.1%})"
    return ClaimResult(holds, evidence, "" if holds else PINNED)


def metadata_ram_changes_nothing(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    return _within(summary, reference, "smem_metadata_kib", NOTHING, "nothing")


def lrf_metadata_insignificant(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    return _within(summary, reference, "lrf_metadata_bits", INSIGNIFICANT, "insignificantly")


CLAIMS: tuple[Claim, ...] = (
    Claim("structured_saves_2x", "structured saves ~2x energy vs unstructured up to ~70% sparsity", structured_saves_2x),
    Claim("unstructured_single_needs_75", "unstructured single-sided needs >=75% sparsity to beat dense",
          unstructured_single_needs_75),
    Claim("unstructured_dual_needs_40", "dual-sided unstructured needs ~40% sparsity to beat dense",
          unstructured_dual_needs_40),
    Claim("unstructured_faster_at_66", "unstructured is faster in cycles at >=66% sparsity", unstructured_faster_at_66),
    Claim("same_skipped_computes", "both skip the same number of computations", same_skipped_computes),
    Claim("more_smem_lowers_both_equally", "more SMEM lowers energy for both equally", more_smem_lowers_both_equally,
          "smem_kib"),
    Claim("metadata_ram_changes_nothing", "more metadata RAM alone changes nothing", metadata_ram_changes_nothing,
          "smem_metadata_kib"),
    Claim("lrf_metadata_insignificant", "more LRF metadata changes energy insignificantly", lrf_metadata_insignificant,
          "lrf_metadata_bits"),
)


def mechanism(summary: pd.DataFrame, reference: Mapping[str, Any]) -> str:
    """What the numbers say about why designs differ: computes performed, and padding, per design."""
    rows = at_reference(summary, reference)
    rows = rows.assign(performed=rows["actual_computes"].astype(float) / rows["algorithmic_computes"].astype(float),
                       padding=rows["algorithmic_computes"].astype(float) / rows["macs_orig"].astype(float) - 1)
    done, pad = [], []
    for kind in ("structured", "unstructured"):
        for sides in ("single", "dual"):
            perf = series(rows, kind, sides, "performed")
            if len(perf):
                done.append(f"{kind} {sides} " + "/".join(f"{100 * v:.0f}" for v in perf) + "%")
        padding = series(rows, kind, "single", "padding")
        if len(padding):
            pad.append(f"{kind} {100 * padding.min():.0f}..{100 * padding.max():.0f}%")
    if not done:
        return ""
    sparsities = "/".join(f"{s:g}" for s in sorted(rows.loc[rows["sparsity"].gt(0), "sparsity"].unique()))
    return (f"Share of each design's algorithmic MACs actually performed at sparsity {sparsities}: {'; '.join(done)}. "
            f"GEMM padding adds {', '.join(pad)} MACs over the network's own (padded MACs cost like real ones).")


def check_all(summary: pd.DataFrame, reference: Mapping[str, Any],
              basis: Callable[[str | None], pd.DataFrame] | None = None) -> list[tuple[Claim, ClaimResult]]:
    """Every claim; ``basis(axis)`` gives the summary a claim is checked on (default: ``summary``)."""
    return [(claim, claim.check(basis(claim.axis) if basis else summary, reference)) for claim in CLAIMS]
