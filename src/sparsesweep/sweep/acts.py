"""Activation sparsity as its own axis: where dual-sided points take it from, and which dual rows
the claims and the break-even search read.

Dual-sided points use, in this order: ``--act-sparsity workload`` (each layer's
``activation_density`` from the workload), ``--act-sparsity S[,S...]`` (an axis crossed with
``--sparsity``), the scheme's ``activation_density``, else the weight sparsity (the study's setting).

The claims compare designs along the weight sparsity, so they hold the activation side fixed in
one of three ways (:func:`dual_act`): activation sparsity = weight sparsity (the study's setting;
chosen whenever it covers as many weight sparsities as any fixed value), one fixed activation
sparsity (the first given that covers the most weight sparsities, e.g. with
``--act-sparsity 0.3,0.5``), or the workload's per-layer densities.  Every dual verdict says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..specs.workload import Layer

WORKLOAD = "workload"  # --act-sparsity workload


@dataclass(frozen=True)
class DualAct:
    """How the dual-sided rows a comparison reads hold the activation sparsity."""

    mode: str  # "weight" (act = weight sparsity), "fixed" (one value), "workload" (per-layer densities)
    value: float | None = None  # the fixed activation sparsity

    def describe(self) -> str:
        if self.mode == "fixed":
            return f"activation sparsity {self.value:g} at every weight sparsity"
        if self.mode == "workload":
            return "activation densities per layer from the workload"
        return "activation sparsity = weight sparsity"

    def density(self, sparsity: float) -> float | None:
        """The activation density of a dual point at weight ``sparsity`` (None: per layer)."""
        if self.mode == "workload":
            return None
        return 1.0 - (self.value if self.mode == "fixed" and self.value is not None else sparsity)

    def variant_act(self) -> float | None:
        """The ``act_sparsity`` of a new dual variant in this mode (None: the weight sparsity)."""
        return self.value if self.mode == "fixed" else None


def dual_act(summary: pd.DataFrame) -> DualAct:
    """The activation side the dual rows of ``summary`` are compared at (see the module docs)."""
    dual = summary[summary["sides"].eq("dual") & summary["sparsity"].astype(float).gt(0)]
    if not len(dual):
        return DualAct("weight")
    act = pd.to_numeric(dual["act_sparsity"], errors="coerce").astype(float)
    sparsity = dual["sparsity"].astype(float)
    if act.isna().all():
        return DualAct("workload")
    best, covered = DualAct("weight"), sparsity[np.isclose(act, sparsity)].nunique()
    for value in dict.fromkeys(act.dropna()):
        n = sparsity[np.isclose(act, value)].nunique()
        if n > covered:
            best, covered = DualAct("fixed", float(value)), n
    return best


def dual_rows(rows: pd.DataFrame, how: DualAct) -> pd.DataFrame:
    """The dual-sided rows of ``rows`` that ``how`` selects (single-sided and dense rows are kept)."""
    dual = rows["sides"].eq("dual")
    act = pd.to_numeric(rows["act_sparsity"], errors="coerce").astype(float)
    if how.mode == "workload":
        keep = act.isna()
    elif how.mode == "fixed":
        keep = pd.Series(np.isclose(act, float(how.value)), index=rows.index)
    else:
        keep = pd.Series(np.isclose(act, rows["sparsity"].astype(float)), index=rows.index)
    return rows[~dual | keep]


def check_workload_acts(layers: Sequence[Layer], source: Path) -> None:
    """``--act-sparsity workload`` needs an activation_density on every swept layer."""
    missing = [layer.name for layer in layers if layer.activation_density is None]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise SpecError(f"--act-sparsity workload needs each layer's activation_density, and {shown} give none",
                        file=source, key="layers", fix="add activation_density: D (in (0, 1]) to those layers, or "
                        "give --act-sparsity numbers")
