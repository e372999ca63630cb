"""Claim probes: the extra points that untested claims need, added after the grid, read only by their claim."""

from __future__ import annotations

import pandas as pd

from sparsesweep.sweep import claims as c
from sparsesweep.sweep import probes
from sparsesweep.sweep.report import VERDICT
from sparsesweep.sweep.tables import results_frame, summary_frame
from sweep_fakes import CountingRegistry, run_fake, run_fake_grid
from test_sweep_claims import fig15_like, summary

PROBED = (probes.CONVERGE_CLAIM, probes.LOW_CLAIM)


def _probed(tmp_path, **config):
    config.setdefault("layers", ("fc",))
    registry = CountingRegistry()
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, **config)
    done = probes.probe(run, lambda grid: run_fake_grid(grid, tmp_path / "out", tmp_path / "cache", registry))
    return run, done


def test_the_default_style_study_probes_and_judges_every_sweep_claim(tmp_path):
    run, done = _probed(tmp_path, sparsities=(0, 0.5, 0.667, 0.75))
    added = done.grid.points[len(run.grid.points):]
    assert {(p.variant.scheme.kind, p.variant.sides, p.variant.sparsity, p.probe) for p in added} == {
        (k, sd, probes.CONVERGE_AT, probes.CONVERGE_CLAIM) for k in probes.KINDS for sd in ("single", "dual")} | {
        (k, sd, probes.LOW_AT, probes.LOW_CLAIM) for k in probes.KINDS for sd in ("single", "dual")}
    assert len(done.outcomes) == len(done.grid.points) == done.stats.total
    assert any("claim probes" in n for n in done.grid.notes)
    table = summary_frame(results_frame(done.outcomes, [], "fake", "edp"), [])
    marked = table[table["probe"].notna()]
    assert set(marked["probe"]) == set(PROBED) and set(marked["sparsity"]) == {probes.CONVERGE_AT, probes.LOW_AT}
    before = {cl.id: r for cl, r in c.check_all(summary_frame(results_frame(run.outcomes, [], "fake", "edp"), []), {})}
    after = {cl.id: r for cl, r in c.check_all(table, {})}
    for claim in PROBED:  # untested on the grid, judged with its probes
        assert before[claim].holds is None and after[claim].holds is not None
        assert all(p.holds is not None and "claim probe" in p.points for p in after[claim].parts)
    for claim, result in before.items():  # the memory claims need an axis; every other verdict is unchanged
        if claim not in PROBED:
            assert after[claim].evidence == result.evidence and after[claim].holds == result.holds
        if claim not in PROBED and not c.CLAIMS[[x.id for x in c.CLAIMS].index(claim)].axis:
            assert result.holds is not None


def test_probes_are_skipped_when_the_grid_has_the_points(tmp_path):
    run, done = _probed(tmp_path, sparsities=(0, 0.2, 0.5, 0.9), act_sparsities=(0.25,))
    assert done is run and len(done.outcomes) == len(run.grid.points)
    assert not probes.wanted(summary_frame(results_frame(run.outcomes, [], "fake", "edp"), []), {}, ("single", "dual"))


def test_single_sided_sweeps_probe_convergence_only(tmp_path):
    run, done = _probed(tmp_path, sparsities=(0, 0.5), sides=("single",))
    added = done.grid.points[len(run.grid.points):]
    assert added and {(p.variant.sides, p.probe) for p in added} == {("single", probes.CONVERGE_CLAIM)}


def _with_probes(table: pd.DataFrame, energy, claim: str, s: float) -> pd.DataFrame:
    extra = summary(energy, sparsities=(s,))
    extra = extra[extra["kind"].ne("dense")].assign(probe=claim)
    return pd.concat([table.assign(probe=None), extra], ignore_index=True)


def test_a_probe_judged_claim_can_fail_and_no_other_claim_reads_probe_points():
    base = summary(fig15_like)
    apart = _with_probes(base, lambda k, sd, s: 0.3 if k == "structured" else 0.9, probes.CONVERGE_CLAIM, 0.875)
    checked = {cl.id: r for cl, r in c.check_all(apart, {})}
    assert checked[probes.CONVERGE_CLAIM].holds is False
    assert "does not hold" in VERDICT[checked[probes.CONVERGE_CLAIM].holds]
    plain = {cl.id: r for cl, r in c.check_all(base, {})}
    for claim, result in plain.items():
        if claim != probes.CONVERGE_CLAIM:
            assert checked[claim].evidence == result.evidence
    close = _with_probes(base, lambda k, sd, s: 0.3 if k == "structured" else 0.31, probes.CONVERGE_CLAIM, 0.875)
    assert {cl.id: r for cl, r in c.check_all(close, {})}[probes.CONVERGE_CLAIM].holds is True
    # low-sparsity overhead: dual cheaper than single at 0.25 -> the claim does not hold
    cheap = _with_probes(base, lambda k, sd, s: 0.8 if sd == "single" else 0.7, probes.LOW_CLAIM, 0.25)
    assert {cl.id: r for cl, r in c.check_all(cheap, {})}[probes.LOW_CLAIM].holds is False
