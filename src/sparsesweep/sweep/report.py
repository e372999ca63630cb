"""``report.md``: the setup, the network totals, the claims with their evidence, the plots, and where
the model disagrees.  The text depends only on the results (no timings, no dates), so an
interrupted-and-resumed sweep writes the same report as an uninterrupted one."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import claims as claims_mod
from . import report_views as views
from .bounds import Violation
from .claims import Claim, ClaimResult, at_reference
from .grid import Grid, Variant
from .memprobes import PARAMETERS as MEMORY_CLAIMS
from .pointdirs import MAPPING_FILE, POINTS
from .runner import SweepRun
from .tables import variant_labels

VERDICT = {True: "holds", False: "**does not hold**", None: "not tested"}


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(path: Path, run: SweepRun, results: pd.DataFrame, summary: pd.DataFrame,
                 checked: list[tuple[Claim, ClaimResult]], plots: Sequence[Path], command: str,
                 root: Path | None = None, basis: pd.DataFrame | None = None, scope: str = "",
                 extra: Sequence[str | None] = (), violations: Sequence[Violation] = (),
                 layers: Callable[[str | None], str] | None = None, energies: Mapping[str, str] | None = None) -> Path:
    """``basis``: the totals over the layers every point at the reference setting evaluated, when some
    failed; ``scope``: which layers the claims and plots left out; ``extra``: more sections (e.g. the
    design variants), placed before the plots; ``energies``: claim id -> the energies its verdict read,
    when not only the sweep's (memory claims judged on memory probes)."""
    grid = run.grid
    parts = [f"# Sparsity sweep: {grid.workload.name}", "", f"Command: `{command}`", "",
             _setup(run, results, root), views.failures_by_cause(results, md_table), _bounds(results, violations),
             _totals(summary, grid.reference),
             _totals(basis, grid.reference, "This table leaves out the layers with a failed point at this "
                     "setting.") if basis is not None else None,
             _claims(checked, scope, views.computes_performed(basis if basis is not None else summary, grid.reference,
                                                              md_table), layers, _energy_label(run),
                     views.study_options(run, root, _rel), energies),
             views.per_layer(results, {**grid.reference, **grid.held}, md_table),  # memory probes: off the reference
             _model_notes(summary, grid.reference), *extra,
             _plots(plots, path.parent), views.provenance(grid, results, root, md_table, _rel), _rerun(results)]
    path.write_text("\n".join(p for p in parts if p is not None) + "\n", encoding="utf-8")
    return path


