"""The sweep's tables: one row per layer x point (``results.csv``) and network totals (``summary.csv``).

``results.csv`` columns: the point (``point`` = its folder under ``points/``, ``layer``, ``count`` =
the layer's repeat count, ``scheme``, ``kind``, ``design``, ``arch``, ``sides``, ``sparsity``,
``act_sparsity``, ``weight_density``, ``input_density``, N:M patterns), one column per swept arch
parameter (for multiples, ``<name>_factor`` and then the arch's value), ``status`` (``ok`` / ``failed``), ``energy_pj``, ``cycles``, the compute counts,
``energy_pj.<level>`` per level, ``area_um2`` (the design's area from component models),
``mapping_id``, the (padded) GEMM bounds and the unpadded MACs, the backend, objective and energy
source (``pinned``, ``scaled`` or ``hwcomponents``, see the README), and ``error`` for failed points.

``summary.csv``: per point (scheme, sides, sparsities, memory setting) the network totals, each
layer weighted by its ``count``: energy, cycles (layers run one after another), computes and
per-level energy, the design's ``area_um2``; ``layers`` / ``layers_failed`` / ``complete``; ``energy_vs_dense`` /
``cycles_vs_dense``: the totals over those of the dense baseline at the same memory setting
(dense = 1.0, as Sparseloop's fig15); and ``energy_vs_own_dense`` / ``cycles_vs_own_dense``: over
the same scheme's hardware at sparsity 0 (its "own dense" point), so that ``*_vs_dense`` =
architecture cost (own dense / dense) x sparsity gain (``*_vs_own_dense``).  Totals of incomplete points (a layer failed) are left empty, never partial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .grid import DENSE_SIDES, FACTOR_SUFFIX
from .keys import mapping_id
from .runner import Outcome

LEVEL_ORDER = ("DRAM", "SMEM", "RF", "LRF", "MAC")
COMPUTES = ("algorithmic_computes", "actual_computes", "skipped_computes", "gated_computes")
POINT_COLUMNS = ("variant", "scheme", "kind", "sides", "sparsity", "act_sparsity")
HEAD = ("point", "layer", "count", "variant", "scheme", "kind", "design", "arch", "sides", "sparsity", "act_sparsity",
        "weight_density", "input_density", "weight_nm", "act_nm")
TAIL = ("probe", "area_um2", "mapping_id", "M", "N", "K", "macs", "macs_orig", "backend", "objective", "energy_source",
        "error")


def level_columns(levels: Sequence[str]) -> list[str]:
    """``energy_pj.<level>`` in tree order, each followed by its ``.data`` / ``.metadata`` split when given."""
    names = {lv.split(".", 1)[0] for lv in levels}
    ordered = [lv for lv in LEVEL_ORDER if lv in names] + sorted(names - set(LEVEL_ORDER))
    return [f"energy_pj.{lv}{part}" for lv in ordered for part in ("", ".data", ".metadata") if f"{lv}{part}" in levels]


def results_frame(outcomes: Sequence[Outcome], axes: Sequence[str], backend: str, objective: str,
                  root: Path | None = None) -> pd.DataFrame:
    """One row per outcome, in the given order (see the module docs for the columns)."""
    made = [_row_of(o, backend, objective) for o in outcomes]
    rows = [row for row, _ in made]
    levels = sorted(set().union(*(names for _, names in made)))
    columns = [*HEAD, *_axis_columns(axes), "status", "energy_pj", "cycles", *COMPUTES, *level_columns(levels), *TAIL]
    frame = pd.DataFrame(rows, columns=columns)
    frame["energy_source"] = [_energy_source(o.spec, root) for o in outcomes]
    for col in ("cycles", *COMPUTES, "M", "N", "K", "macs", "macs_orig"):
        frame[col] = frame[col].astype("Int64")
    return frame


def summary_frame(results: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Network totals per point, normalised to the dense baseline (see the module docs)."""
    keys = [*POINT_COLUMNS, *axes]
    levels = [c for c in results.columns if c.startswith("energy_pj.")]
    sums = ["energy_pj", "cycles", *COMPUTES, *levels, "macs_orig"]
    work = results.copy()
    work["failed"] = work["status"].ne("ok")
    for col in sums:
        work[col] = pd.to_numeric(work[col], errors="coerce").astype(float) * work["count"]
    grouped = work.groupby(keys, dropna=False, sort=False)
    summary = grouped[sums].sum(min_count=1)
    summary.insert(0, "layers", grouped.size())
    summary.insert(1, "layers_failed", grouped["failed"].sum().astype("int64"))
    summary.insert(2, "complete", summary["layers_failed"].eq(0))
    summary.loc[~summary["complete"], sums] = np.nan
    summary.insert(0, "design", grouped["design"].first())
    if "area_um2" in results:
        summary["area_um2"] = grouped["area_um2"].first()
    if "probe" in results:  # the claim a probe point serves (see .probes)
        summary["probe"] = grouped["probe"].first()
    summary = summary.reset_index()
    basis = ["variant", *axes]  # dense of the same design variant at the same memory setting
    dense = summary[summary["kind"].eq("dense")].set_index(basis)
    for col in ("cycles", *COMPUTES, "macs_orig"):
        summary[col] = summary[col].round().astype("Int64")
    for metric in ("energy_pj", "cycles"):
        base = np.asarray(summary.set_index(basis).index.map(dense[metric].to_dict()), dtype=float)
        summary[f"{metric.split('_')[0]}_vs_dense"] = summary[metric].astype(float) / base
    mine = ["scheme", *basis]  # the same scheme's hardware at sparsity 0, same variant and memory setting
    own = summary[summary["sparsity"].eq(0) & ~summary["kind"].eq("dense")].drop_duplicates(mine).set_index(mine)
    index = pd.MultiIndex.from_frame(summary[mine])
    for metric in ("energy_pj", "cycles"):
        base = own[metric].astype(float).reindex(index).to_numpy()
        ratio = summary[metric].astype(float).to_numpy() / base
        summary[f"{metric.split('_')[0]}_vs_own_dense"] = np.where(summary["kind"].eq("dense"), 1.0, ratio)
    return _in_order(summary, axes)


