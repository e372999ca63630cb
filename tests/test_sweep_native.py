"""End to end on the real native backend (engine + mapper): the sweep's numbers, and every point's
folder re-evaluating to the same numbers with the mapping the sweep found."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsesweep.backends.base import default_registry
from sparsesweep.inputs import load_bundle
from sparsesweep.sweep.cli import main
from sparsesweep.sweep.store import CACHE_ENV

LAYERS = "conv5_2-3_c_1x1,fc"


@pytest.fixture(scope="module")
def native_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("native")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp / "cache"))
        code = main(["--layers", LAYERS, "--sparsity", "0,0.5", "--out", str(tmp / "out"), "-j", "1", "--quiet",
                     "--no-break-even", "--no-probes"])
    return code, tmp / "out"


def _assert_folders_reevaluate(out, rows):
    """Each point's folder (inputs + the sweep's mapping) evaluates to the numbers the sweep reported."""
    native = default_registry().create("native")
    for row in rows.itertuples():
        again = native.evaluate(load_bundle(out / "points" / row.point))
        assert again.energy_pj == pytest.approx(row.energy_pj) and again.cycles == row.cycles


def test_dense_baseline_points_evaluate_and_reevaluate_from_their_folders(native_sweep):
    _, out = native_sweep
    results = pd.read_csv(out / "results.csv")
    dense = results[results["kind"].eq("dense")]
    assert len(dense) == 2 and dense["status"].eq("ok").all(), dense["error"].tolist()
    assert (dense["algorithmic_computes"] == dense["actual_computes"]).all()
    _assert_folders_reevaluate(out, dense)


def test_every_sparse_point_evaluates_and_reevaluates_from_its_folder(native_sweep):
    code, out = native_sweep
    results = pd.read_csv(out / "results.csv")
    failed = results[results["status"].ne("ok")]
    assert failed.empty, "\n".join(f"{r.point}: {r.error}" for r in failed.itertuples())
    assert code == 0
    _assert_folders_reevaluate(out, results)


def test_sparse_points_do_fewer_macs_and_the_summary_is_normalised(native_sweep):
    _, out = native_sweep
    results = pd.read_csv(out / "results.csv")
    sparse = results[results["kind"].ne("dense") & results["status"].eq("ok") & results["sparsity"].gt(0)]
    assert len(sparse) == 8
    assert results["bound_violations"].isna().all()  # every row within the physics bounds
    for level in ("DRAM", "SMEM", "RF", "LRF"):  # each level's energy splits into data and metadata
        split = results[f"energy_pj.{level}.data"] + results[f"energy_pj.{level}.metadata"]
        assert (split - results[f"energy_pj.{level}"]).abs().max() <= 1e-6 * results[f"energy_pj.{level}"].max()
    assert results.loc[results["kind"].eq("dense"), [c for c in results if c.endswith(".metadata")]].eq(0).all().all()
    assert results.loc[results["kind"].eq("unstructured") & results["sparsity"].gt(0), "energy_pj.SMEM.metadata"].gt(0).all()
    structured = sparse[sparse["kind"].eq("structured")]
    not_done = 1 - structured["actual_computes"] / structured["algorithmic_computes"]
    assert (not_done - 0.5).abs().max() < 0.01  # 2:4 weights: half the MACs are not done (single and dual)
    unstructured = sparse[sparse["kind"].eq("unstructured")].set_index(["layer", "sides"])["actual_computes"]
    for layer in LAYERS.split(","):
        assert unstructured[(layer, "dual")] < unstructured[(layer, "single")]
    summary = pd.read_csv(out / "summary.csv")
    assert summary.loc[summary["kind"].eq("dense"), "energy_vs_dense"].eq(1.0).all()
    assert summary["complete"].all() and summary["energy_vs_dense"].gt(0).all()
    own = summary[summary["kind"].ne("dense") & summary["sparsity"].eq(0)]
    assert len(own) == 2 and own["energy_vs_own_dense"].eq(1.0).all()
