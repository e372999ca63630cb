"""Break-even sparsities measured, not extrapolated: extra sparsities evaluated until the network
total crosses the dense baseline within a bracket of at most ``STEP``.

For each swept unstructured design (single- and dual-sided) at the reference memory setting, the
curve of network energy over the dense baseline's is read from the points already evaluated (the
design's own hardware at sparsity 0 included).  Where it crosses 1 between two sparsities wider
apart than ``STEP``, the crossing is bracketed by evaluating every layer at new sparsities inside
the bracket (:func:`next_sparsities`): a bracket at most ``3 * STEP`` wide is split evenly into
pieces of at most ``STEP`` (it is then measured in that round); a wider one gets the estimated
crossing minus and plus ``STEP / 2`` (the estimate: the quadratic through the bracket and the
nearest evaluated point beside it, else the straight line through the bracket).  When a round
failed to halve a curve's bracket (the crossing fell outside the pair, on the long side), the next
round also splits the widest piece in the middle, so the bracket at least halves every two rounds
and never stalls on one end; the rounds stop once every bracket is at most ``STEP`` wide
(``MAX_ROUNDS`` is only a safety net).
The new points become ordinary rows (``results.csv``, ``summary.csv``, the curves) so every
number the claims quote can be checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .acts import DualAct, dual_act, dual_rows
from .grid import BASE_VARIANT, Grid, PlannedPoint, Variant, point_id, with_setting
from .runner import Outcome, SweepRun
from .tables import results_frame, summary_frame

STEP = 0.01  # break-evens are measured to within this sparsity
MAX_ROUNDS = 16  # a safety net: the bracket at least halves every two rounds (see the module docs)
KINDS = ("unstructured",)  # the designs whose break-evens the claims quote


def crossing(curve: pd.Series) -> tuple[float, float, float, float] | None:
    """The first bracket ``(s0, r0, s1, r1)`` where the curve (ratio by sparsity) falls through 1."""
    pts = [(float(s), float(r)) for s, r in curve.dropna().sort_index().items()]
    for (s0, r0), (s1, r1) in zip(pts, pts[1:]):
        if r0 >= 1 > r1:
            return s0, r0, s1, r1
    return None


def next_sparsities(bracket: tuple[float, float, float, float], curve: pd.Series | None = None,
                    safeguard: bool = False) -> list[float]:
    """Where to evaluate next inside a bracket wider than ``STEP`` (see the module docs), in order.

    ``curve``: every evaluated point (for the quadratic estimate); ``safeguard``: also split the widest
    piece when it is more than half the bracket, so that the bracket left is at most half as wide
    (or at most ``STEP``) whichever side of the new points the crossing lies."""
    s0, r0, s1, r1 = bracket
    width = s1 - s0
    pieces = math.ceil(width / STEP - 1e-9)
    if pieces <= 3:  # split evenly: measured in this round
        wanted = [s0 + width * i / pieces for i in range(1, pieces)]
    else:
        guess = estimate(bracket, curve)
        guess = min(max(guess, s0 + STEP), s1 - STEP)
        wanted = [guess - STEP / 2, guess + STEP / 2]
        ends = [s0, *wanted, s1]
        gap, a, b = max((b - a, a, b) for a, b in zip(ends, ends[1:]))
        if safeguard and gap > width / 2 + 1e-9:
            wanted.append((a + b) / 2)
    out = []
    for s in sorted(wanted):
        s = round(s, 4)
        if s0 < s < s1 and s not in out:
            out.append(s)
    return out


def estimate(bracket: tuple[float, float, float, float], curve: pd.Series | None = None) -> float:
    """Where the curve crosses 1 inside the bracket: the root of the quadratic through the bracket's
    ends and the evaluated point nearest to it outside, when it has exactly one root there; else the
    straight line through the ends."""
    s0, r0, s1, r1 = bracket
    linear = s0 + (r0 - 1) * (s1 - s0) / (r0 - r1)
    if curve is None:
        return linear
    pts = curve.dropna()
    outside = [(min(abs(float(s) - s0), abs(float(s) - s1)), float(s), float(r)) for s, r in pts.items()
               if float(s) < s0 - 1e-12 or float(s) > s1 + 1e-12]
    if not outside:
        return linear
    _, s2, r2 = min(outside)
    xs, ys = np.array([s0, s1, s2]), np.array([r0, r1, r2]) - 1.0
    coef = np.polyfit(xs - s0, ys, 2)
    roots = [s0 + float(x.real) for x in np.roots(coef) if abs(x.imag) < 1e-12]
    inside = [x for x in roots if s0 < x < s1]
    return inside[0] if len(inside) == 1 else linear


def at_setting(summary: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """The rows at the reference memory setting."""
    rows = summary
    for name, value in reference.items():
        if name in rows.columns:
            rows = rows[rows[name].eq(value)]
    return rows


def curves(summary: pd.DataFrame, reference: dict, kinds: Sequence[str] = KINDS,
           how: DualAct | None = None) -> dict[tuple[str, str], pd.Series]:
    """Energy vs dense by sparsity of each (scheme, sides) of ``kinds`` at the reference setting,
    starting at the scheme's own hardware at sparsity 0; dual curves hold the activation side as the
    claims do (``how``, default :func:`~.acts.dual_act` of the rows)."""
    rows = at_setting(summary, reference)
    how = how or dual_act(rows)
    rows = rows[rows["complete"].astype(bool) & rows["kind"].isin(kinds)]
    out = {}
    for scheme in dict.fromkeys(rows["scheme"]):
        mine = rows[rows["scheme"].eq(scheme)]
        zero = mine[mine["sparsity"].eq(0)]
        for sides in ("single", "dual"):
            part = mine[mine["sides"].eq(sides) & mine["sparsity"].gt(0)]
            if sides == "dual":
                part = dual_rows(part, how)
            if not len(part):
                continue
            curve = pd.concat([zero, part]).drop_duplicates("sparsity").set_index("sparsity")["energy_vs_dense"]
            out[(scheme, sides)] = curve.astype(float).sort_index()
    return out


def reference_design(grid: Grid) -> tuple[str, tuple, dict] | None:
    """``(label, setting, archs by topology)`` of the design variant the claims read (the first) at the
    grid's reference setting, or None when the grid has no point there.  Extra rounds (break-even
    points, claim probes) are planned on it."""
    label = next(iter(grid.designs), BASE_VARIANT)
    at_ref = [p for p in grid.points if p.design == label
              and all(dict(p.setting).get(k, v) == v for k, v in grid.reference.items())]
    if not at_ref:
        return None
    setting = at_ref[0].setting
    return label, setting, {topo: with_setting(arch, setting)
                            for topo, arch in grid.designs.get(label, grid.archs).items()}


def design_summary(results: pd.DataFrame, grid: Grid, label: str) -> pd.DataFrame:
    """The network totals of ``results`` for the design variant ``label`` (all of them without variants)."""
    summary = summary_frame(results, list(grid.axes))
    return summary[summary["variant"].eq(label)] if "variant" in summary.columns else summary


def swept_sides(grid: Grid) -> tuple[str, ...]:
    """The sides (single, dual) the grid's sparse designs run, in sweep order."""
    return tuple(dict.fromkeys(v.sides for v in grid.variants if not v.dense))


