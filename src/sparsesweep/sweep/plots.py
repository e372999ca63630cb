"""The sweep's plots (PNG, matplotlib's Agg backend; no display needed).

* ``energy_vs_sparsity.png`` / ``cycles_vs_sparsity.png``: network energy and cycles over weight
  sparsity per design (scheme x sides), normalised to the dense baseline (as Sparseloop's fig15);
  each curve starts at its own hardware's value at sparsity 0;
* ``energy_vs_own_dense.png`` / ``cycles_vs_own_dense.png``: the same normalised to each design's
  own hardware at sparsity 0 (the sparsity gain alone);
* ``energy_breakdown.png``: stacked bars of the per-level energy of every point, normalised to the
  dense total;
* ``axis_<parameter>.png``: one per swept arch parameter: network energy over its values, one panel
  per sparsity, normalised to dense at the parameter's reference value;
* ``area_<parameter>.png``: one per swept parameter that changes the design area: network energy
  (normalised as above) against the design's area (mm^2, component models), each point marked with
  the parameter's value.

All plots hold the other swept parameters at their reference values and are titled with the
workload, backend and energy source.  Markers are the evaluated points; dotted lines only connect
them (nothing between them was evaluated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .claims import at_reference
from .tables import variant_labels

DPI = 110
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")
JOIN = {"ls": ":", "lw": 0.9}  # lines between evaluated points only guide the eye


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, imported on the first drawing (a warm sweep whose
    plots come from the store never imports it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Bases(Protocol):
    """The summary each plot draws (see :class:`~.outputs.Bases`)."""

    def __call__(self, name: str | None) -> pd.DataFrame: ...

    def note(self, name: str | None) -> str: ...


def write_plots(bases: Bases, reference: Mapping[str, Any], out: Path, title: str = "") -> list[Path]:
    """Write every plot into ``out``; returns the files written.  ``bases(None)`` feeds the plots over
    sparsity, ``bases(axis)`` the plot of that axis; ``bases.note`` titles plots that left layers out."""
    rows = at_reference(bases(None), reference)
    drawn = [
        (_vs_sparsity(rows, "energy_vs_dense", "network energy / dense"), "energy_vs_sparsity.png", None),
        (_vs_sparsity(rows, "cycles_vs_dense", "network cycles / dense"), "cycles_vs_sparsity.png", None),
        (_vs_sparsity(rows, "energy_vs_own_dense", "network energy / own hardware at sparsity 0"),
         "energy_vs_own_dense.png", None),
        (_vs_sparsity(rows, "cycles_vs_own_dense", "network cycles / own hardware at sparsity 0"),
         "cycles_vs_own_dense.png", None),
        (_breakdown(rows), "energy_breakdown.png", None),
    ]
    drawn += [(_axis(bases(axis), reference, axis), f"axis_{axis}.png", axis) for axis in reference]
    drawn += [(_area(bases(axis), reference, axis), f"area_{axis}.png", axis) for axis in reference
              if _changes_area(bases(axis), reference, axis)]
    return [_save(fig, out / name, "\n".join(t for t in (title, bases.note(axis)) if t)) for fig, name, axis in drawn]


def legend(ax: Any, **kwargs: Any) -> None:
    """The legend of ``ax``, or, when nothing on it is labelled (every point failed), a note saying so
    (matplotlib would warn about an empty legend)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)
    else:
        ax.text(0.5, 0.5, "no evaluated point to show", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color="grey")


