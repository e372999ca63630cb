"""Report sections a researcher quotes: the per-layer view, failed points grouped by cause, and the
provenance of every number (package version, git commit, file hashes, energy source)."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .acts import dual_act
from .claims_base import at_reference, series
from .tables import variant_labels

Table = Callable[[Sequence[str], Sequence[Sequence[Any]]], str]


def per_layer(results: pd.DataFrame, reference: Mapping[str, Any], table: Table) -> str:
    """Which layers gain (energy below their own dense point) or lose, per design and sparsity."""
    rows = results[results["status"].eq("ok")]
    for name, value in reference.items():
        if name in rows.columns:
            rows = rows[rows[name].eq(value)]
    if "variant" in rows.columns and len(rows):
        rows = rows[rows["variant"].eq(rows["variant"].iloc[0])]
    dense = rows[rows["kind"].eq("dense")].set_index("layer")["energy_pj"].astype(float)
    sparse = rows[~rows["kind"].eq("dense") & rows["sparsity"].gt(0)]
    if not len(dense) or not len(sparse):
        return ""
    out = []
    sparse = sparse.assign(label=variant_labels(sparse))
    first = {label: i for i, label in enumerate(dict.fromkeys(sparse["label"]))}
    groups = sorted(sparse.groupby(["label", "sparsity"], sort=False), key=lambda kv: (first[kv[0][0]], kv[0][1]))
    for (label, s), group in groups:  # designs in sweep order, each by sparsity (break-even points in place)
        ratio = (group.set_index("layer")["energy_pj"].astype(float) / dense).dropna().sort_values()
        lose = ratio[ratio >= 1]
        probe = "probe" in group.columns and bool(group["probe"].notna().all())  # added for one claim only
        out.append((label, f"{s:g}" + (" (claim probe)" if probe else ""), f"{int((ratio < 1).sum())} of {len(ratio)}",
                    ", ".join(f"{k} ({v:.2f})" for k, v in lose.items()) or "none",
                    f"{ratio.index[0]} ({ratio.iloc[0]:.2f})", f"{ratio.index[-1]} ({ratio.iloc[-1]:.2f})"))
    return "\n".join(["## Per layer", "",
                      "Each layer's energy over the same layer's dense point (results.csv has every number; "
                      "`layers_energy.png` plots them).", "",
                      table(("design", "sparsity", "layers that gain", "layers that lose (energy / dense)",
                             "best", "worst"), out), ""])


def computes_performed(summary: pd.DataFrame, reference: Mapping[str, Any], table: Table) -> str:
    """Per design (rows) and weight sparsity (columns): the share of its algorithmic MACs actually
    performed (summary.csv ``actual_computes / algorithmic_computes``), and each design's GEMM padding."""
    rows = at_reference(summary, reference)
    rows = rows.assign(performed=rows["actual_computes"].astype(float) / rows["algorithmic_computes"].astype(float),
                       padding=rows["algorithmic_computes"].astype(float) / rows["macs_orig"].astype(float) - 1)
    shares: dict[str, pd.Series] = {}
    pad = []
    for kind in ("structured", "unstructured"):
        for sides in ("single", "dual"):
            perf = series(rows, kind, sides, "performed")
            if len(perf):
                shares[f"{kind} {sides}"] = perf
        padding = series(rows, kind, "single", "padding").dropna()
        if len(padding):
            lo, hi = 100 * padding.min(), 100 * padding.max()
            pad.append(f"{kind} {lo:.1f}%" if round(lo, 1) == round(hi, 1) else f"{kind} {lo:.1f}..{hi:.1f}%")
    if not shares:
        return ""
    sparsities = sorted({float(s) for perf in shares.values() for s in perf.index})
    cells = [(name, *(f"{100 * perf[s]:.1f}" if s in perf.index and pd.notna(perf[s]) else "-" for s in sparsities))
             for name, perf in shares.items()]
    act = dual_act(rows).describe()
    text = [f"Share of each design's algorithmic MACs actually performed (%, summary.csv actual_computes / "
            f"algorithmic_computes), by weight sparsity (columns; '-': not evaluated; dual: {act}):", "",
            table(("design", *(f"{s:g}" for s in sparsities)), cells), ""]
    if pad:
        text += [f"GEMM padding adds {', '.join(pad)} MACs over the network's own (padded MACs cost like real ones; "
                 "per sparsity in the Padding section).", ""]
    return "\n".join(text)


