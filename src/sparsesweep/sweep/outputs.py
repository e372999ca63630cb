"""Write a finished sweep's outputs into ``--out``: tables, plots, report and run statistics."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .claims import check_all
from .report import write_report
from .runner import SweepRun
from .tables import common_layers, results_frame, summary_frame

RESULTS = "results.csv"
SUMMARY = "summary.csv"
REPORT = "report.md"
RUN_STATS = "run.json"


def write_outputs(run: SweepRun, out: Path, command: str, root: Path | None = None) -> list[Path]:
    """``results.csv``, ``summary.csv``, the plots, ``report.md`` and ``run.json``; returns the paths."""
    from .plots import write_plots  # matplotlib only when there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    axes = list(run.grid.axes)
    results = results_frame(run.outcomes, axes, run.backend, run.options.objective, root)
    summary = summary_frame(results, axes)
    results.to_csv(out / RESULTS, index=False)
    summary.to_csv(out / SUMMARY, index=False)
    # Claims and plots need complete network totals: when points failed, they use the layers that
    # every point evaluated, and say so.
    basis, left_out = common_layers(results, axes)
    scope = (f"over the {results['layer'].nunique() - len(left_out)} of {results['layer'].nunique()} layers every "
             f"point evaluated" if left_out else "")
    plots = write_plots(basis, run.grid.reference, out, scope)
    checked = check_all(basis, run.grid.reference)
    report = write_report(out / REPORT, run, results, summary, checked, plots, command, root,
                          basis=basis if left_out else None, left_out=left_out)
    stats = {**asdict(run.stats), "claims": {c.id: r.holds for c, r in checked}}
    (out / RUN_STATS).write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    return [out / RESULTS, out / SUMMARY, *plots, report, out / RUN_STATS]
