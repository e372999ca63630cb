"""Write a finished sweep's outputs into ``--out``: tables, plots, report and run statistics."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from typing import Any

import pandas as pd

from . import bounds as bounds_mod
from .claims import axis_column, check_all
from .figcache import FigureCache
from .memprobes import fill_held, is_memory_probe, probe_energies
from .report import write_report
from .runner import SweepRun
from .tables import common_layers, results_frame, summary_frame

RESULTS = "results.csv"
SUMMARY = "summary.csv"
REPORT = "report.md"
RUN_STATS = "run.json"


class Bases:
    """Network totals for each comparison, over the layers every point of it evaluated.

    ``bases(None)`` is the reference setting (every axis at its reference value); ``bases(name)``
    lets one swept parameter (name or column) vary.  When no point failed, every basis is the full
    summary.  ``left_out`` records the layers each basis dropped; ``note(name)`` says so in words.
    """

    def __init__(self, results: pd.DataFrame, axes: list[str], reference: dict[str, Any]) -> None:
        self.results, self.axes, self.reference = results, axes, reference
        self.left_out: dict[str | None, list[str]] = {}
        self._summaries: dict[str | None, pd.DataFrame] = {}

    def column(self, name: str | None) -> str | None:
        if name is None:
            return None
        column = axis_column(self.axes, name)
        return column if column in self.axes else None

    def __call__(self, name: str | None) -> pd.DataFrame:
        free = self.column(name)
        if free not in self._summaries:
            self._summaries[free], self.left_out[free] = common_layers(self.results, self.axes, self.reference, free)
        return self._summaries[free]

    def note(self, name: str | None) -> str:
        self(name)
        left = self.left_out[self.column(name)]
        total = self.results["layer"].nunique()
        if len(left) == total:
            return "no layer evaluated at every point: points with a failed layer are left out"
        return f"over the {total - len(left)} of {total} layers every point evaluated" if left else ""

    def scope(self) -> str:
        """One sentence on what the claims and plots left out ('' when nothing failed)."""
        total = self.results["layer"].nunique()
        parts = [f"{'at the reference setting' if free is None else 'along ' + free}: "
                 + (', '.join(left) if len(left) < total else "every layer (only points whose own layers all "
                    "evaluated count there)")
                 for free, left in self.left_out.items() if left]
        if not parts:
            return ""
        return ("Some points failed, so each comparison (claims, plots) uses the layers that every point in it "
                f"evaluated; left out {'; '.join(parts)}.")


def _layers_used(run: SweepRun, results: pd.DataFrame) -> str:
    """``all 30`` (every layer of the workload), or ``4 of 30 (--layers)`` when the sweep took a subset."""
    swept, total = results["layer"].nunique(), len(run.grid.workload.layers)
    return f"all {swept}" if swept >= total else f"{swept} of {total} (--layers)"


def write_outputs(run: SweepRun, out: Path, command: str, root: Path | None = None,
                  figures: FigureCache | None = None) -> list[Path]:
    """``results.csv``, ``summary.csv``, the plots, ``report.md`` and ``run.json``; returns the paths.
    ``figures``: where plots drawn from the same tables before are kept (default: none, draw them)."""
    from . import plots as plots_module  # matplotlib only when there is something to draw
    from .designplots import layers_plot, plot_title, variants_plot, variants_section

    out.mkdir(parents=True, exist_ok=True)
    axes, reference, held = list(run.grid.axes), run.grid.reference, run.grid.held
    tabled = axes + [c for c in held if c not in axes]  # memory probes' columns too (see .memprobes)
    everything = results_frame(run.outcomes, tabled, run.backend, run.options.objective, root)
    if held:
        fill_held(everything, run.outcomes, held)
    lanes = {arch.name: arch.cores * arch.pes_per_core for arch in run.grid.archs.values()}
    violations = bounds_mod.check_rows(everything, tabled, lanes)
    everything.insert(everything.columns.get_loc("status") + 1, "bound_violations",
                      bounds_mod.violations_column(everything, violations))
    everything.to_csv(out / RESULTS, index=False)
    summary_frame(everything, tabled).to_csv(out / SUMMARY, index=False)
    # Memory probes sit off the reference setting: only their claims read them (below).
    off = is_memory_probe(everything)
    results = everything[~off] if off.any() else everything
    summary = summary_frame(results, axes)
    # With several design variants, the claims, totals and standard plots use the first; the
    # variants are compared in their own plot and report section.
    first = results["variant"].iloc[0] if len(results) else None
    own = results[results["variant"].eq(first)] if results["variant"].nunique() > 1 else results
    bases = Bases(own, axes, reference)
    title = plot_title(run.grid.workload.name, results)
    probed = results["probe"].notna()  # claim probes are read by their claims only, not drawn
    plain = Bases(own[~probed[own.index]], axes, reference) if probed.any() else bases
    figures = figures or FigureCache(None)
    drawn = [plain(None), *(plain(axis) for axis in reference), [plain.note(a) for a in (None, *reference)]]
    plots = figures.draw(out, ["sweep plots", drawn, reference, title],
                         lambda: plots_module.write_plots(plain, reference, out, title))
    layer_rows, variant_rows = results[~probed], summary[summary["probe"].isna()]
    plots += figures.draw(out, ["layers and variants", layer_rows, variant_rows, reference, title], lambda: [
        p for p in (layers_plot(layer_rows, reference, out / "layers_energy.png", title),
                    variants_plot(variant_rows, reference, out / "variants_energy.png", title)) if p])
    own_summary = summary_frame(own, axes) if own is not results else summary
    memory = Bases(everything[everything["variant"].eq(first)], tabled, {**reference, **held}) if off.any() else None

    def basis(axis: str | None) -> Bases:  # a memory claim judged on its probes reads them and their column
        return memory if memory is not None and axis is not None and axis_column(tabled, axis) in held else bases

    checked = check_all(own_summary, reference, lambda axis: basis(axis)(axis))
    report = write_report(out / REPORT, run, everything, own_summary, checked, plots, command, root,
                          basis=bases(None) if bases.left_out[None] else None, scope=bases.scope(),
                          extra=[variants_section(summary, reference)], violations=violations,
                          layers=lambda axis: basis(axis).note(axis) or _layers_used(run, results),
                          energies=probe_energies(everything, run))
    stats = {**asdict(run.stats), "bound_violations": len(violations),
             "claims": {c.id: {p.scope: p.holds for p in r.parts} or r.holds for c, r in checked}}
    (out / RUN_STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return [out / RESULTS, out / SUMMARY, *plots, report, out / RUN_STATS]
