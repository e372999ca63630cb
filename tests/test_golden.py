"""Golden files: the sweep's own numbers for a fixed set of ResNet-50 points, keyed by point.

The reference corpus checks the engine on Timeloop's inputs; these files pin what the whole
pipeline gives on *our* inputs: a point of the default sweep is rendered from ``arch/``,
``workloads/``, ``sparse_opt/`` and ``templates/``, its mapping is searched by the native backend
(seed 0, as the sweep does) and evaluated.  ``tests/golden/<point>.json`` stores the point's
summary, the mapping found and its result.  The tests check that

1. the stored mapping, rendered into the point again, evaluates to the stored result (so an
   engine change shows up as a per-component difference), and
2. a fresh search finds the same mapping and result (so a renderer or mapper change shows up).

When a change is intended, rewrite the files from the code's output and review the diff:

    .venv/bin/python -m pytest tests/test_golden.py --regen

The numbers are never typed in by hand: only ``--regen`` writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparsesweep.backends.base import SearchOptions, default_registry
from sparsesweep.compare import Tolerance, diff_results
from sparsesweep.render import render_point
from sparsesweep.result import Result
from sparsesweep.sweep.grid import PlannedPoint, SweepConfig, build_grid
from sparsesweep.sweep.runner import mapper_settings

GOLDEN = Path(__file__).parent / "golden"
# A 3x3 stride-2 convolution (7-D projections), the K = 4608 3x3 convolution (K split at DRAM) and
# the FC layer, every default scheme and side.
CONFIG = SweepConfig(sparsities=(0.0, 0.5, 0.75), layers=("conv3_1_b_3x3", "conv5_1_b_3x3", "fc"))
OBJECTIVE = "edp"  # the sweep's default
OPTIONS = SearchOptions(objective=OBJECTIVE, time_limit_s=600.0, seed=0, cache=False)
# Same code, same inputs: only the order of floating-point sums may differ between numpy builds.
EXACT = Tolerance(energy_rel=1e-9, energy_abs=1e-6)
HINT = "if the change is intended, run: python -m pytest tests/test_golden.py --regen (and review the diff)"

POINTS = {p.id: p for p in build_grid(CONFIG).points}


def _render(point: PlannedPoint, mapping=None):
    v = point.variant
    return render_point(point.arch, point.layer, v.scheme, v.sides, v.sparsity, v.act_sparsity,
                        mapping=mapping, mapper=mapper_settings(OBJECTIVE))


def _golden(point_id: str) -> dict:
    path = GOLDEN / f"{point_id}.json"
    if not path.is_file():
        pytest.fail(f"{path.name} is missing; {HINT}")
    return json.loads(path.read_text())


def test_the_cases_cover_every_kind_and_side():
    kinds = {(p.variant.scheme.kind, p.variant.sides) for p in POINTS.values()}
    assert {("dense", "single"), ("structured", "single"), ("structured", "dual"),
            ("unstructured", "single"), ("unstructured", "dual")} <= kinds


def test_no_stale_golden_files(regen: bool):
    stale = sorted(p for p in GOLDEN.glob("*.json") if p.stem not in POINTS)
    if regen:
        for path in stale:
            path.unlink()
        stale = []
    assert not stale, f"golden files of points no longer tested: {[p.name for p in stale]}; {HINT}"


@pytest.mark.parametrize("point_id", sorted(POINTS))
def test_search_finds_the_golden_mapping_and_numbers(point_id: str, regen: bool):
    rendered = _render(POINTS[point_id])
    found = default_registry().create("native").search(rendered.bundle, OPTIONS)
    assert not found.extra.get("time_limited"), "the search hit its time limit: it is no longer deterministic"
    if regen:
        GOLDEN.mkdir(exist_ok=True)
        record = {"point": rendered.info(), "mapping": list(found.mapping), "result": found.result.to_json_dict()}
        (GOLDEN / f"{point_id}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    golden = _golden(point_id)
    assert json.loads(json.dumps(rendered.info())) == golden["point"], f"the rendered point changed; {HINT}"
    diffs = diff_results(found.result, Result.model_validate(golden["result"]), EXACT)
    assert not diffs, f"{point_id} differs from its golden file ({HINT}):\n  " + "\n  ".join(diffs)
    assert json.loads(json.dumps(list(found.mapping))) == golden["mapping"], f"the mapping found changed; {HINT}"


@pytest.mark.parametrize("point_id", sorted(POINTS))
def test_golden_mapping_evaluates_to_the_golden_numbers(point_id: str):
    golden = _golden(point_id)
    rendered = _render(POINTS[point_id], mapping=golden["mapping"])
    result = default_registry().create("native").evaluate(rendered.bundle)
    diffs = diff_results(result, Result.model_validate(golden["result"]), EXACT)
    assert not diffs, f"{point_id}: the engine's numbers moved ({HINT}):\n  " + "\n  ".join(diffs)
