"""Claim probes: the few extra points a claim needs that the swept grid does not have.

After the grid (and the break-even rounds), two claims of the study are often untestable on the
sweep's own sparsities: convergence at extreme sparsity needs structured and unstructured at a
sparsity >= 0.85 (probed at ``CONVERGE_AT`` = 0.875, N:M 1:8; dual points hold the activation side
as the claims do), and the dual-sided overhead at low sparsity needs single and dual points at a
sparsity <= 0.3 (probed at weight sparsity ``LOW_AT`` = 0.2, N:M 4:5, dual points at activation
sparsity ``LOW_ACT`` = 0.25, 3:4: no structured point has activation = weight sparsity <= 0.3, as
N must divide the 16 PE lanes and activation patterns have M in 4, 6, 8, 16; per-layer densities
under ``--act-sparsity workload``).  Each probe evaluates every layer at the reference memory
setting, for the structured and unstructured schemes the claims read, on the sides the sweep swept
(both sides for the overhead claim).  A probe is skipped when its claim can already be judged.

Probe points are ordinary rows of ``results.csv`` and ``summary.csv`` (and the curves), marked in
the ``probe`` column with the claim they serve; every other claim is judged without them
(:func:`~.claims.check_all`), so adding them changes no other verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from .acts import DualAct, dual_act
from .breakeven import at_setting, design_summary, reference_design, swept_sides
from .claims_base import scheme_of
from .claims_sides import both_converge_at_extreme, dual_overhead_at_low_sparsity
from .grid import Grid, PlannedPoint, Variant, point_id
from .runner import SweepRun
from .tables import results_frame

CONVERGE_AT = 0.875  # the convergence probe's sparsity (structured 1:8)
LOW_AT = 0.2  # the low-sparsity probe's weight sparsity (structured 4:5: N must divide the 16 PE lanes)
LOW_ACT = 0.25  # its dual points' activation sparsity (3:4, the lowest hardware activation pattern)
CONVERGE_CLAIM = "both_converge_at_extreme"
LOW_CLAIM = "dual_overhead_at_low_sparsity"
KINDS = ("structured", "unstructured")


def wanted(summary: pd.DataFrame, reference: dict, sides: tuple[str, ...]) -> list[tuple[str, str, str, float]]:
    """``(claim, kind, sides, sparsity)`` of every probe the summary lacks: the parts its claim cannot
    test (convergence per swept side; the low-sparsity overhead per design, when both sides are swept)."""
    out = []
    untested = {p.scope for p in both_converge_at_extreme(summary, reference).parts if p.holds is None}
    for sd in sides:
        if sd in untested or "single, dual" in untested:
            out += [(CONVERGE_CLAIM, kind, sd, CONVERGE_AT) for kind in KINDS]
    if {"single", "dual"} <= set(sides):
        untested = {p.scope for p in dual_overhead_at_low_sparsity(summary, reference).parts if p.holds is None}
        out += [(LOW_CLAIM, kind, sd, LOW_AT) for kind in KINDS if kind in untested for sd in ("single", "dual")]
    return out


def probe(run: SweepRun, evaluate: Callable[[Grid], SweepRun]) -> SweepRun:
    """``run`` with the probe points of every claim its grid cannot test; ``evaluate`` runs a grid."""
    grid = run.grid
    found = reference_design(grid)
    if found is None:
        return run
    label, setting, hw = found
    results = results_frame(run.outcomes, list(grid.axes), run.backend, run.options.objective)
    summary = design_summary(results, grid, label)
    sides = swept_sides(grid)
    how: DualAct = dual_act(at_setting(summary, grid.reference))
    schemes = {s.name: s for s in grid.schemes}
    taken = {p.id for p in grid.points}
    points: list[PlannedPoint] = []
    variants: list[Variant] = []
    for claim, kind, sd, s in wanted(summary, grid.reference, sides):
        name = scheme_of(summary, kind)
        if name not in schemes:
            continue
        dual = sd == "dual"
        act = (LOW_ACT if claim == LOW_CLAIM else how.variant_act()) if dual and how.mode != "workload" else None
        v = Variant(schemes[name], sd, s, act, dual and how.mode == "workload")
        mine = [PlannedPoint(point_id(layer, v, setting, label), layer, v, hw[v.scheme.topology], setting, label,
                             probe=claim) for layer in grid.layers]
        if any(p.id in taken for p in mine):  # the grid (or a break-even round) already has it
            continue
        taken.update(p.id for p in mine)
        points += mine
        variants.append(v)
    if not points:
        return run
    extra = evaluate(replace(grid, points=points, variants=variants))
    run.stats.add_round(extra.stats, len(points))
    described = sorted({f"{p.variant.scheme.kind} {p.variant.sides} {p.variant.sparsity:g} ({p.probe})"
                        for p in points})
    note = (f"claim probes: {len(points)} extra points the claims need and the grid lacks, at {', '.join(described)}; "
            "marked in the probe column and read only by their claim")
    grid = replace(grid, points=grid.points + points, notes=grid.notes + [note])
    return replace(run, grid=grid, outcomes=list(run.outcomes) + list(extra.outcomes))
