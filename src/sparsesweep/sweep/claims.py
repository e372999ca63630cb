"""The study's claims (the thirteen of the poster "Modeling Structured vs Unstructured and Dual vs
Single Sided Sparsity in DNNs"), each checked against a sweep's network totals (the summary table).

Each claim gives one verdict per side (single / dual; per design kind for the dual-vs-single claims)
and, where they differ, per normalisation (to the dense TC baseline, and to the design's own
hardware at sparsity 0), each a :class:`Part` with its evidence, threshold and the points it used.

Every claim is a function ``check(summary, reference) -> ClaimResult`` over the summary DataFrame
(:func:`~.tables.summary_frame`) and the reference values of the swept arch parameters (the other
axes are held at these while one varies).  ``holds`` is True or False when the sweep has the
points the claim needs, None when it does not (the evidence says what to add).  The thresholds
that turn "~2x", "~40%", "equally", "nothing" and "insignificantly" into numbers are the constants
below; the report prints them.

"structured" and "unstructured" mean the first swept scheme of that kind (the scheme named
``structured`` / ``unstructured`` when swept); dual-sided points hold the activation side as
:func:`~.acts.dual_act` picks (activation sparsity = weight sparsity, the study's setting, unless
``--act-sparsity`` values cover more weight sparsities), and every verdict that reads dual points says
which activation sparsity it used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .claims_base import (  # noqa: F401 (re-exported: the claims API)
    RATIO_BAND, UP_TO_70, AT_75, NEAR_40, AT_66, SAME_SKIPS, LOWERS, EQUALLY, NOTHING, INSIGNIFICANT, MOST,
    BREAK_EVEN_STEP, TOL, Part, ClaimResult, combine, command_adding, Claim, axis_column, scheme_of,
    at_reference, series, break_even, _fmt, _pair, DEFAULT, _pts, or_untested)
from .acts import dual_act
from .claims_sides import (both_converge_at_extreme, dual_advantage_shrinks_when_matched,
                           dual_outperforms_single, dual_overhead_at_low_sparsity)

ARCH_NOTE = ("Unstructured runs on the DSTC arch (per-core LRF feeding a 16x16 MAC array, bitmask metadata, its own "
             "pinned energies) and pads M and N to the 32x32 core split; structured runs on the STC arch. The "
             "'own dense' rows divide each design by its own hardware at sparsity 0, which removes that difference.")


def structured_saves_2x(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts = []
    for norm, metric in (("", "energy_pj"), (", own dense", "energy_vs_own_dense")):
        if metric not in summary.columns:
            continue
        for sd, df in _pair(summary, reference, metric).items():
            df = df[df.index <= UP_TO_70 + TOL]
            scope = sd + norm
            if not len(df):
                parts.append(Part(scope, None, "not tested: needs structured and unstructured points at a sparsity "
                                  f"in (0, 0.7]; run {command_adding(DEFAULT)}"))
                continue
            ratios = df["unstructured"] / df["structured"]
            gmean = float(np.exp(np.log(ratios).mean()))
            holds = bool(RATIO_BAND[0] <= gmean <= RATIO_BAND[1] and (ratios > 1).all())
            parts.append(Part(scope, holds, f"unstructured / structured energy {_fmt(ratios.to_dict(), 2)} "
                              f"(geometric mean {gmean:.2f}x)", f"{RATIO_BAND[0]}..{RATIO_BAND[1]}x, structured "
                              "always cheaper", _pts(df, f"structured and unstructured {sd}")))
    parts = or_untested(parts, "structured and unstructured points at a sparsity in (0, 0.7]")
    return combine(parts, ARCH_NOTE)


def structured_better_energy(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """"Structured outperforms unstructured in energy across most cases": more than half of the
    sparsities (network totals) where both were evaluated."""
    parts = []
    for norm, metric in (("", "energy_pj"), (", own dense", "energy_vs_own_dense")):
        if metric not in summary.columns:
            continue
        for sd, df in _pair(summary, reference, metric).items():
            wins = df["structured"] < df["unstructured"]
            holds = bool(wins.mean() > MOST)
            parts.append(Part(sd + norm, holds, f"structured cheaper at {int(wins.sum())} of {len(df)} sparsities "
                              f"(unstructured / structured {_fmt((df['unstructured'] / df['structured']).to_dict(), 2)})",
                              f"more than {MOST:.0%} of the cases", _pts(df, f"structured and unstructured {sd}")))
    parts = or_untested(parts, "structured and unstructured points")
    return combine(parts, ARCH_NOTE)


def _break_even_part(summary: pd.DataFrame, reference: Mapping[str, Any], sides: str, metric: str,
                     scope: str) -> tuple[float | None, str, pd.Series]:
    ratios = series(at_reference(summary, reference), "unstructured", sides, metric)
    own = at_reference(summary, reference)
    own = own[own["kind"].eq("unstructured") & own["sparsity"].eq(0) & own["complete"].astype(bool)]
    if len(own) and metric in own.columns:
        ratios = pd.concat([pd.Series({0.0: float(own[metric].iloc[0])}), ratios]).sort_index()
    s, how = break_even(ratios)
    return s, how, ratios


def _measured(how: str, s: float | None) -> bool:
    """A break-even bracketed by evaluated points at most ``STEP`` apart."""
    if s is None or not how.startswith("interpolated"):
        return False
    lo, hi = (float(x) for x in how.removeprefix("interpolated between ").split(" and "))
    return hi - lo <= BREAK_EVEN_STEP + 1e-9


def unstructured_single_needs_75(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts = []
    # "beat the dense baseline" is a statement about energy vs the dense TC: no own-dense variant.
    for norm, metric in (("single", "energy_vs_dense"),):
        if metric not in summary.columns:
            continue
        s, how, ratios = _break_even_part(summary, reference, "single", metric, norm)
        nonzero = ratios[ratios.index > 0]
        if not len(nonzero):
            parts.append(Part(norm, None, f"not tested: needs unstructured single-sided points; run "
                              f"{command_adding(DEFAULT)}"))
            continue
        below = nonzero[nonzero.index < AT_75]
        if not len(below):
            parts.append(Part(norm, None, f"not tested: needs a sparsity below 0.75; run "
                              f"{command_adding(DEFAULT)}"))
            continue
        where = f"; break-even {s:.3f} ({how})" if s is not None else f"; no break-even ({how})"
        if s is not None and not _measured(how, s):
            where += f" - not measured to {BREAK_EVEN_STEP:g}: the sweep refines it unless a point failed"
        if _measured(how, s):
            holds = s >= AT_75 - 0.005  # measured: the break-even itself is at >= 75%
        else:
            holds = not (below < 1).any()  # no win below 75% among the evaluated points
        parts.append(Part(norm, bool(holds), f"energy ratio {_fmt(nonzero.to_dict())}{where}",
                          f"no win below sparsity {AT_75}", _pts(nonzero, "unstructured single")))
    return combine(parts)


def _unstructured_only(summary: pd.DataFrame) -> str:
    """Options that restrict a suggested sweep to the unstructured design, dual-sided: any sparsity
    is expressible there, while structured weights accept only N:M patterns (0.4 is not one)."""
    return f" --schemes {scheme_of(summary, 'unstructured') or 'unstructured_position_skipping'} --sides dual"


def unstructured_dual_needs_40(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts = []
    for norm, metric in (("dual", "energy_vs_dense"),):  # "effective" = beats the dense baseline
        if metric not in summary.columns:
            continue
        s, how, ratios = _break_even_part(summary, reference, "dual", metric, norm)
        nonzero = ratios[ratios.index > 0]
        if s is None or not len(nonzero):
            seen = (f"energy ratio {_fmt(nonzero.to_dict())}" if len(nonzero)
                    else "no unstructured dual-sided points")
            parts.append(Part(norm, None, f"not tested: no break-even ({how}); {seen}; "
                              f"needs dual points on both sides of the crossing, e.g. "
                              f"{command_adding(DEFAULT + [0.2, 0.4], _unstructured_only(summary))}",
                              f"break-even in {NEAR_40[0]}..{NEAR_40[1]}",
                              _pts(nonzero, "unstructured dual") if len(nonzero) else ""))
            continue
        holds = NEAR_40[0] <= s <= NEAR_40[1]
        note = "" if _measured(how, s) else f" - not measured to {BREAK_EVEN_STEP:g}"
        parts.append(Part(norm, holds, f"energy ratio {_fmt(nonzero.to_dict())}; break-even {s:.3f} ({how}){note}",
                          f"break-even in {NEAR_40[0]}..{NEAR_40[1]}", _pts(nonzero, "unstructured dual")
                          + ("; its own hardware at sparsity 0 (single-sided, dense data)" if 0 in ratios.index else "")))
    notes = ("The break-even is where what DSTC saves per MAC not performed pays for its overheads: bitmask metadata, "
             "its own energies and the padded GEMM.")
    return combine(parts, notes)


def unstructured_faster_at_66(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    parts = []
    for norm, metric in (("", "cycles"), (", own dense", "cycles_vs_own_dense")):
        if metric not in summary.columns:
            continue
        for sd, df in _pair(summary, reference, metric).items():
            df = df[df.index >= AT_66 - TOL]
            if not len(df):
                parts.append(Part(sd + norm, None, f"not tested: needs both designs at a sparsity >= 0.66; run "
                                  f"{command_adding(DEFAULT)}"))
                continue
            ratio = df["unstructured"] / df["structured"]
            parts.append(Part(sd + norm, bool((ratio < 1).all()), f"unstructured / structured cycles "
                              f"{_fmt(ratio.to_dict(), 2)}", "< 1 at every sparsity >= 0.66",
                              _pts(df, f"structured and unstructured {sd}")))
    parts = or_untested(parts, "both designs at a sparsity >= 0.66")
    notes = ("Cycles follow the MACs each design performs (shares below) and how well its array is used: structured "
             "skipping removes exactly the zero weights' MACs from the PE lanes; unstructured on DSTC performs the "
             "share below, on a padded GEMM.")
    return combine(parts, notes)


def same_skipped_computes(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """Computes not performed = algorithmic - actual (skipped, gated, or removed by spatial skipping)."""
    frac = summary.assign(skip_fraction=1 - summary["actual_computes"] / summary["algorithmic_computes"])
    parts = []
    for sd, df in _pair(frac, reference, "skip_fraction").items():
        gap = float((df["structured"] - df["unstructured"]).abs().max())
        parts.append(Part(sd, gap <= SAME_SKIPS, "structured vs unstructured " + ", ".join(
            f"{s:g}: {r.structured:.1%} vs {r.unstructured:.1%}" for s, r in df.iterrows()) + f" (largest gap {gap:.1%})",
            f"within {SAME_SKIPS:.0%} (1 - actual / algorithmic)", _pts(df, f"structured and unstructured {sd}")))
    parts = or_untested(parts, "both designs at the same sparsity")
    notes = ("Structured designs remove exactly the zero-weight MACs, single or dual: dualCompress compresses "
             "activations only in DRAM/SMEM and its RF skips on weights alone. Unstructured designs skip what their "
             "SAFs allow (shares below). Fractions are of each design's own padded algorithmic computes.")
    return combine(parts, notes)


def _axis_changes(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str,
                  kinds: tuple[str, ...] = ("structured", "unstructured"),
                  metric: str = "energy_pj") -> tuple[dict[tuple[str, str, float], float], str]:
    """Relative change of ``metric`` from the smallest to the largest value of ``axis`` per design point."""
    parameter, axis = axis, axis_column(summary.columns, axis)
    if axis not in summary.columns or summary[axis].nunique() < 2:
        return {}, f"not tested: sweep the parameter, e.g. --set {parameter}=V1,V2,V3 or =x0.5,x1,x2"
    rows = at_reference(summary, reference, free=axis)
    changes: dict[tuple[str, str, float], float] = {}
    for kind in kinds:
        for sides in ("single", "dual"):
            by_value = {v: series(rows[rows[axis].eq(v)], kind, sides, metric) for v in sorted(rows[axis].unique())}
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


def _by_sides(changes: Mapping[tuple[str, str, float], float], sides: str) -> dict[tuple[str, str, float], float]:
    return {k: d for k, d in changes.items() if k[1] == sides}


def _memory_command(parameter: str) -> str:
    return f"`python sweep.py --sparsity 0,0.5,0.667,0.75 --set {parameter}=x0.5,x1,x2`"


def more_smem_lowers_both_equally(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    changes, span = _axis_changes(summary, reference, "smem_kib")
    if not changes:
        why = span if span.startswith("not") else f"not tested: no complete points over {span}"
        return combine([Part("single, dual", None, f"{why}; run {_memory_command('smem_kib')}")])
    parts = []
    for sd in ("single", "dual"):
        mine = _by_sides(changes, sd)
        if not mine:
            continue
        lowers = all(d <= LOWERS for d in mine.values())
        gaps = [abs(mine[("structured", sd, s)] - mine[("unstructured", sd, s)])
                for (k, _, s) in mine if k == "structured" and ("unstructured", sd, s) in mine]
        equal = bool(gaps) and max(gaps) <= EQUALLY
        parts.append(Part(sd, lowers and equal, f"energy change {span}: {_changes_text(mine)}"
                          + (f" (largest gap {max(gaps):.2%})" if gaps else ""),
                          f"lowers = <= {LOWERS:+.1%}; equally = within {EQUALLY:.0%} of each other",
                          f"structured and unstructured {sd} at every swept value of smem_kib"))
    return combine(parts, PINNED)


def _within(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str, limit: float, word: str,
            metrics: tuple[str, ...] = ("energy_pj",)) -> ClaimResult:
    """Holds when every relative change of each of ``metrics`` over ``axis`` stays within ``limit``."""
    changes, span = _axis_changes(summary, reference, axis)
    if not changes:
        why = span if span.startswith("not") else f"not tested: no complete points over {span}"
        return combine([Part("single, dual", None, f"{why}; run {_memory_command(axis)}")])
    by_metric = {m: changes if m == "energy_pj" else _axis_changes(summary, reference, axis, metric=m)[0]
                 for m in metrics}
    parts = []
    for sd in ("single", "dual"):
        mine = {m: _by_sides(c, sd) for m, c in by_metric.items()}
        if mine["energy_pj"]:
            holds = all(abs(d) <= limit for c in mine.values() for d in c.values())
            evidence = "; ".join(f"{m.removesuffix('_pj')} change {span}: {_changes_text(c)}" for m, c in mine.items())
            energy = list(mine["energy_pj"].values())
            falls = sum(d < 0 for d in energy)
            fall = f"{min(energy):+.2%}" if falls else "none"
            rise = f"{max(energy):+.2%}" if max(energy) > 0 else "none"
            evidence += f" (energy falls at {falls} of {len(energy)} points; largest fall {fall}, largest rise {rise})"
            what = " and ".join(m.removesuffix("_pj") for m in metrics)
            parts.append(Part(sd, holds, evidence, f"'{word}' = every {what} change within {limit:.1%} either way "
                              "(the verdict judges the size of the effect, not its sign)",
                              f"structured and unstructured {sd} at every swept value of {axis}"))
    return combine(parts, PINNED)


def metadata_ram_changes_nothing(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    """"No energy/cycle effect": energy and cycles both within ``NOTHING``."""
    return _within(summary, reference, "smem_metadata_kib", NOTHING, "nothing", ("energy_pj", "cycles"))


def lrf_metadata_insignificant(summary: pd.DataFrame, reference: Mapping[str, Any]) -> ClaimResult:
    return _within(summary, reference, "lrf_metadata_bits", INSIGNIFICANT, "insignificantly")



CLAIMS: tuple[Claim, ...] = (
    Claim("structured_better_energy", "structured outperforms unstructured in energy across most cases",
          structured_better_energy),
    Claim("structured_saves_2x", "structured saves ~2x energy vs unstructured up to ~70% sparsity", structured_saves_2x),
    Claim("unstructured_single_needs_75", "unstructured needs >=75% sparsity to beat the dense baseline (single-sided)",
          unstructured_single_needs_75),
    Claim("unstructured_dual_needs_40", "dual-sided unstructured needs ~40% sparsity to be effective",
          unstructured_dual_needs_40),
    Claim("both_converge_at_extreme", "at extreme sparsity structured and unstructured converge",
          both_converge_at_extreme),
    Claim("same_skipped_computes", "both skip the same number of computations", same_skipped_computes),
    Claim("unstructured_faster_at_66", "unstructured is faster in cycles at sparsity >=66%", unstructured_faster_at_66),
    Claim("dual_outperforms_single", "dual-sided generally outperforms single-sided", dual_outperforms_single),
    Claim("dual_overhead_at_low_sparsity", "dual-sided overhead dominates at low sparsity, especially for unstructured",
          dual_overhead_at_low_sparsity),
    Claim("dual_advantage_shrinks_when_matched", "after adjusting for combined input + weight sparsity, dual-sided "
          "still leads but its advantage shrinks", dual_advantage_shrinks_when_matched),
    Claim("more_smem_lowers_both_equally", "more SRAM reduces energy equally for structured and unstructured",
          more_smem_lowers_both_equally, "smem_kib"),
    Claim("metadata_ram_changes_nothing", "more metadata SRAM alone has no energy/cycle effect",
          metadata_ram_changes_nothing, "smem_metadata_kib"),
    Claim("lrf_metadata_insignificant", "more register-file metadata reduces energy insignificantly",
          lrf_metadata_insignificant, "lrf_metadata_bits"),
)
STUDY = 'the poster "Modeling Structured vs Unstructured and Dual vs Single Sided Sparsity in DNNs"'


def check_all(summary: pd.DataFrame, reference: Mapping[str, Any],
              basis: Callable[[str | None], pd.DataFrame] | None = None) -> list[tuple[Claim, ClaimResult]]:
    """Every claim; ``basis(axis)`` gives the summary a claim is checked on (default: ``summary``).
    Each verdict that reads dual-sided points names the activation sparsity it used."""
    out = []
    for claim in CLAIMS:
        rows = basis(claim.axis) if basis else summary
        probes = pd.Series(False, index=rows.index)
        if "probe" in rows.columns:  # claim probes (see .probes): read only by the claim they were added for
            given = rows["probe"].notna() & rows["probe"].astype(str).ne("")
            rows, probes = rows[~given | rows["probe"].eq(claim.id)], given[~given | rows["probe"].eq(claim.id)]
        result = with_act_note(claim.check(rows, reference), dual_act(rows[~probes]).describe()
                               if (~probes).any() else dual_act(rows).describe())
        if probes.any():  # named in each verdict's own row
            at = ", ".join(f"{s:g}" for s in sorted(set(rows.loc[probes, "sparsity"].astype(float))))
            note = (_memory_probe_note(rows, probes, claim.axis, at) if claim.axis
                    else f"claim probe at {at} (added for this claim; probe column of summary.csv)")
            result = replace(result, parts=tuple(replace(p, points=f"{p.points}; {note}" if p.points else note)
                                                 if p.holds is not None
                                                 else p for p in result.parts))
        out.append((claim, result))
    return out


def _memory_probe_note(rows: pd.DataFrame, probes: pd.Series, axis: str, at: str) -> str:
    """What a memory probe (see .memprobes) evaluated: its parameter's values, sparsity, designs and layers."""
    column = axis_column(rows.columns, axis)
    probed = rows[probes]
    values = sorted(set(pd.to_numeric(probed[column], errors="coerce").dropna())) if column in rows.columns else []
    shown = ", ".join(f"x{v:g}" if column != axis else f"{v:g}" for v in values)
    designs = ", ".join(dict.fromkeys(f"{k} {sd}" for k, sd in zip(probed["kind"], probed["sides"])))
    layers = int(probed["layers"].max()) if "layers" in probed.columns and len(probed) else 0
    return (f"claim probe: {axis} {shown} against the grid's x1 points, at sparsity {at}, {designs}, "
            f"{layers} layers each, every other parameter at its reference (added for this claim; probe column of "
            "summary.csv)")


def with_act_note(result: ClaimResult, act: str) -> ClaimResult:
    """``result`` with ``act`` (the dual points' activation sparsity) added to every part that read dual points."""
    parts = tuple(replace(p, points=f"{p.points}; dual: {act}" if p.points else f"dual: {act}")
                  if p.holds is not None and ("dual" in p.scope or "dual" in p.points) and "dual:" not in p.points
                  else p for p in result.parts)
    return replace(result, parts=parts)
