"""The study's claims about extreme sparsity and about dual- vs single-sided sparsity.

Same conventions as :mod:`.claims` (which lists every claim): each claim returns a
:class:`~.claims.ClaimResult` made of per-scope :class:`~.claims.Part` verdicts; dual-sided points are
those whose activation sparsity equals the weight sparsity (the study's setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .acts import DualAct, dual_act, dual_rows
from .claims_base import DEFAULT, ClaimResult, Part, _fmt, _pair, _pts, at_reference, combine, command_adding, or_untested, series

EXTREME = 0.85  # "extreme sparsity": at least this
CONVERGE = 0.20  # "converge": energies within 20% of each other there, and closer than at the lowest sparsity
LOW = 0.30  # "low sparsity": at most this
MATCH = 0.01  # a single-sided sparsity "matches" a dual point's combined density within this


def both_converge_at_extreme(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """Under both normalisations: to the dense baseline (network energies) and each design over its own
    hardware at sparsity 0 (which takes DSTC's architecture cost out of the ratio)."""
    parts = []
    for norm, metric in (("", "energy_pj"), (", own dense", "energy_vs_own_dense")):
        if metric not in summary.columns:
            continue
        for sd, df in _pair(summary, reference, metric).items():
            ratio = (df["unstructured"] / df["structured"]).astype(float)
            far = ratio[ratio.index >= EXTREME]
            if not len(far):
                parts.append(Part(sd + norm, None, f"not tested: needs both designs at a sparsity >= {EXTREME}; run "
                                  f"{command_adding(DEFAULT + [0.875])} (structured 2:16)",
                                  f"within {CONVERGE:.0%} at sparsity >= {EXTREME}"))
                continue
            gap_far, gap_low = abs(np.log(far.iloc[-1])), abs(np.log(ratio.iloc[0]))
            holds = bool(gap_far <= np.log(1 + CONVERGE) and gap_far < gap_low)
            parts.append(Part(sd + norm, holds, f"unstructured / structured energy {_fmt(ratio.to_dict(), 2)}",
                              f"within {CONVERGE:.0%} at sparsity >= {EXTREME} and closer than at {ratio.index[0]:g}",
                              _pts(df, f"structured and unstructured {sd}")))
    parts = or_untested(parts, f"both designs at a sparsity >= {EXTREME}", DEFAULT + [0.875])
    return combine(parts)


def _sides(summary: pd.DataFrame, reference: Mapping[str, Any], kind: str, metric: str = "energy_pj") -> pd.DataFrame:
    rows = at_reference(summary, reference)
    return pd.concat({sd: series(rows, kind, sd, metric) for sd in ("single", "dual")}, axis=1)


def dual_outperforms_single(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts = []
    for kind in ("structured", "unstructured"):
        df = _sides(summary, reference, kind).dropna()
        if not len(df):
            parts.append(Part(kind, None, f"not tested: needs {kind} single and dual points at the same sparsity; run "
                              f"{command_adding(DEFAULT, ' --sides single,dual')}"))
            continue
        ratio = df["dual"] / df["single"]
        parts.append(Part(kind, bool((ratio < 1).mean() > 0.5), f"dual / single energy {_fmt(ratio.to_dict(), 2)}",
                          "dual cheaper at more than half of the sparsities", _pts(df, f"{kind} single and dual")))
    return combine(parts)


def dual_overhead_at_low_sparsity(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts, overhead = [], {}
    rows = at_reference(summary, reference)
    how = dual_act(rows)
    for kind in ("structured", "unstructured"):
        df = _sides(summary, reference, kind).dropna()
        low, act = df[df.index <= LOW + 1e-9], ""
        # no low point at the activation setting the other claims read: dual points at a low activation
        # sparsity too (structured cannot have activation = weight sparsity <= LOW: N divides the PE lanes)
        for other in _act_settings(rows, how)[1:] if not len(low) else []:
            if other.mode == "fixed" and other.value is not None and other.value <= LOW + 1e-9:
                df = _sides(dual_rows(rows, other), {}, kind).dropna()
                low, act = df[df.index <= LOW + 1e-9], f"; dual: {other.describe()}"
                if len(low):
                    break
        if not len(low):
            parts.append(Part(kind, None, f"not tested: needs {kind} single and dual points at a sparsity <= {LOW}; "
                              f"run {command_adding(DEFAULT + [0.2], ' --act-sparsity 0.25')} (structured 4:5 "
                              "weights, 3:4 activations: no hardware activation pattern expresses 0.2 on 4:5 weights)",
                              f"dual / single energy > 1 at sparsity <= {LOW}"))
            continue
        ratio = low["dual"] / low["single"]
        overhead[kind] = float(ratio.iloc[0])
        parts.append(Part(kind, bool(ratio.iloc[0] > 1), f"dual / single energy {_fmt(ratio.to_dict(), 3)}",
                          f"dual / single energy > 1 at sparsity <= {LOW}", _pts(low, f"{kind} single and dual") + act))
    if len(overhead) == 2:
        parts.append(Part("unstructured vs structured", overhead["unstructured"] > overhead["structured"],
                          f"dual / single at the lowest sparsity: unstructured {overhead['unstructured']:.3f}, "
                          f"structured {overhead['structured']:.3f}", "unstructured's ratio larger ('especially')"))
    return combine(parts)


def _act_settings(rows: pd.DataFrame, first: DualAct) -> list[DualAct]:
    """``first``, then every other activation setting of the dual rows (act = weight, each fixed value)."""
    dual = rows[rows["sides"].eq("dual")]
    fixed = [DualAct("fixed", float(v)) for v in dict.fromkeys(pd.to_numeric(dual["act_sparsity"], errors="coerce")
                                                                 .dropna())]
    return list(dict.fromkeys([first, DualAct("weight"), *fixed]))


def _matched_pairs(df: pd.DataFrame, how: DualAct) -> tuple[list[tuple[float, float, float, float]], list[float]]:
    """(dual s, matched single s, single/dual at the matched density, single/dual at s) and the combined
    sparsities no single point matches."""
    single, dual = df["single"].dropna(), df["dual"].dropna()
    pairs, missing = [], []
    for s, e_dual in dual.items():
        matched = 1 - (1 - s) * how.density(s)
        near = single[(single.index.to_series() - matched).abs() <= MATCH]
        if not len(near):
            missing.append(round(matched, 3))
        elif s in single.index:
            pairs.append((s, float(near.index[0]), float(near.iloc[0]) / e_dual, float(single[s]) / e_dual))
    return pairs, missing


def dual_advantage_shrinks_when_matched(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """Dual at weight sparsity s and activation density d_a against single at the same combined
    density (1 - s) * d_a (d_a = 1 - s in the study): dual still cheaper, but by less than against
    single at the same weight sparsity."""
    parts = []
    how = dual_act(at_reference(summary, reference))
    if how.mode == "workload":
        return combine([Part("structured, unstructured", None, "not tested: activation densities differ per layer, "
                             "so a dual point has no single combined density; needs dual points at one activation "
                             f"sparsity and single points at their combined sparsity: run {command_adding(DEFAULT)} "
                             "(activation sparsity = weight sparsity)")])
    rows = at_reference(summary, reference)
    for kind in ("structured", "unstructured"):
        # the activation setting the other claims use first; then any other the sweep evaluated (e.g. act 0.5
        # of --act-sparsity 0.3,0.5, whose dual 0.5 matches single 0.75 where act 0.3 matches no N:M weights)
        for act in _act_settings(rows, how):
            pairs, missing = _matched_pairs(_sides(dual_rows(rows, act), {}, kind), act)
            if pairs:
                break
        if not pairs:
            missing = _matched_pairs(_sides(rows, {}, kind), how)[1]
            parts.append(Part(kind, None, f"not tested: needs single-sided points at the dual points' combined "
                              f"sparsity ({', '.join(f'{m:g}' for m in missing) or 'none'}); run "
                              f"{command_adding(DEFAULT + missing if how.mode == 'weight' else DEFAULT)}"
                              + ("" if how.mode == "weight" else " (activation sparsity = weight sparsity: dual 0.5 "
                                 "matches single 0.75)"), "single / dual energy > 1 at matched density"))
            continue
        leads = all(m > 1 for _, _, m, _ in pairs)
        shrinks = all(m < same for _, _, m, same in pairs)
        text = "; ".join(f"dual {s:g} vs single {m_s:g} (same combined density): single/dual {m:.2f}, vs single "
                         f"{s:g}: {same:.2f}" for s, m_s, m, same in pairs)
        parts.append(Part(kind, leads and shrinks, text, "single / dual > 1 at the matched density and smaller "
                          "than at the same weight sparsity", f"{kind} single and dual at " +
                          ", ".join(f"{s:g}/{m_s:g}" for s, m_s, _, _ in pairs) + f"; dual: {act.describe()}"))
    return combine(parts)
