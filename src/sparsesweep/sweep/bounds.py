"""Physical bounds every result row must respect, checked on every row of ``results.csv``.

* **speedup**: a design's cycles over the dense baseline's (same layer, same memory setting) can
  beat the dense point by at most the work it removes: ``1 / weight density`` single-sided,
  ``1 / (weight density x activation density)`` dual-sided, times the dense point's own padding
  (its padded MACs over the layer's, e.g. 160/147 on conv1), which a design without it saves;
* **computes**: ``actual <= algorithmic`` and ``actual + gated <= algorithmic`` (skipped is the rest);
* **energy**: the per-level energies add up to the total.

A violation is a row and a check, with the numbers and the likeliest cause (read from the row and
its dense baseline), so the report can list it.  A correct study has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

REL = 1e-6  # relative slack of every check (rounding of summed floats)


@dataclass(frozen=True)
class Violation:
    point: str
    check: str  # speedup | computes | energy
    value: float
    bound: float
    cause: str

    def text(self) -> str:
        return f"{self.check}: {self.value:.6g} > bound {self.bound:.6g} ({self.cause})"


def check_rows(results: pd.DataFrame, axes: Sequence[str] = (), macs_per_cycle: dict[str, int] | None = None
               ) -> list[Violation]:
    """Every violation in ``results`` (rows with status ok); ``macs_per_cycle``: MACs of each arch."""
    ok = results[results["status"].eq("ok")]
    out: list[Violation] = []
    out += _computes(ok)
    out += _energy(ok)
    out += _speedup(ok, list(axes), macs_per_cycle or {})
    return out


def violations_column(results: pd.DataFrame, violations: Sequence[Violation]) -> pd.Series:
    """Per row: the checks it violates ('' when none)."""
    by_point: dict[str, list[str]] = {}
    for v in violations:
        by_point.setdefault(v.point, []).append(v.check)
    return results["point"].map(lambda p: ";".join(by_point.get(p, [])))


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(frame[col], errors="coerce").astype(float)


def _computes(ok: pd.DataFrame) -> list[Violation]:
    out = []
    alg, act = _num(ok, "algorithmic_computes"), _num(ok, "actual_computes")
    done = act + _num(ok, "gated_computes").fillna(0)
    for i in ok.index[act > alg * (1 + REL)]:
        out.append(Violation(ok.at[i, "point"], "computes", act[i], alg[i],
                             "more MACs performed than the problem has: an engine compute-count error"))
    for i in ok.index[(done <= alg * (1 + REL)) & (_num(ok, "skipped_computes") < -0.5)]:
        out.append(Violation(ok.at[i, "point"], "computes", done[i], alg[i], "negative skipped computes"))
    for i in ok.index[(done > alg * (1 + REL)) & (act <= alg * (1 + REL))]:
        out.append(Violation(ok.at[i, "point"], "computes", done[i], alg[i],
                             "actual + gated exceeds algorithmic: MACs counted twice"))
    return out


def _energy(ok: pd.DataFrame) -> list[Violation]:
    levels = [c for c in ok.columns if c.startswith("energy_pj.") and c.count(".") == 1]
    if not levels:
        return []
    total = _num(ok, "energy_pj")
    summed = ok[levels].apply(pd.to_numeric, errors="coerce").astype(float).fillna(0).sum(axis=1)
    bad = ok.index[(summed - total).abs() > total.abs() * REL + 1e-6]
    return [Violation(ok.at[i, "point"], "energy", summed[i], total[i],
                      "the per-level energies do not add up to the total") for i in bad]


def _speedup(ok: pd.DataFrame, axes: list[str], macs_per_cycle: dict[str, int]) -> list[Violation]:
    keys = ["layer", *(["variant"] if "variant" in ok.columns else []), *axes]
    dense = ok[ok["kind"].eq("dense")]
    if not len(dense):
        return []
    base = dense.drop_duplicates(keys).set_index(keys)
    rows = ok[~ok["kind"].eq("dense")]
    if not len(rows):
        return []
    index = pd.MultiIndex.from_frame(rows[keys]) if len(keys) > 1 else pd.Index(rows[keys[0]])
    dense_cycles = pd.Series(base["cycles"].astype(float).reindex(index).to_numpy(), index=rows.index)
    dense_macs = pd.Series(base["macs"].astype(float).reindex(index).to_numpy(), index=rows.index)
    dense_arch = pd.Series(base["arch"].reindex(index).to_numpy(), index=rows.index)
    wd = _num(rows, "weight_density").fillna(1.0)
    ad = _num(rows, "input_density").fillna(1.0).where(rows["sides"].eq("dual"), 1.0)
    # The dense baseline's cycles include its own GEMM padding (e.g. K to the PE columns), which a
    # design that needs no such padding does not pay: allow for it.
    padding = (dense_macs / _num(rows, "macs_orig")).fillna(1.0).clip(lower=1.0)
    bound = padding / (wd * ad)
    speedup = dense_cycles / _num(rows, "cycles")
    out = []
    for i in rows.index[(speedup > bound * (1 + REL)) & np.isfinite(speedup)]:
        lanes = macs_per_cycle.get(str(dense_arch[i]))
        util = dense_macs[i] / (dense_cycles[i] * lanes) if lanes else float("nan")
        cause = ("the dense baseline uses only "
                 f"{util:.0%} of its MACs on this layer (its mapspace or padding keeps MACs idle)"
                 if lanes and util < 0.9 else
                 "the design beats its own work reduction: its cycles or the dense baseline's are wrong")
        out.append(Violation(rows.at[i, "point"], "speedup", float(speedup[i]), float(bound[i]), cause))
    return out
