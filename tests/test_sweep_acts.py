"""Activation sparsity as its own axis: the grid, per-layer densities from the workload, and which
dual-sided rows the claims and the break-even search read (they must use the points that exist and
say which activation sparsity they used)."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

from sparsesweep.errors import SpecError
from sparsesweep.sweep import acts, breakeven
from sparsesweep.sweep import claims as c
from sparsesweep.sweep.grid import SweepConfig, build_grid
from sparsesweep.sweep.tables import results_frame, summary_frame
from sweep_fakes import CountingRegistry, run_fake, run_fake_grid


WEIGHTS = (0.5, 0.667, 0.75)


def crossed(act_values=(0.3, 0.5), energy=None):
    """A summary with dual points at every (weight, activation) sparsity pair, as --act-sparsity gives."""
    energy = energy or (lambda kind, sides, s, a: (0.5 if kind == "structured" else 1.0) * (1 - s) * (1 - 0.5 * a))
    rows = [dict(scheme="dense", kind="dense", sides="-", sparsity=0.0, act_sparsity=None, energy_pj=1000.0,
                 cycles=1000, algorithmic_computes=1000, actual_computes=1000, macs_orig=1000, complete=True)]
    for kind in ("structured", "unstructured"):
        rows.append(dict(scheme=kind, kind=kind, sides="single", sparsity=0.0, act_sparsity=None,
                         energy_pj=1000.0 * energy(kind, "single", 0.0, 0.0) * 2, cycles=1000,
                         algorithmic_computes=1000, actual_computes=1000, macs_orig=1000, complete=True))
        for s in WEIGHTS:
            rows.append(dict(scheme=kind, kind=kind, sides="single", sparsity=s, act_sparsity=None,
                             energy_pj=1000.0 * energy(kind, "single", s, 0.0), cycles=round(1000 * (1 - s)),
                             algorithmic_computes=1000, actual_computes=round(1000 * (1 - s)), macs_orig=1000,
                             complete=True))
            for a in act_values:
                rows.append(dict(scheme=kind, kind=kind, sides="dual", sparsity=s, act_sparsity=a,
                                 energy_pj=1000.0 * energy(kind, "dual", s, a), cycles=round(1000 * (1 - s)),
                                 algorithmic_computes=1000, actual_computes=round(1000 * (1 - s)), macs_orig=1000,
                                 complete=True))
    frame = pd.DataFrame(rows)
    frame["energy_vs_dense"] = frame["energy_pj"] / 1000.0
    frame["cycles_vs_dense"] = frame["cycles"] / 1000
    return frame


def test_the_default_holds_activation_sparsity_equal_to_the_weights():
    frame = crossed(act_values=())
    dual = frame[frame["sides"].eq("single") & frame["sparsity"].gt(0)].assign(sides="dual")
    dual["act_sparsity"] = dual["sparsity"]
    how = acts.dual_act(pd.concat([frame, dual]))
    assert how.mode == "weight" and how.describe() == "activation sparsity = weight sparsity"
    assert how.density(0.75) == pytest.approx(0.25) and how.variant_act() is None


def test_a_crossed_axis_holds_one_activation_sparsity_at_every_weight_sparsity():
    """The bug: with --act-sparsity 0.3,0.5 one row has act = weight (0.5/0.5), which used to drop the
    others; the claims must use act 0.3 (first given, present at every weight sparsity)."""
    frame = crossed()
    how = acts.dual_act(frame)
    assert (how.mode, how.value) == ("fixed", 0.3)
    series = c.series(frame, "structured", "dual", "energy_pj")
    assert list(series.index) == list(WEIGHTS)
    assert series[0.667] == pytest.approx(1000 * 0.5 * (1 - 0.667) * (1 - 0.15))  # the act 0.3 row, not 0.5


def test_crossed_claims_are_tested_and_name_the_activation_sparsity():
    checked = dict((claim.id, result) for claim, result in c.check_all(crossed(), {}))
    for claim_id in ("structured_better_energy", "structured_saves_2x", "dual_outperforms_single"):
        dual = [p for p in checked[claim_id].parts if "dual" in p.scope or "dual" in p.points]
        assert dual and all(p.holds is not None for p in dual), claim_id
        assert all("activation sparsity 0.3 at every weight sparsity" in p.points for p in dual), claim_id
    single_only = [p for p in checked["structured_saves_2x"].parts if p.scope == "single"]
    assert single_only and all("activation" not in p.points for p in single_only)


def test_the_matched_density_claim_uses_the_held_activation_density():
    """Dual at weight s with activation sparsity 0.5 matches single at 1 - (1 - s) * 0.5."""
    frame = crossed(act_values=(0.5,))
    result = c.with_act_note(c.dual_advantage_shrinks_when_matched(frame, {}), acts.dual_act(frame).describe())
    structured = next(p for p in result.parts if p.scope == "structured")
    assert "dual 0.5 vs single 0.75 (same combined density)" in structured.evidence  # (1 - 0.5) * 0.5 = 0.25
    assert "dual 0.75" not in structured.evidence  # its match, 0.875, was not evaluated
    assert "activation sparsity 0.5 at every weight sparsity" in structured.points


def test_a_constructed_crossed_table_where_dual_loses_does_not_hold():
    energy = lambda kind, sides, s, a: (1 - s) * (2.0 if sides == "dual" and a == 0.3 else 0.5)  # noqa: E731
    result = c.dual_outperforms_single(crossed(energy=energy), {})
    assert result.holds is False  # at act 0.3 dual costs more; the act 0.5 rows (cheaper) are not mixed in


def test_per_layer_densities_select_the_dual_rows_without_act_sparsity():
    frame = crossed(act_values=(0.5,))
    frame.loc[frame["sides"].eq("dual"), "act_sparsity"] = math.nan
    how = acts.dual_act(frame)
    assert how.mode == "workload" and "per layer" in how.describe()
    assert len(c.series(frame, "unstructured", "dual", "energy_pj")) == len(WEIGHTS)
    assert c.dual_advantage_shrinks_when_matched(frame, {}).holds is None


def test_break_even_curves_read_the_held_activation_sparsity():
    frame = crossed(energy=lambda kind, sides, s, a: 2.0 - 2 * s if kind == "unstructured" else 0.5)
    curves = breakeven.curves(frame, {})
    assert list(curves[("unstructured", "dual")].index) == [0.0, *WEIGHTS]


# ---- the grid ------------------------------------------------------------------------------------

def test_act_sparsity_is_crossed_with_the_weight_sparsity_for_both_kinds():
    grid = build_grid(SweepConfig(sparsities=(0, 0.5, 0.75), act_sparsities=(0.25, 0.5), layers=("fc",),
                                  schemes=("structured", "unstructured", "structured_dualcompress")))
    dual = {(v.scheme.name, v.sparsity, v.act_sparsity) for v in grid.variants if v.sides == "dual"}
    assert dual == set(itertools.product(("structured", "unstructured", "structured_dualcompress"), (0.5, 0.75),
                                         (0.25, 0.5)))
    ids = [p.id for p in grid.points if p.variant.sides == "dual"]
    assert "fc-structured-dual-s0.75-a0.25" in ids and len(set(ids)) == len(ids)


def test_an_inexpressible_structured_act_sparsity_is_refused_before_any_work():
    with pytest.raises(SpecError, match=r"--act-sparsity: activation sparsity 0.3 .*nearest: 0.3125 \(11:16\)"):
        build_grid(SweepConfig(sparsities=(0, 0.5), act_sparsities=(0.3,), layers=("fc",),
                               schemes=("structured", "unstructured")))
    grid = build_grid(SweepConfig(sparsities=(0, 0.5), act_sparsities=(0.3,), layers=("fc",),
                                  schemes=("structured_dualcompress", "unstructured")))
    assert any(v.act_sparsity == 0.3 for v in grid.variants)  # unstructured activations take any sparsity


def _workload(tmp_path, densities):
    lines = ["name: tiny", "layers:"]
    for i, d in enumerate(densities):
        extra = f", activation_density: {d}" if d is not None else ""
        lines.append(f"  - {{name: l{i}, R: 1, S: 1, P: 8, Q: 8, C: 64, M: 64{extra}}}")
    path = tmp_path / "w.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_workload_activation_densities_are_used_when_asked(tmp_path):
    path = _workload(tmp_path, [0.56, 0.3])
    run = run_fake(tmp_path / "out", tmp_path / "cache", workload=str(path), layers=None, act_from_workload=True,
                   sparsities=(0, 0.5), schemes=("structured_dualcompress", "unstructured"))
    results = results_frame(run.outcomes, [], "fake", "edp")
    dual = results[results["sides"].eq("dual")]
    assert set(dual["point"].str.endswith("-aworkload")) == {True}
    assert dual["act_sparsity"].isna().all()
    assert sorted(dual["input_density"].round(6).unique()) == [0.3, 0.56]
    by_layer = dual.groupby("layer")["input_density"].first().round(6).to_dict()
    assert by_layer == {"l0": 0.56, "l1": 0.3}
    summary = summary_frame(results, [])
    assert len(summary[summary["sides"].eq("dual")]) == 2  # one network total per dual design
    default = run_fake(tmp_path / "out2", tmp_path / "cache", workload=str(path), layers=None,
                       sparsities=(0, 0.5), schemes=("structured_dualcompress",))
    plain = results_frame(default.outcomes, [], "fake", "edp")
    assert set(plain.loc[plain["sides"].eq("dual"), "input_density"]) == {0.5}  # not asked: act = weight


def test_workload_activation_densities_are_validated(tmp_path):
    with pytest.raises(SpecError, match="activation_density of layer l1 .* nearest"):
        build_grid(SweepConfig(workload=str(_workload(tmp_path, [0.5, 0.7])), act_from_workload=True,
                               sparsities=(0, 0.5), schemes=("structured",)))
    with pytest.raises(SpecError, match="needs each layer's activation_density, and l1 give none"):
        build_grid(SweepConfig(workload=str(_workload(tmp_path, [0.5, None])), act_from_workload=True,
                               sparsities=(0, 0.5), schemes=("unstructured",)))


def test_the_sweep_measures_the_dual_break_even_at_the_held_activation_sparsity(tmp_path):
    registry = CountingRegistry()
    run = run_fake(tmp_path / "out", tmp_path / "cache", registry, layers=("conv1", "fc"), act_sparsities=(0.25, 0.5),
                   schemes=("structured", "unstructured"))

    def evaluate(grid):
        return run_fake_grid(grid, tmp_path / "out", tmp_path / "cache", registry)

    refined = breakeven.refine(run, evaluate)
    added = [p.variant for p in refined.grid.points[len(run.grid.points):] if p.variant.sides == "dual"]
    assert added and {v.act_sparsity for v in added} == {0.25}
    summary = summary_frame(results_frame(refined.outcomes, [], "fake", "edp"), [])
    checked = dict((claim.id, result) for claim, result in c.check_all(summary, {}))
    dual = [p for p in checked["unstructured_dual_needs_40"].parts]
    assert dual and "activation sparsity 0.25 at every weight sparsity" in dual[0].points


def test_labels_name_the_activation_sparsity_of_every_dual_row_when_it_is_an_axis():
    from sparsesweep.sweep.tables import variant_labels

    frame = crossed()
    labels = dict(zip(zip(frame["scheme"], frame["sides"], frame["sparsity"], frame["act_sparsity"]),
                      variant_labels(frame)))
    assert labels[("structured", "dual", 0.5, 0.5)] == "structured dual (act 0.5)"  # one curve per act value
    assert labels[("structured", "dual", 0.667, 0.5)] == "structured dual (act 0.5)"
    singles = {label for label, sides in zip(variant_labels(frame), frame["sides"]) if sides == "single"}
    assert singles == {"structured single", "unstructured single"}
    default = frame[frame["sides"].ne("dual")]
    study = pd.concat([default, default[default["sparsity"].gt(0)].assign(sides="dual", act_sparsity=lambda f: f["sparsity"])])
    assert "structured dual" in variant_labels(study)  # act = weight sparsity: no suffix


def test_workload_densities_are_not_needed_without_dual_points(tmp_path):
    grid = build_grid(SweepConfig(workload=str(_workload(tmp_path, [0.5, None])), act_from_workload=True,
                                  sparsities=(0, 0.5), schemes=("unstructured",), sides=("single",)))
    assert any("only affects dual-sided points" in note for note in grid.notes)
    assert not any(v.act_from_workload for v in grid.variants)
