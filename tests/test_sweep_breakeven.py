"""Break-even refinement: where the next sparsities go, and that the sweep measures a crossing to 0.01."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsesweep.backends.base import SearchOptions
from sparsesweep.sweep import breakeven
from sparsesweep.sweep.executors import InlineExecutor
from sparsesweep.sweep.runner import run_grid
from sparsesweep.sweep.store import Store
from sparsesweep.sweep.tables import results_frame, summary_frame
from sweep_fakes import CountingRegistry, run_fake


def test_crossing_finds_the_first_fall_through_one():
    assert breakeven.crossing(pd.Series({0.0: 2.0, 0.5: 0.9, 0.75: 0.5})) == (0.0, 2.0, 0.5, 0.9)
    assert breakeven.crossing(pd.Series({0.5: 0.9, 0.75: 0.5})) is None
    assert breakeven.crossing(pd.Series({0.5: 1.2, 0.75: 1.1})) is None


def test_next_sparsities_estimate_then_bracket_within_the_step():
    wide = breakeven.next_sparsities((0.0, 2.0, 0.5, 0.5))
    assert wide == [pytest.approx(1 / 3, abs=1e-4)]
    narrow = breakeven.next_sparsities((0.30, 1.02, 0.34, 0.98))
    assert narrow == [pytest.approx(0.315), pytest.approx(0.325)]
    assert all(0.30 < s < 0.34 for s in narrow)


def test_the_sweep_measures_each_unstructured_break_even_within_the_step(tmp_path):
    registry = CountingRegistry()
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc"))

    def evaluate(grid):
        return run_grid(grid, backend="fake", options=SearchOptions(), registry=registry,
                        store=Store.open(tmp_path / "cache"), out=tmp_path / "out", executor_factory=InlineExecutor,
                        progress=False, fingerprint="test")

    refined = breakeven.refine(run, evaluate)
    added = len(refined.outcomes) - len(run.grid.points)
    assert added > 0 and len(refined.grid.points) == len(refined.outcomes) and refined.stats.total == len(refined.outcomes)
    summary = summary_frame(results_frame(refined.outcomes, [], "fake", "edp"), [])
    curves = breakeven.curves(summary, {})
    assert set(curves) == {("unstructured", "single"), ("unstructured", "dual")}
    for curve in curves.values():
        s0, _, s1, _ = breakeven.crossing(curve)
        assert s1 - s0 <= breakeven.STEP + 1e-9
