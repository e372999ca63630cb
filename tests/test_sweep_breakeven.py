"""Break-even refinement: where the next sparsities go, and that the sweep measures a crossing to 0.01."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsesweep.sweep import breakeven
from sparsesweep.sweep.tables import results_frame, summary_frame
from sweep_fakes import CountingRegistry, fake_registry, run_fake, run_fake_grid


def test_crossing_finds_the_first_fall_through_one():
    assert breakeven.crossing(pd.Series({0.0: 2.0, 0.5: 0.9, 0.75: 0.5})) == (0.0, 2.0, 0.5, 0.9)
    assert breakeven.crossing(pd.Series({0.5: 0.9, 0.75: 0.5})) is None
    assert breakeven.crossing(pd.Series({0.5: 1.2, 0.75: 1.1})) is None


def test_next_sparsities_estimate_then_bracket_within_the_step():
    line = breakeven.next_sparsities((0.0, 2.0, 0.5, 0.5))  # the straight line's crossing -/+ STEP/2
    assert line == [pytest.approx(1 / 3 - 0.005, abs=1e-4), pytest.approx(1 / 3 + 0.005, abs=1e-4)]
    narrow = breakeven.next_sparsities((0.30, 1.02, 0.34, 0.98))
    assert narrow == [pytest.approx(0.315), pytest.approx(0.325)]
    assert breakeven.next_sparsities((0.40, 1.02, 0.43, 0.98)) == [pytest.approx(0.41), pytest.approx(0.42)]
    # after a round that did not halve the bracket, the widest piece is split too
    guarded = breakeven.next_sparsities((0.0, 2.0, 0.5, 0.5), safeguard=True)
    assert guarded == [pytest.approx(0.1642, abs=1e-4), *line]


def test_the_estimate_follows_the_curvature():
    s = [0.0, 0.5, 0.667]
    curve = pd.Series({x: 2.6 * (1 - x) ** 2 for x in s})  # crosses 1 at 1 - sqrt(1 / 2.6) = 0.3798
    bracket = breakeven.crossing(curve)
    assert breakeven.estimate(bracket) > 0.40  # the straight line is far off on a convex curve
    assert breakeven.estimate(bracket, curve) == pytest.approx(1 - (1 / 2.6) ** 0.5, abs=1e-6)


@pytest.mark.parametrize("curve", [
    lambda s: 2.6 * (1 - s) ** 3 + 0.1,  # convex: the linear estimate always lands past the crossing
    lambda s: 2.0 - 1.99 * s ** 8,  # the crossing close to the right end
    lambda s: 1.0001 - 0.0002 * s,  # nearly flat around 1
    lambda s: 3.0 if s < 0.123 else 0.2,  # a step: the estimate tells nothing
])
def test_next_sparsities_never_stall_on_one_end(curve):
    """Whatever the curve, the bracket at least halves every two rounds (or ends), so it converges."""
    grid = [0.0, 1.0]
    widths = []
    for _ in range(breakeven.MAX_ROUNDS):
        series = pd.Series({s: curve(s) for s in grid})
        s0, r0, s1, r1 = breakeven.crossing(series)
        if s1 - s0 <= breakeven.STEP + 1e-9:
            break
        stalled = bool(widths) and s1 - s0 > widths[-1] / 2 + 1e-9
        widths.append(s1 - s0)
        points = breakeven.next_sparsities((s0, r0, s1, r1), series, stalled)
        assert points and all(s0 < s < s1 for s in points)
        grid = sorted(grid + points)
        if len(widths) >= 3:
            assert widths[-1] <= widths[-3] / 2 + 1e-3
    s0, _, s1, _ = breakeven.crossing(pd.Series({s: curve(s) for s in grid}))
    assert s1 - s0 <= breakeven.STEP + 1e-9


def test_the_sweep_measures_each_unstructured_break_even_within_the_step(tmp_path):
    registry = CountingRegistry()
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc"))

    def evaluate(grid):
        return run_fake_grid(grid, tmp_path / "out", tmp_path / "cache", registry)

    refined = breakeven.refine(run, evaluate)
    added = len(refined.outcomes) - len(run.grid.points)
    assert added > 0 and len(refined.grid.points) == len(refined.outcomes) and refined.stats.total == len(refined.outcomes)
    summary = summary_frame(results_frame(refined.outcomes, [], "fake", "edp"), [])
    curves = breakeven.curves(summary, {})
    assert set(curves) == {("unstructured", "single"), ("unstructured", "dual")}
    for curve in curves.values():
        s0, _, s1, _ = breakeven.crossing(curve)
        assert s1 - s0 <= breakeven.STEP + 1e-9


def test_break_even_searches_on_a_cached_grid_name_the_executor_that_ran_them(tmp_path):
    """Every grid point cached, break-even points computed: the summary names where they ran."""
    registry = CountingRegistry()
    run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc"))
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc"))
    assert run.stats.computed == 0 and run.stats.executor.startswith("none")
    refined = breakeven.refine(run, lambda grid: run_fake_grid(grid, tmp_path / "out", tmp_path / "cache", registry))
    assert refined.stats.computed > 0 and not refined.stats.executor.startswith("none")


def test_the_grid_break_even_rounds_and_probes_share_one_set_of_workers(tmp_path, monkeypatch):
    """The workers start once per sweep (imports, caches), not once per round, and stop at its end."""
    import sparsesweep
    from sparsesweep.sweep import session
    from sparsesweep.sweep.executors import InlineExecutor

    made: list[int] = []
    closed: list[bool] = []

    class Counted(InlineExecutor):
        def close(self, cancel: bool = False) -> None:
            closed.append(cancel)

    def make(jobs, dask):
        made.append(jobs)
        return Counted()

    monkeypatch.setattr(session, "make_executor", make)
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    done = sparsesweep.sweep(layers=["conv1", "fc"], sparsity=[0, 0.5, 0.75], backend="fake",
                             registry=fake_registry(), out=tmp_path / "out", jobs=1)
    probes = int((done.results["probe"].fillna("") != "").sum())
    grid = 2 * (1 + 2 + 4 * 2)  # layers x (dense, own dense, designs x sparsities)
    assert done.stats["computed"] > grid + probes and probes > 0  # a grid, break-even rounds and probes searched
    assert made == [1] and closed == [False]
