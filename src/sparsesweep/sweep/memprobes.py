"""Memory probes: the points the three memory claims need when the sweep does not vary their parameter.

The memory claims (more SRAM lowers structured and unstructured energy equally; more metadata SRAM
alone changes nothing; more register-file metadata changes energy insignificantly) compare each
design at two values of one arch parameter (``smem_kib``, ``smem_metadata_kib``,
``lrf_metadata_bits``), every other parameter at its reference value.  When the sweep has no
``--set`` axis for such a parameter, this round evaluates the design points the claim reads at
``FACTOR`` (x2, "more") times each arch's own value, the grid's own points being x1: the
structured and unstructured schemes on every swept side, at one sparsity of the sweep
(:func:`probe_sparsity`: the largest swept sparsity <= ``AT_MOST``, the dual points holding the
activation side as the claims do), for every layer, at the reference setting of every swept axis.
x0.5 is not probed: the claims are about more memory, and each extra value costs as many searches
as x2 (4 designs x the layers).

A probe point differs from its reference point in that one parameter only (its id ends in
``-<name>_factor2``); it gets its own mapping search (a smaller or larger memory changes which
tiles fit).  The probe points of one layer and design (one per parameter) go to one worker together,
which shares their mapspace scan where their mapspaces and access models agree (seldom: each
parameter changes them differently, and the x1 point was searched in the grid's round).  Their
energies come from the source a ``--set`` of the parameter would use (``--energy`` when given, else
``scaled``: the pinned tables x the component models' ratio, equal to the pinned tables at x1),
unless that source does not reproduce the sweep's own tables at x1 (then the sweep's source, so
that x1 and x2 are priced alike).

Probe rows are rows of ``results.csv`` and ``summary.csv`` marked in the ``probe`` column with their
claim, with the parameter's column (``<name>_factor``: 1 on every other row, 2 on theirs; the grid's
``held`` columns).  Only their claim reads them; the other claims, the tables of the report and
the plots leave them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import SparsesweepError
from .acts import DualAct, dual_act
from .breakeven import at_setting, design_summary, reference_design, swept_sides
from .claims import CLAIMS
from .claims_base import scheme_of
from .energies import EnergyPlan, plan_energies
from .grid import FACTOR_SUFFIX, Grid, PlannedPoint, Variant, point_id, with_setting
from .runner import Outcome, SweepRun
from .tables import results_frame

FACTOR = 2.0  # the probe's value: twice each arch's own ("more" memory); the grid's points are x1
AT_MOST = 0.75  # the probe's sparsity: the largest swept one up to this (else the smallest swept)
KINDS = ("structured", "unstructured")
PARAMETERS: dict[str, str] = {c.id: c.axis for c in CLAIMS if c.axis}  # memory claim -> its parameter


def swept(grid: Grid, parameter: str) -> bool:
    """The sweep varies ``parameter`` (by value or multiples, crossed or paired)."""
    return parameter in grid.axes or parameter + FACTOR_SUFFIX in grid.axes


def wanted(grid: Grid) -> list[tuple[str, str]]:
    """``(claim, parameter)`` of every memory claim whose parameter the sweep does not vary."""
    return [(claim, parameter) for claim, parameter in PARAMETERS.items() if not swept(grid, parameter)]


def probe_sparsity(sparsities: Sequence[float]) -> float | None:
    """The largest of ``sparsities`` (nonzero) up to ``AT_MOST``, else the smallest; None when none."""
    nonzero = sorted(s for s in sparsities if s > 0)
    if not nonzero:
        return None
    below = [s for s in nonzero if s <= AT_MOST + 1e-9]
    return below[-1] if below else nonzero[0]


def probe(run: SweepRun, evaluate: Callable[[Grid, EnergyPlan], SweepRun],
          requested: str | None = None) -> SweepRun:
    """``run`` with the memory probes of every memory claim it cannot test; ``evaluate`` runs a grid
    with an energy plan; ``requested``: the sweep's ``--energy``."""
    grid = run.grid
    todo = wanted(grid)
    found = reference_design(grid) if todo else None
    if found is None:
        return run
    label, setting, hw = found
    variants = _designs(run, label)
    if not variants:
        return run
    points: list[PlannedPoint] = []
    held: dict[str, float] = {}
    skipped: list[str] = []
    for claim, parameter in todo:
        column = parameter + FACTOR_SUFFIX
        change = ((column, FACTOR),)
        try:
            archs = {topo: with_setting(arch, change) for topo, arch in hw.items()}
        except SparsesweepError as exc:  # x2 is not a valid arch (e.g. past a limit): say so, probe the rest
            skipped.append(f"{parameter} x{FACTOR:g} ({exc.one_line()})")
            continue
        probe_setting = tuple(setting) + change
        points += [PlannedPoint(point_id(layer, v, probe_setting, label), layer, v, archs[v.scheme.topology],
                                probe_setting, label, probe=claim) for v in variants for layer in grid.layers]
        held[column] = 1.0
    notes = [f"memory probes skipped: {', '.join(skipped)}"] if skipped else []
    if not points:
        return replace(run, grid=replace(grid, notes=grid.notes + notes))
    reference = list({p.variant.scheme.topology: p for p in grid.points if p.setting == setting
                      and p.design == label and p.variant in variants}.values())
    plan = _energy_plan(run, replace(grid, points=points, variants=variants,
                                     axes={**grid.axes, **{c: [1.0, FACTOR] for c in held}}), reference, requested)
    extra = evaluate(replace(grid, points=points, variants=variants), plan)
    run.stats.add_round(extra.stats, len(points))
    s = variants[0].sparsity
    params = ", ".join(c.removesuffix(FACTOR_SUFFIX) for c in held)
    notes.append(f"memory probes: {len(points)} extra points for the memory claims the sweep does not vary ({params} "
                 f"at x{FACTOR:g} of each arch's own value; the grid's points are x1), at sparsity {s:g}, "
                 f"{', '.join(sorted({f'{v.scheme.kind} {v.sides}' for v in variants}))}, every layer; energies "
                 f"{plan.describe()}; marked in the probe column and read only by their claim")
    grid = replace(grid, points=grid.points + points, notes=grid.notes + notes, held={**grid.held, **held})
    return replace(run, grid=grid, outcomes=list(run.outcomes) + list(extra.outcomes))