def study_options(run: Any, root: Path | None, rel: Callable[[Path | None, Path | None], str]) -> str:
    """The options that define this study beyond the default one (workload, layers, archs, backend,
    objective, component-model energies, schemes of both kinds), as command-line text: a claim's
    suggested command adds its points to this study, not to the default one."""
    from ..specs.paths import resolve_named
    from .grid import BASE_VARIANT, DEFAULT_WORKLOAD, default_schemes

    grid, out = run.grid, []
    workload = grid.inputs[0] if grid.inputs else None
    if workload is not None and Path(workload).resolve() != Path(resolve_named(DEFAULT_WORKLOAD, "workloads",
                                                                               "workload")).resolve():
        out += ["--workload", rel(workload, root)]
    if len(grid.layers) < len(grid.workload.layers):
        out += ["--layers", ",".join(layer.name for layer in grid.layers)]
    for label, design in (grid.designs or {}).items():
        for topology, arch in sorted(design.items()):
            default = Path(resolve_named(topology, "arch", "arch")).resolve()
            if label != BASE_VARIANT or arch.source is None or Path(arch.source).resolve() != default:
                given = rel(arch.source, root)
                out += ["--arch", given if label == BASE_VARIANT else f"{label}={given}"]
    if run.backend != "native":
        out += ["--backend", run.backend]
    if run.options.objective != "edp":
        out += ["--objective", run.options.objective]
    if run.energy is not None and run.energy.source == "hwcomponents":
        out += ["--energy", "hwcomponents"]
    names = [scheme.name for scheme in grid.schemes]
    kinds = {scheme.kind for scheme in grid.schemes}
    if {"structured", "unstructured"} <= kinds and tuple(names) != default_schemes(run.backend):
        out += ["--schemes", ",".join(names)]
    return " ".join(shlex.quote(token) for token in out)


def with_study(evidence: str, options: str) -> str:
    """``evidence`` with every suggested ``python sweep.py`` command carrying ``options`` (those the
    suggestion sets itself, e.g. ``--schemes``, stay the suggestion's)."""
    if not options:
        return evidence

    def carry(match: re.Match[str]) -> str:
        command = match.group(1)
        tokens = shlex.split(options)
        kept, i = [], 0
        while i < len(tokens):
            if tokens[i] in command.split():  # the suggestion sets this option itself
                i += 2
                continue
            kept += tokens[i:i + 2]
            i += 2
        extra = " ".join(shlex.quote(t) for t in kept)
        return f"`python sweep.py {extra + ' ' if extra else ''}{command}`"

    return re.sub(r"`python sweep\.py ([^`]*)`", carry, evidence)


def _cause(error: str, layer: str) -> str:
    """An error message with the point-specific parts (layer, numbers) masked, to group by."""
    text = str(error).replace(layer, "<layer>")
    return re.sub(r"\b\d+(\.\d+)?\b", "N", text)


def failures_by_cause(results: pd.DataFrame, table: Table) -> str | None:
    failed = results[results["status"].ne("ok")]
    if not len(failed):
        return None
    groups: dict[str, list[str]] = {}
    for r in failed.itertuples():
        groups.setdefault(_cause(r.error, r.layer), []).append(r.point)
    rows = [(len(points), cause, ", ".join(points[:6]) + (f" and {len(points) - 6} more" if len(points) > 6 else ""))
            for cause, points in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
    return "\n".join([f"## Failed points ({len(failed)}, {len(groups)} causes)", "",
                      "These points have `status: failed` in results.csv (each with its full error); network totals "
                      "that need them are left empty. Grouped by cause (layer names and numbers masked):", "",
                      table(("points", "cause", "which"), rows), ""])


def _sha(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return "unreadable"


def _git_commit(root: Path | None) -> str:
    if root is None:
        return "none (no data root)"
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "none (git not available)"
    if done.returncode != 0:
        return "none (not a git checkout)"
    return done.stdout.strip()[:12] + (" with local changes" if dirty.stdout.strip() else "")


def provenance(grid: Any, results: pd.DataFrame, root: Path | None, table: Table,
               rel: Callable[[Path | None, Path | None], str]) -> str:
    files: dict[str, str] = {}
    for label, design in (grid.designs or {"base": grid.archs}).items():
        for topology, arch in sorted(design.items()):
            files[rel(arch.source, root)] = f"arch ({label}/{topology})"
            for dense in (False, True):
                path = arch.ert_path(dense=dense)
                if path is not None:
                    files.setdefault(rel(path, root), f"energy table ({topology}{', dense points' if dense else ''})")
    for path in grid.inputs:
        files.setdefault(rel(path, root), "workload" if "workloads" in Path(path).parts else "scheme")
    rows = [(name, what, _sha(root / name if root and not Path(name).is_absolute() else Path(name)))
            for name, what in files.items()]
    sources = sorted(set(results["energy_source"].dropna())) if "energy_source" in results else []
    return "\n".join(["## Provenance", "",
                      f"- Package: sparsesweep {__version__}; git commit: {_git_commit(root)}",
                      f"- Energy source: {'; '.join(sources) or '-'}", "",
                      "Every input file, with the first 16 hex digits of its SHA-256:", "",
                      table(("file", "what", "sha256"), rows), ""])