def refine(run: SweepRun, evaluate: Callable[[Grid], SweepRun]) -> SweepRun:
    """``run`` with the extra points that measure every break-even; ``evaluate`` runs a grid."""
    grid = run.grid
    found = reference_design(grid)
    if found is None:
        return run
    label, setting, hw = found
    schemes = {s.name: s for s in grid.schemes}
    outcomes = list(run.outcomes)
    added: list[PlannedPoint] = []
    results = results_frame(outcomes, list(grid.axes), run.backend, run.options.objective)
    widths: dict[tuple[str, str], float] = {}  # each curve's bracket width in the last round
    for _ in range(MAX_ROUNDS):
        summary = design_summary(results, grid, label)
        todo = []
        how = dual_act(at_setting(summary, grid.reference))
        for (scheme, sides), curve in curves(summary, grid.reference, how=how).items():
            bracket = crossing(curve)
            if bracket is None or bracket[2] - bracket[0] <= STEP + 1e-9 or scheme not in schemes:
                continue
            width = bracket[2] - bracket[0]
            stalled = width > widths.get((scheme, sides), 2 * width) / 2 + 1e-9  # the last round did not halve it
            widths[(scheme, sides)] = width
            dual = sides == "dual"
            todo += [Variant(schemes[scheme], sides, s, how.variant_act() if dual else None,
                             dual and how.mode == "workload") for s in next_sparsities(bracket, curve, stalled)]
        if not todo:
            break
        points = [PlannedPoint(point_id(layer, v, setting, label), layer, v, hw[v.scheme.topology], setting, label)
                  for v in todo for layer in grid.layers]
        extra = evaluate(replace(grid, points=points, variants=todo))
        outcomes += extra.outcomes
        results = pd.concat([results, results_frame(extra.outcomes, list(grid.axes), run.backend,
                                                    run.options.objective)], ignore_index=True)
        added += points
        run.stats.add_round(extra.stats, len(points))
    if not added:
        return run
    grid = replace(grid, points=grid.points + added,
                   notes=grid.notes + [f"break-evens measured to within {STEP:g} sparsity: {len(added)} extra points "
                                       f"at {', '.join(sorted({f'{p.variant.sides} {p.variant.sparsity:g}' for p in added}))}"])
    return replace(run, grid=grid, outcomes=outcomes)