def _labelled(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(label=variant_labels(rows))


def _vs_sparsity(rows: pd.DataFrame, metric: str, ylabel: str) -> Any:
    rows = _labelled(rows)
    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    ax.axhline(1.0, color="grey", lw=1, ls="--", label="own hardware at sparsity 0" if "own" in metric else "dense")
    own = rows[rows["sparsity"].eq(0) & ~rows["kind"].eq("dense")].drop_duplicates("scheme")
    zero = dict(zip(own["scheme"], own[metric].astype(float)))
    curves = rows[rows["sparsity"].gt(0) & ~rows["kind"].eq("dense")]
    for i, (label, group) in enumerate(curves.groupby("label", sort=False)):
        group = group.sort_values("sparsity")
        start = zero.get(group["scheme"].iloc[0])  # each design starts at its own hardware's sparsity-0 value
        xs = ([0.0] if start is not None else []) + list(group["sparsity"])
        ys = ([start] if start is not None else []) + list(group[metric])
        ax.plot(xs, ys, marker=MARKERS[i % len(MARKERS)], label=label, **JOIN)
    sparsity_ticks(ax, [0.0, *rows["sparsity"].astype(float)])
    ax.set_xlabel("weight sparsity (markers: evaluated points)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    legend(ax, fontsize=8)
    return fig


def sparsity_ticks(ax: Any, values: Sequence[float], gap: float = 0.08) -> list[float]:
    """A tick at every evaluated sparsity; labels only where they do not collide (at least ``gap`` of the
    axis span apart), the shortest numbers first (0.5 before the break-even point 0.4525 beside it).
    Returns the labelled values."""
    ticks = sorted(set(values))
    span = (ticks[-1] - ticks[0]) or 1.0
    labelled: list[float] = []
    for value in sorted(ticks, key=lambda v: (len(f"{v:g}"), v)):
        if all(abs(value - other) >= gap * span for other in labelled):
            labelled.append(value)
    ax.set_xticks(ticks, [f"{v:g}" if v in labelled else "" for v in ticks])
    return sorted(labelled)


def _breakdown(rows: pd.DataFrame) -> Any:
    rows = _labelled(rows)
    levels = [c for c in rows.columns if c.startswith("energy_pj.") and c.count(".") == 1]
    dense = rows.loc[rows["kind"].eq("dense"), "energy_pj"]
    base = float(dense.iloc[0]) if len(dense) else float("nan")
    names = [lb if lb == "dense" else f"{lb} {s:g}" for lb, s in zip(rows["label"], rows["sparsity"])]
    fig, ax = pyplot().subplots(figsize=(max(6.4, 0.55 * len(rows) + 2), 4.4))
    bottom = np.zeros(len(rows))
    for level in levels:
        values = rows[level].astype(float).fillna(0).to_numpy() / base
        ax.bar(range(len(rows)), values, bottom=bottom, label=level.split(".", 1)[1])
        bottom += values
    ax.set_xticks(range(len(rows)), names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("network energy / dense")
    legend(ax, fontsize=8, title="level")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _along(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str) -> tuple[pd.DataFrame, float, list[float]]:
    """Rows along one --set axis (the others at their reference), the dense energy at the axis's
    reference value (the normalisation), and the nonzero sparsities (one panel each)."""
    rows = _labelled(at_reference(summary, reference, free=axis))
    dense_ref = rows[rows["kind"].eq("dense") & rows[axis].eq(reference[axis])]["energy_pj"]
    base = float(dense_ref.iloc[0]) if len(dense_ref) else float("nan")
    return rows, base, sorted(s for s in rows["sparsity"].unique() if s > 0) or [0.0]


def _axis(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str) -> Any:
    rows, base, sparsities = _along(summary, reference, axis)
    fig, axes = pyplot().subplots(1, len(sparsities), figsize=(3.6 * len(sparsities) + 1, 3.8), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], sparsities):
        panel = rows[rows["sparsity"].eq(s) | rows["kind"].eq("dense")]
        for i, (label, group) in enumerate(panel.groupby("label", sort=False)):
            group = group.sort_values(axis)
            style = {"color": "grey"} if label == "dense" else {}
            ax.plot(group[axis], group["energy_pj"] / base, marker=MARKERS[i % len(MARKERS)], label=label,
                    **{**JOIN, **style})
        ax.set_title(f"sparsity {s:g}", fontsize=9)
        ax.set_xlabel(f"{axis} (dense = 1 at {_value(reference[axis])})")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("network energy / dense")
    legend(axes[0][-1], fontsize=7)
    return fig


def _changes_area(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str) -> bool:
    if "area_um2" not in summary:
        return False
    rows = at_reference(summary, reference, free=axis)
    return bool(rows.groupby("design", dropna=False)["area_um2"].nunique().gt(1).any())


def _area(summary: pd.DataFrame, reference: Mapping[str, Any], axis: str) -> Any:
    rows, base, sparsities = _along(summary, reference, axis)
    fig, axes = pyplot().subplots(1, len(sparsities), figsize=(3.8 * len(sparsities) + 1, 3.8), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], sparsities):
        panel = rows[rows["sparsity"].eq(s) | rows["kind"].eq("dense")]
        for i, (label, group) in enumerate(panel.groupby("label", sort=False)):
            group = group.sort_values(axis)
            style = {"color": "grey"} if label == "dense" else {}
            area = group["area_um2"].astype(float) / 1e6
            ax.plot(area, group["energy_pj"] / base, marker=MARKERS[i % len(MARKERS)], label=label,
                    **{**JOIN, **style})
            for x, y, v in zip(area, group["energy_pj"] / base, group[axis]):
                ax.annotate(_value(v), (x, y), fontsize=6, textcoords="offset points", xytext=(3, 3))
        ax.set_title(f"sparsity {s:g}", fontsize=9)
        ax.set_xlabel(f"design area (mm^2) along {axis}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"network energy / dense at {axis}={_value(reference[axis])}")
    legend(axes[0][-1], fontsize=7)
    return fig


def _value(value: Any) -> str:
    """A swept value for a label: numbers as ``%g``, anything else (e.g. a DRAM type) as it is."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _save(fig: Any, path: Path, scope: str) -> Path:
    if scope:
        fig.suptitle(scope, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path