def _in_order(summary: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Rows by memory setting, variant, scheme and sides (each in the order the sweep first met them), then
    by sparsity and activation sparsity: points added later (break-even rounds) sit between their
    neighbours instead of at the end."""
    keys = {}
    for col in ("variant", "scheme", "sides", *axes):
        first = {v: i for i, v in enumerate(dict.fromkeys(summary[col].astype(str)))}
        keys[col] = summary[col].astype(str).map(first)
    order = pd.DataFrame({**{f"axis{i}": keys[a] for i, a in enumerate(axes)}, "variant": keys["variant"],
                          "scheme": keys["scheme"], "sides": keys["sides"], "sparsity": summary["sparsity"].astype(float),
                          "act": pd.to_numeric(summary["act_sparsity"], errors="coerce").astype(float).fillna(-1.0)},
                         index=summary.index)
    position = order.sort_values(list(order.columns), kind="stable").index
    return summary.loc[position].reset_index(drop=True)


def common_layers(results: pd.DataFrame, axes: Sequence[str], reference: Mapping[str, Any],
                  free: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Network totals over the layers that every point of one comparison evaluated, and the layers left out.

    The comparison is the points at the reference setting, letting ``free`` (an axis column) vary;
    the totals cover every setting, restricted to those layers.
    """
    used = results
    for axis in axes:
        if axis != free and axis in reference:  # a paired column moves with its lead
            used = used[used[axis].eq(reference[axis])]
    ok = used["status"].eq("ok").groupby(used["layer"], sort=False).all()
    left_out = [layer for layer, fine in ok.items() if not fine]
    kept = results[results["layer"].isin(ok[ok].index)]
    return summary_frame(kept if len(kept) else results, axes), left_out


def variant_label(kind: str, scheme: str, sides: str, act_sparsity: Any = None, sparsity: Any = None) -> str:
    """``dense``, ``structured single``, ``unstructured dual (act 0.3)``."""
    if kind == "dense":
        return "dense"
    label = f"{scheme} {sides}"
    if sides == "dual" and act_sparsity is not None and not pd.isna(act_sparsity) and act_sparsity != sparsity:
        label += f" (act {act_sparsity:g})"
    return label


def variant_labels(rows: pd.DataFrame) -> list[str]:
    """Each row's :func:`variant_label`; when activation sparsity is an axis of its own (some dual row's
    differs from its weight sparsity), every dual row names it, so each activation sparsity is one curve."""
    grid = rows[rows["probe"].isna()] if "probe" in rows.columns else rows  # a claim probe's own act names itself
    act = pd.to_numeric(grid["act_sparsity"], errors="coerce").astype(float)
    differs = ~np.isclose(act.fillna(-1.0), grid["sparsity"].astype(float))
    crossed = bool((grid["sides"].eq("dual") & act.notna() & differs).any())
    return [variant_label(r.kind, r.scheme, r.sides, r.act_sparsity, None if crossed else r.sparsity)
            for r in rows.itertuples()]


def _row_of(outcome: Outcome, backend: str, objective: str) -> tuple[dict[str, Any], frozenset[str]]:
    """:func:`_row` and its levels, once per outcome (outcomes do not change; the row is never modified)."""
    known = outcome.rows.get((backend, objective))
    if known is None:
        row = _row(outcome, backend, objective)
        levels = frozenset(k.split(".", 1)[1] for k in row if k.startswith("energy_pj."))
        known = outcome.rows[(backend, objective)] = (row, levels)
    return known


def _row(outcome: Outcome, backend: str, objective: str) -> dict[str, Any]:
    """A point's row, but its ``energy_source`` (which depends on the folder paths are shown from)."""
    point, spec, record = outcome.point, outcome.spec, outcome.record
    v = point.variant
    info = spec["info"] if spec else {}
    row: dict[str, Any] = {
        "point": point.id, "layer": point.layer.name, "count": point.layer.repeat, "variant": point.design,
        "scheme": v.scheme.name,
        "kind": v.scheme.kind, "design": info.get("design"), "arch": point.arch.name,
        "sides": DENSE_SIDES if v.dense else v.sides, "sparsity": v.sparsity,
        # per-layer activation densities (--act-sparsity workload) leave it empty: input_density has them
        "act_sparsity": info.get("act_sparsity") if v.sides == "dual" and not v.dense and not v.act_from_workload
        else None,
        "weight_density": info.get("weight_density"), "input_density": info.get("act_density"),
        "weight_nm": info.get("weight_nm"), "act_nm": info.get("act_nm"),
        **dict(point.setting),
        **{c.removesuffix(FACTOR_SUFFIX): getattr(point.arch, c.removesuffix(FACTOR_SUFFIX))
           for c, _ in point.setting if c.endswith(FACTOR_SUFFIX)},
        "status": record["status"], "backend": backend, "objective": objective,
        "area_um2": info.get("area_um2"),
        "M": info.get("M"), "N": info.get("N"), "K": info.get("K"), "macs": info.get("macs"),
        "macs_orig": info.get("macs_orig"), "error": record.get("error"), "probe": point.probe or None,
    }
    result = record.get("result")
    if record["status"] == "ok" and result:
        computes = result["computes"]
        # Timeloop counts as "skipped" only the MACs skipped at the compute level; MACs removed earlier
        # (storage-level or spatial skipping, position-skipping) appear in none of its counts. Every
        # MAC not performed and not gated is skipped here, so actual + skipped + gated = algorithmic.
        gated = computes.get("gated", 0)
        row.update(energy_pj=result["energy_pj"], cycles=result["cycles"],
                   algorithmic_computes=computes["algorithmic"], actual_computes=computes["actual"],
                   skipped_computes=computes["algorithmic"] - computes["actual"] - gated, gated_computes=gated,
                   mapping_id=mapping_id(record["mapping"]))
        row.update({f"energy_pj.{name}": level["energy_pj"] for name, level in result["levels"].items()})
        for name, md in (record.get("metadata_pj") or {}).items():  # native engine: data vs metadata per level
            row[f"energy_pj.{name}.data"] = result["levels"][name]["energy_pj"] - md
            row[f"energy_pj.{name}.metadata"] = md
    return row


def _energy_source(spec: dict[str, Any] | None, root: Path | None) -> str | None:
    """``arch/ert/stc_45nm.yaml (pinned ERT)``, ``arch/ert/stc_45nm.yaml (scaled by hwcomponents)`` or
    ``component models (hwcomponents)``: where a row's energies come from, then the source in brackets."""
    if not spec:
        return None
    source = spec["info"].get("energy_source", "pinned")
    if source == "hwcomponents":
        return "component models (hwcomponents)"
    shown = _shown(spec["ert"], root)
    return f"{shown} (scaled by hwcomponents)" if source == "scaled" else f"{shown} (pinned ERT)"


def _axis_columns(axes: Sequence[str]) -> list[str]:
    """Each swept column, followed by the parameter's own value for an axis of multiples."""
    out = []
    for axis in axes:
        out += [axis, axis.removesuffix(FACTOR_SUFFIX)] if axis.endswith(FACTOR_SUFFIX) else [axis]
    return out


@lru_cache(maxsize=256)
def _shown(path: str, root: Path | None) -> str:
    if root is None:
        return path
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
