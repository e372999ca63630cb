"""results.csv / summary.csv: the column set, one row per layer x point, count weighting, dense = 1.0."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sweep_fakes import CountingRegistry, run_fake

from sparsesweep.sweep.tables import COMPUTES, common_layers, results_frame, summary_frame

REQUIRED = ["layer", "count", "scheme", "sides", "sparsity", "weight_density", "input_density", "energy_pj", "cycles",
            "algorithmic_computes", "actual_computes", "skipped_computes", "gated_computes", "mapping_id", "status"]
LEVELS = ["energy_pj.DRAM", "energy_pj.SMEM", "energy_pj.RF", "energy_pj.LRF", "energy_pj.MAC"]
AXES = (("smem_kib", ("128", "256")), ("smem_metadata_kib", ("32", "64")))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tables")
    run = run_fake(tmp / "out", tmp / "cache", layers=("conv1", "conv2_2-3_a_1x1", "fc"), axes=AXES)
    results = results_frame(run.outcomes, list(run.grid.axes), "fake", "edp")
    return run, results, summary_frame(results, list(run.grid.axes))


def test_results_have_one_row_per_layer_and_point_with_the_required_columns(swept):
    run, results, _ = swept
    assert len(results) == len(run.grid.points) == 3 * 11 * 4  # layers x (dense + 2 own dense + 4 designs x 2) x settings
    assert set(REQUIRED + LEVELS + ["smem_kib", "smem_metadata_kib"]) <= set(results.columns)
    assert list(results["point"]) == [p.id for p in run.grid.points]
    assert results["status"].eq("ok").all()
    assert results.loc[results["layer"].eq("conv2_2-3_a_1x1"), "count"].eq(2).all()
    single = results[results["sides"].eq("single")]
    assert single["input_density"].eq(1.0).all() and single["act_sparsity"].isna().all()
    dual = results[results["sides"].eq("dual")]
    assert (dual["input_density"] == 1 - dual["act_sparsity"]).all()
    assert (results["weight_density"] == 1 - results["sparsity"]).all()
    computes = results["actual_computes"] + results["skipped_computes"] + results["gated_computes"]
    assert (computes == results["algorithmic_computes"]).all()  # every MAC not performed is skipped or gated
    assert results.loc[results["sparsity"].gt(0), "skipped_computes"].gt(0).all()
    level_sum = results[LEVELS].sum(axis=1)
    assert (level_sum - results["energy_pj"]).abs().max() < 1e-6 * results["energy_pj"].max()
    assert results["mapping_id"].str.len().eq(12).all()
    assert results["energy_source"].str.contains("ert").all()


def test_summary_weights_layers_by_count_and_normalises_to_dense_at_the_same_setting(swept):
    run, results, summary = swept
    assert len(summary) == 11 * 4
    dense = summary[summary["kind"].eq("dense")]
    assert len(dense) == 4 and dense["energy_vs_dense"].eq(1.0).all() and dense["cycles_vs_dense"].eq(1.0).all()
    own = summary[summary["sparsity"].eq(0) & ~summary["kind"].eq("dense")]
    assert len(own) == 2 * 4 and own["energy_vs_own_dense"].eq(1.0).all() and own["cycles_vs_own_dense"].eq(1.0).all()
    row = summary[summary["scheme"].eq("unstructured") & summary["sides"].eq("dual") & summary["sparsity"].eq(0.75)
                  & summary["smem_kib"].eq(128) & summary["smem_metadata_kib"].eq(32)].iloc[0]
    layers = results[results["point"].str.startswith(tuple(f"{l}-unstructured-dual-s0.75-smem_kib128-smem_metadata_kib32"
                                                             for l in ("conv1", "conv2_2-3_a_1x1", "fc")))]
    dense_layers = results[results["scheme"].eq("dense") & results["smem_kib"].eq(128)
                           & results["smem_metadata_kib"].eq(32)]
    assert len(layers) == 3 and len(dense_layers) == 3
    energy = (layers["energy_pj"] * layers["count"]).sum()
    assert row["energy_pj"] == pytest.approx(energy)
    assert row["cycles"] == (layers["cycles"] * layers["count"]).sum()
    assert row["energy_vs_dense"] == pytest.approx(energy / (dense_layers["energy_pj"] * dense_layers["count"]).sum())
    assert row["complete"] and row["layers"] == 3 and row["layers_failed"] == 0
    own_row = own[own["scheme"].eq("unstructured") & own["smem_kib"].eq(128) & own["smem_metadata_kib"].eq(32)].iloc[0]
    assert row["energy_vs_own_dense"] == pytest.approx(energy / own_row["energy_pj"])
    # the two normalisations differ by the architecture cost: own dense / dense
    assert row["energy_vs_dense"] == pytest.approx(row["energy_vs_own_dense"] * own_row["energy_vs_dense"])
    for col in COMPUTES:
        assert row[col] == (layers[col] * layers["count"]).sum()


def test_a_failed_layer_leaves_its_points_totals_empty_not_partial(tmp_path):
    run = run_fake(tmp_path / "out", tmp_path / "cache", CountingRegistry(fail_layers=("fc",)),
                   sparsities=(0, 0.5), schemes=("structured",), sides=("single",))
    results = results_frame(run.outcomes, [], "fake", "edp")
    failed = results[results["status"].eq("failed")]
    assert set(failed["layer"]) == {"fc"} and failed["error"].str.contains("no valid mapping").all()
    assert failed["energy_pj"].isna().all()
    summary = summary_frame(results, [])
    assert not summary["complete"].any() and summary["layers_failed"].eq(1).all()
    assert summary["energy_pj"].isna().all() and summary["energy_vs_dense"].isna().all()
    assert all(pd.isna(v) for v in summary["cycles"])
    basis, left_out = common_layers(results, [], {})
    assert left_out == ["fc"] and basis["complete"].all() and basis["layers"].eq(1).all()
    conv1 = results[results["layer"].eq("conv1")]
    assert basis["energy_pj"].tolist() == pytest.approx(conv1["energy_pj"].tolist())


def test_summary_with_no_axes_has_a_single_dense_baseline(tmp_path):
    run = run_fake(tmp_path / "out", tmp_path / "cache", sparsities=(0, 0.5))
    summary = summary_frame(results_frame(run.outcomes, [], "fake", "edp"), [])
    assert summary["kind"].eq("dense").sum() == 1
    base = summary.loc[summary["kind"].eq("dense"), "energy_pj"].iloc[0]
    assert all(math.isclose(r.energy_vs_dense, r.energy_pj / base) for r in summary.itertuples())


def test_each_comparison_leaves_out_only_the_layers_that_failed_in_it(tmp_path):
    from sparsesweep.sweep.outputs import Bases

    registry = CountingRegistry(fail_matching=("conv1-unstructured-single-s0.5-smem_kib128",))
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, sparsities=(0, 0.5),
                   axes=(("smem_kib", ("128", "256")),))
    results = results_frame(run.outcomes, ["smem_kib"], "fake", "edp")
    bases = Bases(results, ["smem_kib"], {"smem_kib": 256})
    at_256 = bases(None)[bases(None)["smem_kib"].eq(256)]
    assert at_256["complete"].all() and at_256["layers"].eq(2).all() and bases.left_out[None] == []
    along = bases("smem_kib")
    assert bases.left_out["smem_kib"] == ["conv1"] and along["layers"].eq(1).all() and along["complete"].all()
    assert bases.note("smem_kib") == "over the 1 of 2 layers every point evaluated" and bases.note(None) == ""
    assert "along smem_kib: conv1" in bases.scope()


def test_an_axis_of_multiples_has_its_factor_and_each_rows_value(tmp_path):
    run = run_fake(tmp_path / "out", tmp_path / "cache", sparsities=(0, 0.5), layers=("fc",),
                   axes=(("lrf_metadata_bits", ("x1", "x2")),))
    results = results_frame(run.outcomes, list(run.grid.axes), "fake", "edp")
    cols = list(results.columns)
    assert cols.index("lrf_metadata_bits") == cols.index("lrf_metadata_bits_factor") + 1
    values = set(zip(results["arch"], results["lrf_metadata_bits_factor"], results["lrf_metadata_bits"]))
    assert values == {("stc", 1.0, 8), ("stc", 2.0, 16), ("dstc", 1.0, 128), ("dstc", 2.0, 256)}
    summary = summary_frame(results, list(run.grid.axes))
    assert len(summary) == 2 * 7 and "lrf_metadata_bits" not in summary.columns


def test_summary_rows_are_ordered_by_setting_design_and_sparsity_whatever_order_the_points_ran(swept):
    """Break-even rounds add points after the grid: their totals sit between their neighbours."""
    run, results, summary = swept
    late = results[results["sparsity"].eq(0.5)]
    moved = summary_frame(pd.concat([results.drop(late.index), late], ignore_index=True), list(run.grid.axes))
    pd.testing.assert_frame_equal(moved, summary)
    for _, group in summary.groupby(["smem_kib", "smem_metadata_kib", "scheme", "sides"], sort=False):
        assert group["sparsity"].is_monotonic_increasing
    assert summary["kind"].iloc[0] == "dense"


def test_the_per_layer_view_lists_each_design_by_sparsity_with_late_points_in_place():
    from sparsesweep.sweep.report import md_table
    from sparsesweep.sweep.report_views import per_layer

    def row(kind, sides, s, layer, energy):
        return dict(status="ok", kind=kind, scheme=kind, sides=sides, sparsity=s, act_sparsity=None, variant="base",
                    layer=layer, energy_pj=energy)

    rows = [row("dense", "-", 0.0, layer, 10.0) for layer in ("a", "b")]
    for s in (0.5, 0.75, 0.7):  # 0.7: a break-even round's point, evaluated last
        rows += [row("unstructured", "single", s, "a", 12.0 - 4 * s), row("unstructured", "single", s, "b", 9.0)]
    text = per_layer(pd.DataFrame(rows), {}, md_table)
    lines = [line for line in text.splitlines() if line.startswith("| unstructured single")]
    assert [line.split(" | ")[1] for line in lines] == ["0.5", "0.7", "0.75"]
    assert lines[0] == "| unstructured single | 0.5 | 1 of 2 | a (1.00) | b (0.90) | a (1.00) |"