def _setup(run: SweepRun, results: pd.DataFrame, root: Path | None) -> str:
    grid = run.grid
    layers = grid.layers
    designs = grid.designs or {"base": grid.archs}
    macs = sum(layer.total_macs for layer in layers)
    lines = ["## Setup", "",
             f"- Workload: `{grid.workload.name}`: {len(layers)} of {len(grid.workload.layers)} layer shapes "
             f"({sum(layer.repeat for layer in layers)} layer instances, {macs / 1e9:.2f} GMACs); network totals "
             "weight every layer by its count.",
             f"- Points: {_points_text(grid, list(designs))}; {int(results['status'].eq('ok').sum())} evaluated, "
             f"{int(results['status'].ne('ok').sum())} failed.",
             f"- Backend: `{run.backend}`; every point's mapping comes from the backend's mapper (objective "
             f"`{run.options.objective}`, time limit {run.options.time_limit_s:g} s, seed {run.options.seed}).", ""]
    arch_rows = []
    for label, archs in designs.items():
        for topology, arch in sorted(archs.items()):
            kinds = sorted({v.scheme.name for v in grid.variants if v.scheme.topology == topology})
            source = _rel(arch.ert_path(), root)
            if arch.dense_ert and any(v.scheme.kind == "dense" and v.scheme.topology == topology
                                      for v in grid.variants):
                source += f"; dense points: {_rel(arch.ert_path(dense=True), root)}"
            arch_rows.append(((label,) if len(designs) > 1 else ()) + (topology, _rel(arch.source, root),
                                                                       ", ".join(kinds), source))
    lines += ["Architectures (each scheme runs on the arch of the topology its design needs: dense and structured "
              "N:M designs are the STC family of fig15 on the STC tree, unstructured bitmask designs are DSTC, whose "
              "tree has one LRF per core feeding its MAC array; the renderer refuses any other pairing):", "",
              md_table((("variant",) if len(designs) > 1 else ()) + ("topology", "arch file", "schemes",
                                                                     "pinned ERT"), arch_rows), "",
              _energy_text(run), ""]
    if grid.axes:
        lines += ["Swept parameters (other plots and claims hold each at its reference value):", "",
                  md_table(("parameter", "values", "reference"),
                           [(k, ", ".join(map(str, v)), grid.reference.get(k, f"moves with {grid.paired.get(k)}"))
                            for k, v in grid.axes.items()]), ""]
    notes = list(grid.notes) + [f"renderer: {w}" for w in run.warnings]
    if notes:
        lines += ["Notes and warnings:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def _points_text(grid: Grid, designs: Sequence[str]) -> str:
    """How the sweep's points add up: the grid (designs x layers x variants x memory settings), then the
    rounds added after it (break-even bisection, claim probes, memory probes)."""
    def key(v: Variant) -> tuple:
        return v.scheme.name, v.sides, v.sparsity, v.act_sparsity, v.act_from_workload

    kinds = {"break-even": 0, "claim probe": 0, "memory probe": 0}
    swept = {key(v) for v in grid.variants}
    own = 0
    for p in grid.points:
        if p.probe:
            kinds["memory probe" if p.probe in MEMORY_CLAIMS else "claim probe"] += 1
        elif key(p.variant) in swept:
            own += 1
        else:  # a sparsity only a break-even round evaluated
            kinds["break-even"] += 1
    cells = len(grid.variants) * len(grid.layers) * len(designs)
    variants = f" x {len(designs)} design variants ({', '.join(designs)})" if len(designs) > 1 else ""
    settings = f" x {own // max(1, cells)} memory settings" if grid.axes else ""
    text = (f"{len(grid.points)} = " if any(kinds.values()) else "") + (
        f"{own} grid points ({len(grid.variants)} designs x {len(grid.layers)} layers{variants}{settings})")
    return text + "".join(f" + {n} {kind} points" for kind, n in kinds.items() if n)


def _energy_text(run: SweepRun) -> str:
    source = run.energy.source if run.energy else "pinned"
    what = {
        "pinned": "the pinned energy reference tables above (pJ per action), used as they are: per-access energies "
                  "do not follow `--set` sizes or widths (a capacity changes mappings and traffic only).",
        "scaled": "the pinned tables above, each action multiplied by the component models' (hwcomponents: CACTI "
                  "SRAMs, Aladdin registers and MACs) ratio between the point's parameters and the table's "
                  "`derived_for` reference: equal to the pinned numbers at the reference setting, following memory "
                  "sizes and widths (metadata at its own word width) elsewhere.",
        "hwcomponents": "the component models' own energies (hwcomponents: CACTI SRAMs, Aladdin registers and MACs, "
                        "DRAM per bit); see the README for how they compare with the pinned tables.",
    }[source]
    text = f"**Energy source**: {_energy_label(run)}. Energies are {what}"
    areas = sorted({(round(a)) for a in (o.spec["info"].get("area_um2") for o in run.outcomes if o.spec) if a})
    if areas:
        text += (f" Design areas (component models, um^2; results.csv `area_um2`): {areas[0]:,}"
                 + (f"..{areas[-1]:,}" if len(areas) > 1 else "") + ".")
    return text


def _bounds(results: pd.DataFrame, violations: Sequence[Violation]) -> str:
    checked = int(results["status"].eq("ok").sum())
    lines = ["## Physics bounds", "",
             f"Checked on each of the {checked} evaluated rows: speedup over the dense baseline (same layer and "
             "memory setting) at most 1 / weight density single-sided and 1 / (weight density x activation "
             "density) dual-sided, times the dense point's own GEMM padding (its padded MACs over the layer's: a "
             "design that needs no K padding saves it); actual computes at most algorithmic (and actual + gated too: skipped is the "
             "rest); per-level energies adding up to the total. "
             + (f"**{len(violations)} violations** (also in the `bound_violations` column of results.csv):"
                if violations else "No row violates a bound."), ""]
    if violations:
        lines += [md_table(("point", "check", "value", "bound", "cause"),
                           [(v.point, v.check, f"{v.value:.4g}", f"{v.bound:.4g}", v.cause) for v in violations]), ""]
    return "\n".join(lines)


def _floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns as floats (NaN for missing), for arithmetic and formatting."""
    return frame.astype({c: float for c, t in frame.dtypes.items() if isinstance(t, pd.Int64Dtype)})


def _totals(summary: pd.DataFrame, reference: Mapping[str, Any], scope: str = "") -> str:
    rows = _floats(at_reference(summary, reference))
    table = []
    for r, label in zip(rows.itertuples(), variant_labels(rows)):
        skipped = 1 - r.actual_computes / r.algorithmic_computes if r.algorithmic_computes else float("nan")
        if r.kind != "dense" and r.sparsity == 0:
            label = f"{r.scheme} (own hardware, dense data)"
        probe = getattr(r, "probe", None)
        table.append((label, f"{r.sparsity:g}" + (" (claim probe)" if isinstance(probe, str) and probe else ""),
                      r.design, _num(r.energy_pj / 1e6, 1), _num(r.energy_vs_dense, 3),
                      _num(r.energy_vs_own_dense, 3), _num(r.cycles, 0), _num(r.cycles_vs_dense, 3),
                      _num(r.cycles_vs_own_dense, 3), _num(100 * skipped, 1),
                      "yes" if r.complete else f"no ({r.layers_failed} failed)"))
    setting = (" at " + ", ".join(f"{k}={v}" for k, v in reference.items())) if reference else ""
    title = f"## Network totals{setting}" + (", over the layers every point evaluated" if scope else "")
    return "\n".join([title, "", *([scope, ""] if scope else []),
                      md_table(("design", "sparsity", "hardware", "energy (uJ)", "energy / dense",
                                "energy / own dense", "cycles", "cycles / dense", "cycles / own dense",
                                "computes not performed (%)", "complete"), table), "",
                      "Two normalisations: `/ dense` is over the dense TC baseline (as Sparseloop's fig15); "
                      "`/ own dense` is over the same scheme's hardware at sparsity 0 (its row `own hardware, "
                      "dense data`). Every memory setting is in summary.csv; every layer in results.csv.", "",
                      _decomposition(rows)])


def _decomposition(rows: pd.DataFrame) -> str:
    """energy / dense = architecture cost (own dense / dense) x sparsity gain (energy / own dense)."""
    table = []
    for r, label in zip(rows.itertuples(), variant_labels(rows)):
        if r.kind == "dense" or r.sparsity == 0:
            continue
        for metric in ("energy", "cycles"):
            total, gain = getattr(r, f"{metric}_vs_dense"), getattr(r, f"{metric}_vs_own_dense")
            cost = total / gain if gain and not math.isnan(gain) else float("nan")
            table.append((label, f"{r.sparsity:g}",
                          metric, _num(total, 3), _num(cost, 3), _num(gain, 3)))
    if not table:
        return ""
    return "\n".join(["### Architecture cost x sparsity gain", "",
                      "Each design's ratio to the dense baseline splits into what its hardware costs running dense "
                      "data (architecture cost = own hardware at sparsity 0 / dense) and what sparsity saves on that "
                      "hardware (sparsity gain = point / own hardware at sparsity 0).", "",
                      md_table(("design", "sparsity", "metric", "vs dense", "architecture cost", "sparsity gain"),
                               table), ""])


def _energy_label(run: SweepRun) -> str:
    return run.energy.describe() if run.energy else "pinned (the arch's ERT files)"


def _claims(checked: list[tuple[Claim, ClaimResult]], scope: str = "", why: str = "",
            layers: Callable[[str | None], str] | None = None, energy: str = "", study: str = "",
            energies: Mapping[str, str] | None = None) -> str:
    """``study``: this sweep's own options, carried into every suggested command (see views.study_options)."""
    rows = []
    for c, r in checked:
        used = layers(c.axis) if layers else "all"
        for part in r.parts or ():
            # memory claims depend on how per-access energy follows size: each states the source it used
            label = (energies or {}).get(c.id, energy)
            source = f" [energy source: {label}]" if c.axis and label and part.holds is not None else ""
            rows.append((c.text, part.scope, VERDICT[part.holds], views.with_study(part.evidence, study) + source,
                         part.threshold or "-",
                         used, part.points or "-"))
        if not r.parts:
            rows.append((c.text, "-", VERDICT[r.holds], views.with_study(r.evidence, study), "-", used, "-"))
    tally = {v: sum(1 for c, r in checked for p in r.parts if p.holds is v) for v in (True, False, None)}
    lines = ["## Claims", "", *([scope, ""] if scope else []),
             f"The claims of {claims_mod.STUDY}, each checked against the network totals, one verdict per side "
             "(single / dual; per design kind for the dual-vs-single claims) and per normalisation where it "
             "matters (`own dense`: each design over its own hardware at sparsity 0). Break-evens are measured by "
             f"evaluating extra sparsities until evaluated points bracket them within {claims_mod.BREAK_EVEN_STEP:g}. "
             f"Verdicts: {tally[True]} hold, {tally[False]} do not hold, {tally[None]} not tested (each says the "
             "points and the command it needs).", "",
             md_table(("claim", "scope", "verdict", "evidence", "threshold", "layers", "points"), rows), ""]
    disagree = [(c, r) for c, r in checked if r.holds is False and r.notes]
    if disagree:
        lines += ["### Where our model disagrees, and why", ""]
        lines += [f"- **{c.text}** ({VERDICT[r.holds]}): {r.notes}" for c, r in disagree]
        lines += ["", why] if why else [""]
    elif why:  # the computes each design performs, even when no claim needs them explained
        lines += ["### Computes each design performs", "", why]
    return "\n".join(lines)


def _model_notes(summary: pd.DataFrame, reference: Mapping[str, Any]) -> str:
    rows = _floats(at_reference(summary, reference))
    pad = []
    for r, label in zip(rows.itertuples(), variant_labels(rows)):
        if r.complete and r.macs_orig:
            extra = r.algorithmic_computes / r.macs_orig - 1
            pad.append((label, f"{r.sparsity:g}",
                        r.design, f"{100 * extra:.1f}"))
    if not pad:
        return ""
    return "\n".join(["## Padding", "",
                      "Designs pad the GEMM to their spatial blocks (STC: M to the PE rows, K to the N:M block; DSTC: M "
                      "and N to the 32x32 core split), and padded MACs cost energy and cycles like real ones. Extra "
                      "algorithmic MACs over the network's own:", "",
                      md_table(("design", "sparsity", "hardware", "padding (%)"), pad), ""])


def _plots(plots: Sequence[Path], folder: Path) -> str:
    lines = ["## Plots", ""]
    for path in plots:
        lines += [f"![{path.stem}]({path.relative_to(folder) if path.is_relative_to(folder) else path})", ""]
    return "\n".join(lines)


def _rerun(results: pd.DataFrame) -> str:
    example = results["point"].iloc[0] if len(results) else "<point>"
    return "\n".join(["## Re-running a point on Timeloop", "",
                      f"Every point's rendered inputs are in `{POINTS}/<point>/` (the `point` column of results.csv): "
                      f"`input.yaml` and `ERT.yaml`, and `{MAPPING_FILE}` with the mapping the sweep found. "
                      "For example:", "", "```bash",
                      f"cd {POINTS}/{example}",
                      f"timeloop-model input.yaml ERT.yaml {MAPPING_FILE}   # this mapping",
                      "timeloop-mapper input.yaml ERT.yaml                # a new search in the same mapspace",
                      "```", ""])


def _num(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    return f"{value:,.{digits}f}"


def _rel(path: Path | None, root: Path | None) -> str:
    if path is None:
        return "-"
    if root is not None:
        try:
            return str(Path(path).resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)
