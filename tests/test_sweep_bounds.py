"""Physics bounds on result rows: they catch constructed violations, and the study's points have none."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sparsesweep.sweep import bounds

GOLDEN = Path(__file__).parent / "golden"


def _row(point, kind, sides, cycles, wd=1.0, ad=1.0, alg=1000, act=None, gated=0, levels=(60.0, 40.0), total=100.0):
    act = alg if act is None else act
    return {"point": point, "layer": "L", "kind": kind, "sides": sides, "arch": "stc", "status": "ok",
            "cycles": cycles, "macs": alg, "macs_orig": alg, "weight_density": wd, "input_density": ad, "energy_pj": total,
            "algorithmic_computes": alg, "actual_computes": act, "gated_computes": gated,
            "skipped_computes": alg - act - gated, "energy_pj.RF": levels[0], "energy_pj.MAC": levels[1]}


def test_the_dense_points_own_padding_raises_the_bound():
    dense = {**_row("d", "dense", "-", 1100, alg=1100), "macs_orig": 1000}  # dense pads 1000 MACs to 1100
    rows = pd.DataFrame([dense, {**_row("s", "unstructured", "single", 500, wd=0.5, act=500), "macs_orig": 1000},
                         {**_row("f", "unstructured", "single", 450, wd=0.5, act=500), "macs_orig": 1000}])
    assert [(v.point, round(v.bound, 6)) for v in bounds.check_rows(rows, (), {"stc": 1})] == [("f", 2.2)]


def test_a_clean_table_has_no_violation():
    rows = pd.DataFrame([_row("d", "dense", "-", 1000), _row("s", "structured", "single", 500, wd=0.5, act=500),
                         _row("u", "unstructured", "dual", 250, wd=0.5, ad=0.5, act=250)])
    assert bounds.check_rows(rows, (), {"stc": 1}) == []


def test_each_bound_can_fail_and_names_its_cause():
    rows = pd.DataFrame([
        _row("d", "dense", "-", 1000),
        _row("fast", "structured", "single", 400, wd=0.5, act=500),  # 2.5x at density 0.5
        _row("dual_ok", "unstructured", "dual", 300, wd=0.5, ad=0.5, act=250),  # 3.3x <= 4x
        _row("dual_fast", "unstructured", "dual", 200, wd=0.5, ad=0.5, act=250),  # 5x > 4x
        _row("count", "structured", "single", 600, wd=0.5, act=1200),
        _row("twice", "structured", "single", 600, wd=0.5, act=700, gated=400),
        _row("sum", "structured", "single", 600, wd=0.5, act=500, total=120.0),
    ])
    found = {(v.point, v.check) for v in bounds.check_rows(rows, (), {"stc": 4})}
    assert found == {("fast", "speedup"), ("dual_fast", "speedup"), ("count", "computes"),
                     ("twice", "computes"), ("sum", "energy")}
    fast = next(v for v in bounds.check_rows(rows, (), {"stc": 4}) if v.point == "fast")
    assert fast.bound == 2.0 and fast.value == 2.5 and "25% of its MACs" in fast.cause  # 1000 MACs / (1000 cyc x 4)
    column = bounds.violations_column(rows, bounds.check_rows(rows, (), {"stc": 4}))
    assert list(column) == ["", "speedup", "", "speedup", "computes", "computes", "energy"]


def test_the_golden_study_points_respect_every_bound():
    """The golden files are points of the default study (dense, structured, unstructured, both sides)."""
    rows = []
    for path in sorted(GOLDEN.glob("*.json")):
        data = json.loads(path.read_text())
        info, result = data["point"], data["result"]
        computes = result["computes"]
        row = {"point": path.stem, "layer": info["layer"], "kind": info["kind"],
               "sides": "-" if info["kind"] == "dense" else info["sides"], "arch": info["arch"], "status": "ok",
               "cycles": result["cycles"], "macs": info["macs"], "macs_orig": info["macs_orig"],
               "weight_density": info["weight_density"],
               "input_density": info["act_density"], "energy_pj": result["energy_pj"],
               "algorithmic_computes": computes["algorithmic"], "actual_computes": computes["actual"],
               "gated_computes": computes["gated"],
               "skipped_computes": computes["algorithmic"] - computes["actual"] - computes["gated"]}
        row.update({f"energy_pj.{name}": level["energy_pj"] for name, level in result["levels"].items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    assert frame["kind"].eq("dense").sum() == frame["layer"].nunique() >= 3
    assert bounds.check_rows(frame, (), {"stc": 1024, "dstc": 1024}) == []
