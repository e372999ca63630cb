"""The sweep's own points on real Timeloop, and timeloop-model's constraint check as the mapper models it.

A small native sweep (dense, structured and unstructured, single- and dual-sided, two layers) writes
``points/<point>/{input,ERT,mapping}.yaml``; each point is re-evaluated with
``timeloop-model input.yaml ERT.yaml mapping.yaml`` in a working folder of its own, and Timeloop's
cycles, computes and energies (total and per level) must equal the sweep's row.  Points of
``unstructured_position_skipping`` are listed apart and not run: that SAF is the 2022 artifact
build's, which no Timeloop release models (Timeloop master refuses the input).  A sweep on the
timeloop backend reports the stats Timeloop printed, and the engine agrees with them.

Timeloop is found by the backend's own discovery (``find_binary``: ``$SPARSESWEEP_TIMELOOP_BIN``,
``PATH``, ``$TIMELOOP_ROOT``, ``../shared/timeloop`` beside the repository); the tests skip only
where it is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, reference_root

from sparsesweep.backends.stats import read_stats
from sparsesweep.backends.tlrun import find_binary, run_tool
from sparsesweep.errors import BackendError
from sparsesweep.inputs import load_bundle
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.mapper.tlcheck import model_violations
from sparsesweep.render import render_point, write_point
from sparsesweep.specs import load_arch, load_scheme, load_workload
from sparsesweep.sweep.cli import main
from sparsesweep.sweep.store import CACHE_ENV
from sparsesweep.tl import load_spec


def _model() -> Path | None:
    try:
        return find_binary("timeloop-model")
    except BackendError:
        return None


MODEL = _model()
pytestmark = pytest.mark.skipif(MODEL is None, reason="no timeloop-model (PATH, $TIMELOOP_ROOT, ../shared/timeloop)")
TINY = Path(__file__).parent / "fixtures" / "workload_tiny.yaml"
NOT_ON_TIMELOOP = "unstructured_position_skipping"  # the artifact build's SAF; Timeloop master refuses it


def run_model(folder: Path, files: list[str]):
    """timeloop-model on ``files`` in ``folder``: the parsed stats (BackendError on failure)."""
    assert MODEL is not None
    run_tool([str(MODEL), *files], folder, timeout_s=600)
    return read_stats(folder / "timeloop-model.stats.txt")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny-sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp / "cache"))
        code = main(["--workload", str(TINY), "--sparsity", "0,0.5", "--sides", "single,dual",
                     "--schemes", f"structured,unstructured,{NOT_ON_TIMELOOP}", "--out", str(tmp / "out"),
                     "-j", "1", "--quiet", "--no-break-even", "--no-probes"])
    assert code == 0
    return tmp / "out", pd.read_csv(tmp / "out" / "results.csv")


def test_every_sweep_point_runs_on_timeloop_model_with_the_sweeps_numbers(sweep, tmp_path):
    out, rows = sweep
    assert rows["status"].eq("ok").all(), rows["error"].dropna().tolist()
    apart = rows[rows["scheme"].eq(NOT_ON_TIMELOOP)]
    checked = rows[~rows["scheme"].eq(NOT_ON_TIMELOOP)]
    assert len(apart) >= 4  # 2 layers x single/dual (and own-dense): listed apart, not run (module docs)
    kinds = {(r.kind, r.sides) for r in checked.itertuples()}
    assert {("structured", "single"), ("structured", "dual"), ("unstructured", "single"),
            ("unstructured", "dual")} <= kinds and "dense" in set(checked["kind"])
    levels = [c.removeprefix("energy_pj.") for c in rows.columns if c.startswith("energy_pj.") and c.count(".") == 1]
    for row in checked.itertuples():
        folder = tmp_path / row.point
        folder.mkdir()
        for name in ("input.yaml", "ERT.yaml", "mapping.yaml"):
            shutil.copy(out / "points" / row.point / name, folder / name)
        real = run_model(folder, ["input.yaml", "ERT.yaml", "mapping.yaml"])
        assert real.cycles == row.cycles, row.point
        assert real.computes.actual == row.actual_computes, row.point
        assert real.computes.algorithmic == row.algorithmic_computes, row.point
        assert real.energy_pj == pytest.approx(row.energy_pj, rel=1e-6), row.point
        for level in levels:
            want = rows.loc[row.Index, f"energy_pj.{level}"]  # stats print 0.01 pJ per dataspace
            assert real.levels[level].energy_pj == pytest.approx(want, rel=1e-6, abs=0.02), (row.point, level)
    assert len(checked) >= 10


# -- timeloop-model's constraint check, as tlcheck models it ---------------------------------------

def _dstc_fc(folder: Path) -> Path:
    """The tiny fc layer on the DSTC design (unstructured, single-sided): M=64 N=32 K=64, with the
    artifact's DSTC-Os loop order at the LRF ('permutation: NMK', which our templates leave out)."""
    layer = load_workload(TINY).layer("fc")
    point = render_point(load_arch(REPO / "arch" / "dstc.yaml"), layer, load_scheme(REPO / "sparse_opt" /
                         "unstructured.yaml"), "single", 0.5)
    write_point(point, folder)
    data = yaml.safe_load((folder / "input.yaml").read_text())
    targets = data["architecture_constraints"]["targets"]
    lrf = next(t for t in targets if t["target"] == "LRF" and t["type"] == "temporal")
    lrf["permutation"] = "NMK"
    (folder / "input.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def _dstc_mapping(lrf: str, lrf_order: str, dram: str) -> list[dict]:
    keep = {"LRF": ["A", "B"], "RF": ["Z"], "SMEM": ["A", "B"], "DRAM": ["A", "B", "Z"]}
    entries = [{"target": t, "type": "datatype", "keep": k, "bypass": [x for x in "ABZ" if x not in k]}
               for t, k in keep.items()]
    return entries + [
        {"target": "LRF", "type": "spatial", "factors": "M16 N16 K1", "permutation": "NMK", "split": 1,
         "no_link_transfer": ["A", "B", "Z"]},
        {"target": "LRF", "type": "temporal", "factors": lrf, "permutation": lrf_order},
        {"target": "RF", "type": "temporal", "factors": "M1 N1 K64", "permutation": "KMN"},
        {"target": "SMEM", "type": "spatial", "factors": "M2 N2 K1", "permutation": "MNK", "split": 0},
        {"target": "SMEM", "type": "temporal", "factors": "M1 N1 K1", "permutation": "MNK"},
        {"target": "DRAM", "type": "temporal", "factors": dram, "permutation": "MNK"},
    ]


@pytest.mark.parametrize("lrf, lrf_order, dram, accepted", [
    ("M1 N1 K1", "NMK", "M2 N1 K1", True),
    ("M1 N1 K1", "MNK", "M2 N1 K1", True),  # factor-1 loops: their written order does not matter
    ("M2 N1 K1", "NMK", "M1 N1 K1", False),  # only M above 1 at the LRF: breaks 'permutation: NMK'
    ("M2 N1 K1", "MNK", "M1 N1 K1", False),
])
def test_the_literal_check_predicts_what_timeloop_model_accepts(tmp_path, lrf, lrf_order, dram, accepted):
    folder = _dstc_fc(tmp_path / "point")
    mapping = _dstc_mapping(lrf, lrf_order, dram)
    (folder / "mapping.yaml").write_text(yaml.safe_dump({"mapping": mapping}, sort_keys=False))
    spec = load_spec(load_bundle(folder / "input.yaml", extra=[folder / "mapping.yaml"]))
    dims, names = spec.problem.dims, [s.name for s in spec.arch.storage]
    predicted = model_violations(parse_constraints(spec), spec.mapping, dims, spec.problem.bounds, names)
    assert (not predicted) == accepted, predicted
    if accepted:
        run_model(folder, ["input.yaml", "ERT.yaml", "mapping.yaml"])
        return
    with pytest.raises(BackendError) as err:
        run_model(folder, ["input.yaml", "ERT.yaml", "mapping.yaml"])
    message = err.value.one_line()
    assert "mapping violates architecture constraints" in message
    # The error names the exact command to re-run by hand.
    assert f"re-run by hand: cd {folder} && {MODEL} input.yaml ERT.yaml mapping.yaml" in message


def test_a_level_with_spatial_constraints_and_no_spatial_loop_makes_timeloop_abort(tmp_path):
    """Timeloop's own mapper wrote this mapping (no spatial loop at SMEM); with the design's constraints
    timeloop-model aborts on it, as the literal check predicts (the mapper therefore never emits it)."""
    case = reference_root() / "generated" / "fig15fam" / "gemm23"
    design = "STC_flexible-RF2x-24-bandwidth-RLE"
    constraints = sorted((reference_root() / "fig15" / "WD-0.3333").glob(f"*/{design}/constraints.yaml"))[0]
    data = yaml.safe_load((case / "input.yaml").read_text())
    data["architecture_constraints"] = yaml.safe_load(constraints.read_text())["architecture_constraints"]
    (tmp_path / "input.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(case / "ERT.yaml", tmp_path / "ERT.yaml")
    spec = load_spec(load_bundle(tmp_path / "input.yaml"))
    names = [s.name for s in spec.arch.storage]
    predicted = model_violations(parse_constraints(spec), spec.mapping, spec.problem.dims, spec.problem.bounds, names)
    assert predicted and "no spatial loop" in predicted[0]
    with pytest.raises(BackendError, match="Assertion|Aborted|SIGABRT"):
        run_model(tmp_path, ["input.yaml", "ERT.yaml"])


# -- a sweep on the timeloop backend ----------------------------------------------------------------

def test_a_timeloop_backend_sweep_reports_timeloops_stats_and_the_engine_agrees(tmp_path):
    """``--backend timeloop``: every row is what Timeloop's mapper printed in its stats, and the native
    engine evaluates the point's folder (inputs + Timeloop's mapping) to the same numbers."""
    from sparsesweep.backends.native import NativeBackend
    from sparsesweep.backends.timeloop import RUNS_ENV

    out, runs = tmp_path / "out", tmp_path / "runs"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path / "cache"))
        mp.setenv(RUNS_ENV, str(runs))
        code = main(["--workload", str(TINY), "--layers", "fc", "--sparsity", "0,0.5", "--sides", "single",
                     "--schemes", "structured,unstructured", "--backend", "timeloop", "--time-limit", "5",
                     "--out", str(out), "-j", "1", "--quiet", "--no-break-even", "--no-probes"])
    rows = pd.read_csv(out / "results.csv")
    assert code == 0 and rows["status"].eq("ok").all(), rows["error"].dropna().tolist()
    assert set(rows["kind"]) == {"dense", "structured", "unstructured"}
    native = NativeBackend()
    for row in rows.itertuples():
        (folder,) = runs.glob(f"{row.point}-*")
        stats = read_stats(folder / "timeloop-mapper.stats.txt")
        assert (stats.cycles, stats.computes.actual) == (row.cycles, row.actual_computes), row.point
        assert stats.energy_pj == pytest.approx(row.energy_pj, rel=1e-9), row.point
        # Timeloop's (time-limited, so varying) mapping: the engine agrees within the conformance
        # tolerance (cycles and computes exact, energy within 0.5%).
        again = native.evaluate(load_bundle(out / "points" / row.point))
        assert (again.cycles, again.computes.actual) == (row.cycles, row.actual_computes), row.point
        assert again.energy_pj == pytest.approx(row.energy_pj, rel=5e-3), row.point