def _designs(run: SweepRun, label: str) -> list[Variant]:
    """The grid's own structured and unstructured variants the memory claims read, at the probe's
    sparsity: one per kind and swept side, the dual ones holding the activation side as the claims do."""
    grid = run.grid
    plain = [o for o in run.outcomes if not o.point.probe]
    results = results_frame(plain, list(grid.axes), run.backend, run.options.objective)
    summary = design_summary(results, grid, label)
    how = dual_act(at_setting(summary, grid.reference))
    sides = swept_sides(grid)
    mine: dict[tuple[str, str], dict[float, Variant]] = {}
    for kind in KINDS:
        name = scheme_of(summary, kind)
        for sd in sides:
            mine[(kind, sd)] = {v.sparsity: v for v in grid.variants
                                if v.scheme.name == name and v.sides == sd and v.sparsity > 0 and _held_like(v, how)}
    if not mine or not all(mine.values()):
        return []
    common = set.intersection(*(set(by) for by in mine.values()))
    s = probe_sparsity(sorted(common))
    return [] if s is None else [by[s] for by in mine.values()]


def _held_like(v: Variant, how: DualAct) -> bool:
    """A dual variant with the activation side the claims read (see :func:`~.acts.dual_act`)."""
    if v.sides != "dual":
        return True
    if how.mode == "workload":
        return v.act_from_workload
    if v.act_from_workload:
        return False
    if how.mode == "fixed":
        return v.act_sparsity is not None and bool(np.isclose(v.act_sparsity, how.value))
    return v.act_sparsity is None or bool(np.isclose(v.act_sparsity, v.sparsity))


def _energy_plan(run: SweepRun, probes: Grid, reference: Sequence[PlannedPoint],
                 requested: str | None) -> EnergyPlan:
    """The probe points' energies: as a ``--set`` of their parameters would price them, when that
    source gives the sweep's own tables at x1 (``reference``: a grid point per arch; else the sweep's
    source, so that x1 and x2 are priced alike)."""
    plan = plan_energies(probes, requested)
    sweep = run.energy
    if sweep is None or plan.source == sweep.source:
        return plan
    at_x1 = plan_energies(replace(probes, points=list(reference)), plan.source)
    for key, tables in at_x1.tables.items():
        own = sweep.tables.get(key)
        if own is None or not _same(own.level_actions(), tables.level_actions()):
            return plan_energies(probes, sweep.source)
    return plan


def _same(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> bool:
    return a.keys() == b.keys() and all(
        a[k].keys() == b[k].keys() and all(np.isclose(a[k][x], b[k][x], rtol=1e-9, atol=0) for x in a[k]) for k in a)


def fill_held(results: pd.DataFrame, outcomes: Sequence[Outcome], held: dict[str, float]) -> pd.DataFrame:
    """``results`` (one row per outcome, in order) with every held column filled: the reference
    value on rows that do not vary it, and the parameter's own value (its arch's) on every row."""
    for column, value in held.items():
        if column not in results.columns:
            continue
        results[column] = pd.to_numeric(results[column], errors="coerce").astype(float).fillna(value)
        name = column.removesuffix(FACTOR_SUFFIX)
        if name in results.columns:
            results[name] = [getattr(o.point.arch, name) for o in outcomes]
    return results


def is_memory_probe(results: pd.DataFrame) -> pd.Series:
    """Rows of memory probes (off the reference setting in a held column)."""
    if "probe" not in results.columns:
        return pd.Series(False, index=results.index)
    return results["probe"].isin(list(PARAMETERS))


_SOURCES = {"pinned ERT": "pinned", "scaled by hwcomponents": "scaled", "hwcomponents": "hwcomponents"}


def probe_energies(results: pd.DataFrame, run: SweepRun) -> dict[str, str]:
    """Memory claim -> the energies its verdict read, for claims judged on probes priced from another
    source than the sweep's (the report names it in the claim's row)."""
    sweep = run.energy.source if run.energy else "pinned"
    out = {}
    for claim, parameter in PARAMETERS.items():
        rows = results[results["probe"].eq(claim)] if "probe" in results.columns else results.iloc[:0]
        kinds = {_SOURCES.get(str(s).rsplit(" (", 1)[-1].rstrip(")"), str(s)) for s in rows["energy_source"].dropna()}
        if kinds and kinds != {sweep}:
            label = run.energy.describe() if run.energy else "pinned (the arch's ERT files)"
            out[claim] = (f"{label} at x1 (the grid's points); {', '.join(sorted(kinds))} at the x{FACTOR:g} probe "
                          f"points (what --set {parameter} gets by default: the pinned tables x the component models' "
                          "ratio, equal to the pinned tables at x1)")
    return out
