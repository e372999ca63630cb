"""Plots and report text that compare layers and design variants (PNG, matplotlib's Agg backend).

* ``layers_energy.png``: per layer, the energy of every design over that layer's dense energy,
  one panel per nonzero sparsity (and design variant), at the reference setting;
* ``variants_energy.png`` (two or more design variants): network energy of every design and
  sparsity, one bar per variant, all normalised to the dense point of the first variant;
* :func:`variants_section`: the report's "Design variants" table.

Bars show evaluated points only.  Every figure is titled with the workload, backend and energy source.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .claims import at_reference
from .plots import legend, pyplot
from .tables import variant_labels

DPI = 110


def plot_title(workload: str, results: pd.DataFrame) -> str:
    """``resnet50 | backend native | energy: pinned ERT tc_45nm.yaml, stc_45nm.yaml``, wrapped to fit."""
    backends = ", ".join(dict.fromkeys(str(b) for b in results["backend"].dropna()))
    kinds: dict[str, list[str]] = {}
    for source in dict.fromkeys(str(s) for s in results["energy_source"].dropna()):
        path, _, kind = source.partition(" (")
        kinds.setdefault(kind.rstrip(")") or "energy", []).append(Path(path).name)
    sources = "; ".join(f"{kind} {', '.join(names)}" for kind, names in kinds.items())
    return textwrap.fill(f"{workload} | backend {backends or '?'} | energy: {sources or '?'}", width=100)


def _labels(rows: pd.DataFrame) -> list[str]:
    return variant_labels(rows)


def layers_plot(results: pd.DataFrame, reference: Mapping[str, Any], path: Path, title: str) -> Path | None:
    """Per-layer energy / dense per design (``layers_energy.png``); None when nothing is sparse."""
    rows = at_reference(results[results["status"].eq("ok")], reference)
    if not len(rows) or not rows["sparsity"].gt(0).any():
        return None
    rows = rows.assign(label=_labels(rows))
    dense = rows[rows["kind"].eq("dense")].set_index(["variant", "layer"])["energy_pj"].to_dict()
    rows = rows.assign(ratio=[r.energy_pj / dense.get((r.variant, r.layer), np.nan) for r in rows.itertuples()])
    layers = list(dict.fromkeys(results["layer"]))
    panels = [(v, s) for v in dict.fromkeys(rows["variant"]) for s in sorted(rows["sparsity"].unique()) if s > 0]
    designs = [lb for lb in dict.fromkeys(rows["label"]) if lb != "dense"]
    fig, axes = pyplot().subplots(len(panels), 1, figsize=(max(6.4, 0.42 * len(layers) * max(1, len(designs)) / 2 + 2),
                                                      2.9 * len(panels) + 0.8), squeeze=False, sharex=True)
    width = 0.8 / max(1, len(designs))
    for ax, (variant, sparsity) in zip(axes[:, 0], panels):
        panel = rows[rows["variant"].eq(variant) & rows["sparsity"].eq(sparsity)]
        for i, label in enumerate(designs):
            got = panel[panel["label"].eq(label)].groupby("layer")["ratio"].first()
            xs = np.arange(len(layers)) + (i - (len(designs) - 1) / 2) * width
            ax.bar(xs, [got.get(layer, np.nan) for layer in layers], width=width, label=label)
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        name = f"sparsity {sparsity:g}" + (f", variant {variant}" if rows["variant"].nunique() > 1 else "")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("layer energy / dense", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    legend(axes[0, 0], fontsize=7, ncol=2)
    axes[-1, 0].set_xticks(range(len(layers)), layers, rotation=70, ha="right", fontsize=7)
    return _save(fig, path, title)


def variants_plot(summary: pd.DataFrame, reference: Mapping[str, Any], path: Path, title: str) -> Path | None:
    """Network energy of every design and sparsity, one bar per variant, over the first variant's dense energy."""
    rows = at_reference(summary, reference)
    variants = list(dict.fromkeys(rows["variant"]))
    if len(variants) < 2:
        return None
    rows = rows.assign(label=_labels(rows))
    first_dense = rows[rows["variant"].eq(variants[0]) & rows["kind"].eq("dense")]["energy_pj"]
    base = float(first_dense.iloc[0]) if len(first_dense) else float("nan")
    groups = list(dict.fromkeys(zip(rows["label"], rows["sparsity"])))
    energy = rows.set_index(["label", "sparsity", "variant"])["energy_pj"].to_dict()
    fig, ax = pyplot().subplots(figsize=(max(6.4, 0.5 * len(groups) * len(variants) + 2), 4.4))
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        xs = np.arange(len(groups)) + (i - (len(variants) - 1) / 2) * width
        ax.bar(xs, [energy.get((lb, s, variant), np.nan) / base for lb, s in groups], width=width, label=variant)
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xticks(range(len(groups)), [lb if lb == "dense" else f"{lb} {s:g}" for lb, s in groups], rotation=45,
                  ha="right", fontsize=7)
    ax.set_ylabel(f"network energy / dense of {variants[0]}")
    ax.grid(axis="y", alpha=0.3)
    legend(ax, fontsize=8, title="variant")
    return _save(fig, path, title)


def variants_section(summary: pd.DataFrame, reference: Mapping[str, Any]) -> str | None:
    """The report's comparison of design variants at the reference setting (None with one variant)."""
    rows = at_reference(summary, reference)
    variants = list(dict.fromkeys(rows["variant"]))
    if len(variants) < 2:
        return None
    first = variants[0]
    rows = rows.assign(label=_labels(rows))
    keyed = rows.set_index(["label", "sparsity", "variant"])
    header = ["design", "sparsity", *(f"{v} energy / dense" for v in variants),
              *(f"{v} energy / {first}" for v in variants[1:]), *(f"{v} cycles / {first}" for v in variants[1:])]
    lines = []
    for (label, sparsity), _ in rows.groupby(["label", "sparsity"], sort=False):
        def get(variant: str, column: str) -> float:
            try:
                return float(keyed.loc[(label, sparsity, variant), column])
            except (KeyError, TypeError, ValueError):
                return float("nan")

        cells = [label, f"{sparsity:g}", *(f"{get(v, 'energy_vs_dense'):.3f}" for v in variants),
                 *(f"{get(v, 'energy_pj') / get(first, 'energy_pj'):.3f}" for v in variants[1:]),
                 *(f"{get(v, 'cycles') / get(first, 'cycles'):.3f}" for v in variants[1:])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([
        "## Design variants", "",
        f"Variants {', '.join(f'`{v}`' for v in variants)} (see Setup for their arch files). The claims, the totals "
        f"and the plots above use `{first}`; each variant's `energy / dense` is over its own dense point, and the "
        f"ratios compare network totals with `{first}`'s at the same design and sparsity "
        "(`variants_energy.png`).", "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header), *lines, ""])


def _save(fig: Any, path: Path, title: str) -> Path:
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path
