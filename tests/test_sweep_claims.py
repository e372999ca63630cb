"""The claims' logic on synthetic summary tables, each both ways (holds / does not hold / not tested)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from sparsesweep.sweep import claims as c

SPARSITIES = (0.5, 0.667, 0.75)
DENSE_E = 1000.0


def summary(energy, cycles=None, skipped=None, axes=None, energy_axis=None, sparsities=SPARSITIES, cycles_axis=None,
            own=None):
    """A summary table: ``energy(kind, sides, s)`` -> energy relative to dense (dense = 1000 pJ, 1000 cycles);
    ``energy_axis(kind, value)`` scales it per value of the single swept axis in ``axes`` ({name: values}),
    ``cycles_axis(kind, value)`` the cycles; ``own`` ({kind: factor}) adds the own-dense normalisation: each
    design's own hardware at sparsity 0 costs ``factor`` x dense, in energy and in cycles."""
    cycles = cycles or (lambda kind, sides, s: 1.0 - s)
    skipped = skipped or (lambda kind, sides, s: s if sides == "single" else 1 - (1 - s) ** 2)
    axes = axes or {}
    rows = []
    for setting in itertools.product(*axes.values()) if axes else [()]:
        scale = energy_axis or (lambda kind, value: 1.0)
        values = dict(zip(axes, setting))
        factor = (lambda kind: scale(kind, setting[0])) if axes else (lambda kind: 1.0)
        rows.append(dict(scheme="dense", kind="dense", sides="-", sparsity=0.0, act_sparsity=None, **values,
                         energy_pj=DENSE_E * factor("dense"), cycles=1000, algorithmic_computes=1000,
                         actual_computes=1000, macs_orig=1000, complete=True))
        for kind, sides, s in itertools.product(("structured", "unstructured"), ("single", "dual"), sparsities):
            rows.append(dict(scheme=kind, kind=kind, sides=sides, sparsity=s, act_sparsity=s if sides == "dual" else None,
                             **values, energy_pj=DENSE_E * energy(kind, sides, s) * factor(kind),
                             cycles=round(1000 * cycles(kind, sides, s) * (cycles_axis(kind, setting[0])
                                                                           if cycles_axis else 1.0)),
                             algorithmic_computes=1000,
                             actual_computes=1000 - round(1000 * skipped(kind, sides, s)), macs_orig=800,
                             complete=True))
    frame = pd.DataFrame(rows)
    dense = frame[frame["kind"].eq("dense")].set_index(list(axes))["energy_pj"] if axes else None
    base = frame.set_index(list(axes)).index.map(dense.to_dict()) if axes else DENSE_E
    frame["energy_vs_dense"] = frame["energy_pj"] / base
    frame["cycles_vs_dense"] = frame["cycles"] / 1000
    if own:
        factor = frame["kind"].map({"dense": 1.0, **own})
        frame["energy_vs_own_dense"] = frame["energy_vs_dense"] / factor
        frame["cycles_vs_own_dense"] = frame["cycles_vs_dense"] / factor
    return frame


def fig15_like(kind, sides, s):
    """Energy vs dense shaped like the study's claims."""
    if kind == "structured":
        return 0.55 - 0.3 * s if sides == "single" else 0.45 - 0.3 * s
    return 1.25 - 0.4 * (s - 0.5) / 0.25 if sides == "single" else 1.3 - 0.75 * s  # single: 1.0 at s = 0.625


def test_break_even_interpolates_and_extrapolates():
    assert c.break_even(pd.Series({0.3: 1.1, 0.5: 0.9}))[0] == pytest.approx(0.4)
    s, how = c.break_even(pd.Series({0.5: 0.8, 0.75: 0.6}))
    assert s == pytest.approx(0.25) and "below" in how
    s, how = c.break_even(pd.Series({0.5: 1.2, 0.75: 1.05}))
    assert s == pytest.approx(0.75 + 0.05 / 0.6) and "above" in how
    assert c.break_even(pd.Series({0.5: 1.2, 0.75: 1.1}))[0] is None  # would cross only at sparsity 1
    assert c.break_even(pd.Series({0.5: 1.2, 0.75: 1.3}))[0] is None
    assert c.break_even(pd.Series({0.5: 0.8}))[0] is None


def test_structured_saves_2x():
    ok = c.structured_saves_2x(summary(lambda k, sd, s: 0.3 if k == "structured" else 0.6), {})
    assert ok.holds is True and "2.00" in ok.evidence
    close = c.structured_saves_2x(summary(lambda k, sd, s: 0.5 if k == "structured" else 0.55), {})
    assert close.holds is False and close.notes
    reversed_ = c.structured_saves_2x(summary(lambda k, sd, s: 0.6 if k == "structured" else 0.3), {})
    assert reversed_.holds is False
    none = c.structured_saves_2x(summary(fig15_like, sparsities=(0.75,)), {})
    assert none.holds is None and "not tested" in none.evidence


def test_unstructured_single_needs_75():
    holds = c.unstructured_single_needs_75(summary(fig15_like), {})
    assert holds.holds is False  # fig15_like breaks even at 0.625
    late = summary(lambda k, sd, s: {0.5: 1.2, 0.667: 1.05, 0.75: 0.8}[s] if k == "unstructured" else 0.5)
    result = c.unstructured_single_needs_75(late, {})
    assert result.holds is True and "0.75: 0.800" in result.evidence
    never = c.unstructured_single_needs_75(summary(lambda k, sd, s: 1.3), {})
    assert never.holds is True and "no break-even" in never.evidence
    assert c.unstructured_single_needs_75(summary(fig15_like, sparsities=(0.75,)), {}).holds is None


def test_unstructured_dual_needs_40():
    at_40 = summary(lambda k, sd, s: 1.0 - (s - 0.4) if k == "unstructured" else 0.5, sparsities=(0.3, 0.5, 0.75))
    result = c.unstructured_dual_needs_40(at_40, {})
    assert result.holds is True and "break-even 0.400" in result.evidence and "interpolated" in result.evidence
    assert "not measured to 0.01" in result.evidence  # 0.3 and 0.5 are wider apart than 0.01
    late = summary(lambda k, sd, s: 1.0 - (s - 0.7) if k == "unstructured" else 0.5)
    assert c.unstructured_dual_needs_40(late, {}).holds is False
    flat = summary(lambda k, sd, s: 1.2)
    untested = c.unstructured_dual_needs_40(flat, {})
    assert untested.holds is None
    # 0.4 is no N:M pattern the structured design accepts: the suggested command runs the unstructured design only
    assert "--sparsity 0,0.2,0.4,0.5,0.667,0.75 --schemes unstructured --sides dual" in untested.evidence


def test_unstructured_faster_at_66():
    faster = summary(fig15_like, cycles=lambda k, sd, s: (1 - s) * (0.8 if k == "unstructured" else 1.0))
    assert c.unstructured_faster_at_66(faster, {}).holds is True
    slower = summary(fig15_like, cycles=lambda k, sd, s: (1 - s) * (1.2 if k == "unstructured" else 1.0))
    result = c.unstructured_faster_at_66(slower, {})
    assert result.holds is False and "1.20" in result.evidence
    assert c.unstructured_faster_at_66(summary(fig15_like, sparsities=(0.5,)), {}).holds is None


def test_same_skipped_computes():
    assert c.same_skipped_computes(summary(fig15_like), {}).holds is True
    fewer = summary(fig15_like, skipped=lambda k, sd, s: s if k == "structured" or sd == "single" else 1 - (1 - s) ** 2)
    result = c.same_skipped_computes(fewer, {})
    assert result.holds is False and "dual" in result.evidence and result.notes


@pytest.mark.parametrize("check, axis, values", [
    (c.more_smem_lowers_both_equally, "smem_kib", (128, 256, 512)),
    (c.metadata_ram_changes_nothing, "smem_metadata_kib", (16, 32, 64)),
    (c.lrf_metadata_insignificant, "lrf_metadata_bits", (4, 8, 16)),
])
def test_axis_claims_are_not_tested_without_their_axis(check, axis, values):
    result = check(summary(fig15_like), {})
    assert result.holds is None and f"--set {axis}=" in result.evidence


def test_more_smem_lowers_both_equally():
    axes = {"smem_kib": (128, 256, 512)}
    equal = summary(fig15_like, axes=axes, energy_axis=lambda k, v: {128: 1.1, 256: 1.0, 512: 0.95}[v])
    assert c.more_smem_lowers_both_equally(equal, {"smem_kib": 256}).holds is True
    unequal = summary(fig15_like, axes=axes, energy_axis=lambda k, v: {128: 1.1, 256: 1.0, 512: 0.95}[v]
                      if k != "unstructured" else 1.0 - 0.0001 * v / 128)
    result = c.more_smem_lowers_both_equally(unequal, {"smem_kib": 256})
    assert result.holds is False and "largest gap" in result.evidence and result.notes
    rising = summary(fig15_like, axes=axes, energy_axis=lambda k, v: v / 256)
    assert c.more_smem_lowers_both_equally(rising, {"smem_kib": 256}).holds is False


def test_metadata_ram_changes_nothing():
    axes = {"smem_metadata_kib": (16, 32, 64)}
    same = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 + 0.0001 * (v == 64))
    assert c.metadata_ram_changes_nothing(same, {"smem_metadata_kib": 64}).holds is True
    moves = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 - 0.03 * (v == 64))
    result = c.metadata_ram_changes_nothing(moves, {"smem_metadata_kib": 64})
    assert result.holds is False and "-3.00%" in result.evidence


def test_lrf_metadata_insignificant():
    axes = {"lrf_metadata_bits": (4, 8, 16)}
    small = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 + 0.01 * (v == 16))
    assert c.lrf_metadata_insignificant(small, {"lrf_metadata_bits": 8}).holds is True
    large = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 + 0.05 * (v == 16))
    assert c.lrf_metadata_insignificant(large, {"lrf_metadata_bits": 8}).holds is False


def test_axis_claims_hold_other_axes_at_their_reference():
    axes = {"smem_kib": (128, 256)}
    frame = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 - 0.1 * (v == 256))
    other = frame.assign(lrf_metadata_bits=8)
    noisy = frame.assign(lrf_metadata_bits=16, energy_pj=frame["energy_pj"] * 3)
    both = pd.concat([other, noisy], ignore_index=True)
    result = c.more_smem_lowers_both_equally(both, {"smem_kib": 256, "lrf_metadata_bits": 8})
    assert result.holds is True


def test_incomplete_points_are_left_out():
    frame = summary(lambda k, sd, s: 0.3 if k == "structured" else 0.6)
    frame.loc[frame["kind"].eq("unstructured"), "complete"] = False
    assert c.structured_saves_2x(frame, {}).holds is None


def test_check_all_runs_every_claim():
    results = c.check_all(summary(fig15_like), {})
    assert [claim.id for claim, _ in results] == [claim.id for claim in c.CLAIMS] and len(results) == 13
    assert all(isinstance(r.evidence, str) and r.evidence for _, r in results)


def test_computes_performed_is_a_table_of_design_by_sparsity():
    from sparsesweep.sweep.report import md_table
    from sparsesweep.sweep.report_views import computes_performed
    text = computes_performed(summary(fig15_like), {}, md_table)
    assert "| design | 0.5 | 0.667 | 0.75 |" in text  # one column per weight sparsity
    assert "| structured single | 50.0 | 33.3 | 25.0 |" in text
    assert "| unstructured dual | 25.0 | 11.1 | 6.2 |" in text
    assert "structured 25.0%" in text  # 1000 algorithmic MACs over 800 of the network's own
    # a design not evaluated at a sparsity shows '-' in that cell, never a shifted number
    partial = summary(fig15_like)
    partial = partial[~(partial["kind"].eq("structured") & partial["sides"].eq("dual") & partial["sparsity"].eq(0.667))]
    assert "| structured dual | 25.0 | - | 6.2 |" in computes_performed(partial, {}, md_table)


def test_axis_claims_read_an_axis_of_multiples():
    axes = {"lrf_metadata_bits_factor": (0.5, 1.0, 2.0)}
    small = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 + 0.01 * (v == 2.0))
    result = c.lrf_metadata_insignificant(small, {"lrf_metadata_bits_factor": 1.0})
    assert result.holds is True and "lrf_metadata_bits x0.5 -> x2" in result.evidence
    assert c.axis_column(small.columns, "lrf_metadata_bits") == "lrf_metadata_bits_factor"


def test_verdicts_are_given_per_side_and_one_failing_side_fails_the_claim():
    """Single-sided ~2x, dual-sided only 1.1x: the dual row says 'does not hold', the single row 'holds'."""
    frame = summary(lambda k, sd, s: (0.3 if sd == "single" else 0.5) if k == "structured"
                    else (0.6 if sd == "single" else 0.55))
    result = c.structured_saves_2x(frame, {})
    verdicts = {p.scope: p.holds for p in result.parts}
    assert verdicts == {"single": True, "dual": False} and result.holds is False
    assert all(p.threshold and p.points for p in result.parts)


def test_a_measured_break_even_is_judged_on_its_bracket():
    late = summary(lambda k, sd, s: 1.0 - (s - 0.70) if k == "unstructured" else 0.5, sparsities=(0.5, 0.695, 0.705, 0.75))
    result = c.unstructured_single_needs_75(late, {})
    assert result.holds is False and "break-even 0.700" in result.evidence and "not measured" not in result.evidence
    at_75 = summary(lambda k, sd, s: 1.0 - (s - 0.75) if k == "unstructured" else 0.5, sparsities=(0.5, 0.745, 0.755))
    assert c.unstructured_single_needs_75(at_75, {}).holds is True


def test_structured_better_energy_counts_the_cases():
    assert c.structured_better_energy(summary(fig15_like), {}).holds is True
    mostly_not = summary(lambda k, sd, s: 0.5 if k == "structured" else (0.4 if s > 0.5 else 0.6))
    result = c.structured_better_energy(mostly_not, {})
    assert result.holds is False and "1 of 3" in result.evidence


def test_convergence_needs_an_extreme_sparsity_and_can_fail():
    assert "0.875" in c.both_converge_at_extreme(summary(fig15_like), {}).evidence
    close = summary(lambda k, sd, s: 0.3 if k == "structured" else 0.3 * (1 + (0.9 - s)), sparsities=(0.5, 0.9))
    assert c.both_converge_at_extreme(close, {}).holds is True
    apart = summary(lambda k, sd, s: 0.3 if k == "structured" else 0.6, sparsities=(0.5, 0.9))
    assert c.both_converge_at_extreme(apart, {}).holds is False


def test_dual_vs_single_claims_hold_and_fail():
    assert c.dual_outperforms_single(summary(fig15_like), {}).holds is True
    worse = summary(lambda k, sd, s: 0.5 if sd == "single" else 0.6)
    result = c.dual_outperforms_single(worse, {})
    assert result.holds is False and {p.scope for p in result.parts} == {"structured", "unstructured"}
    low = (0.2, 0.5, 0.75)
    overhead = summary(lambda k, sd, s: 1.0 if sd == "single" else (1.0 + (0.3 if k == "unstructured" else 0.1)) * (s < 0.3)
                       + 0.5 * (s >= 0.3), sparsities=low)
    assert c.dual_overhead_at_low_sparsity(overhead, {}).holds is True
    no_overhead = summary(lambda k, sd, s: 1.0 if sd == "single" else 0.9, sparsities=low)
    assert c.dual_overhead_at_low_sparsity(no_overhead, {}).holds is False
    assert "0.2" in c.dual_overhead_at_low_sparsity(summary(fig15_like), {}).evidence  # not tested: says what to add


def test_dual_advantage_at_matched_combined_density():
    # dual 0.5 (combined density 0.25) against single 0.75 (density 0.25)
    shrinks = summary(lambda k, sd, s: {0.5: 0.6, 0.75: 0.45}[s] if sd == "single" else {0.5: 0.4, 0.75: 0.2}[s],
                      sparsities=(0.5, 0.75))
    result = c.dual_advantage_shrinks_when_matched(shrinks, {})
    assert result.holds is True and "dual 0.5 vs single 0.75" in result.evidence
    reverses = summary(lambda k, sd, s: {0.5: 0.6, 0.75: 0.35}[s] if sd == "single" else {0.5: 0.4, 0.75: 0.2}[s],
                       sparsities=(0.5, 0.75))
    assert c.dual_advantage_shrinks_when_matched(reverses, {}).holds is False
    assert "0.75" in c.dual_advantage_shrinks_when_matched(summary(fig15_like, sparsities=(0.5,)), {}).evidence


# ---- every per-normalisation and per-side verdict can fail on its own --------------------------

OWN = {"structured": 1.0, "unstructured": 2.0}  # DSTC's hardware costs 2x dense running dense data


def _verdicts(result):
    return {p.scope: p.holds for p in result.parts}


def test_the_own_dense_verdicts_can_fail_where_the_dense_ones_hold():
    """Unstructured 1.6x structured against dense, but its own hardware costs 2x: over its own dense point it
    is the cheaper one, so every 'own dense' row says 'does not hold' while the dense rows hold."""
    frame = summary(lambda k, sd, s: 0.5 if k == "structured" else 0.8, own=OWN)
    assert _verdicts(c.structured_better_energy(frame, {})) == {
        "single": True, "dual": True, "single, own dense": False, "dual, own dense": False}
    assert _verdicts(c.structured_saves_2x(frame, {})) == {
        "single": True, "dual": True, "single, own dense": False, "dual, own dense": False}
    faster = summary(fig15_like, cycles=lambda k, sd, s: (1 - s) * (0.8 if k == "unstructured" else 1.0), own=OWN)
    assert _verdicts(c.unstructured_faster_at_66(faster, {})) == {
        "single": True, "dual": True, "single, own dense": True, "dual, own dense": True}
    slower_own = summary(fig15_like, cycles=lambda k, sd, s: (1 - s) * (0.8 if k == "unstructured" else 1.0),
                         own={"structured": 1.0, "unstructured": 0.5})
    assert _verdicts(c.unstructured_faster_at_66(slower_own, {})) == {
        "single": True, "dual": True, "single, own dense": False, "dual, own dense": False}


def test_convergence_is_judged_under_both_normalisations():
    """Equal energies at 0.9 converge over dense; over their own hardware (2x apart) they do not."""
    frame = summary(lambda k, sd, s: 0.3 if k == "structured" else 0.3 * (1 + (0.9 - s)), sparsities=(0.5, 0.9),
                    own=OWN)
    assert _verdicts(c.both_converge_at_extreme(frame, {})) == {
        "single": True, "dual": True, "single, own dense": False, "dual, own dense": False}
    untested = c.both_converge_at_extreme(summary(fig15_like, own=OWN), {})
    assert untested.holds is None and {p.scope for p in untested.parts} == {
        "single", "dual", "single, own dense", "dual, own dense"}


def test_especially_for_unstructured_can_fail_on_its_own():
    """Both kinds pay a dual-sided overhead at low sparsity, but structured pays more: 'especially' fails."""
    low = (0.2, 0.5, 0.75)
    frame = summary(lambda k, sd, s: 1.0 if sd == "single" else (1.0 + (0.1 if k == "unstructured" else 0.3))
                    * (s < 0.3) + 0.5 * (s >= 0.3), sparsities=low)
    result = c.dual_overhead_at_low_sparsity(frame, {})
    assert _verdicts(result) == {"structured": True, "unstructured": True, "unstructured vs structured": False}
    assert result.holds is False


def test_dual_leads_at_matched_density_but_does_not_shrink():
    """Dual still cheaper at the matched density, but by more than at the same weight sparsity."""
    grows = summary(lambda k, sd, s: {0.5: 0.45, 0.75: 0.5}[s] if sd == "single" else {0.5: 0.4, 0.75: 0.2}[s],
                    sparsities=(0.5, 0.75))
    result = c.dual_advantage_shrinks_when_matched(grows, {})
    assert result.holds is False and "single/dual 1.25, vs single 0.5: 1.12" in result.evidence


def test_memory_verdicts_are_per_side_and_one_side_can_fail():
    axes = {"smem_kib": (128, 256, 512)}
    # single-sided points lower equally; dual-sided structured does not change
    frame = summary(fig15_like, axes=axes, energy_axis=lambda k, v: {128: 1.1, 256: 1.0, 512: 0.95}[v])
    dual_flat = frame["sides"].eq("dual") & frame["kind"].eq("structured")
    frame.loc[dual_flat, "energy_pj"] = frame.loc[dual_flat, "energy_pj"] / frame.loc[dual_flat, "smem_kib"].map(
        {128: 1.1, 256: 1.0, 512: 0.95})
    result = c.more_smem_lowers_both_equally(frame, {"smem_kib": 256})
    assert _verdicts(result) == {"single": True, "dual": False}


def test_metadata_sram_claim_fails_on_a_cycle_effect_alone():
    """'No energy/cycle effect': flat energy with cycles that drop 10% at the largest size does not hold."""
    axes = {"smem_metadata_kib": (16, 32, 64)}
    frame = summary(fig15_like, axes=axes, cycles_axis=lambda k, v: 0.9 if v == 64 else 1.0)
    result = c.metadata_ram_changes_nothing(frame, {"smem_metadata_kib": 32})
    assert _verdicts(result) == {"single": False, "dual": False}
    assert "energy change" in result.evidence and "cycles change" in result.evidence and "-10.00%" in result.evidence
    flat = summary(fig15_like, axes=axes)
    assert c.metadata_ram_changes_nothing(flat, {"smem_metadata_kib": 32}).holds is True


def test_untested_parts_say_what_they_need_without_a_points_note():
    single_only = summary(fig15_like)
    single_only = single_only[~single_only["sides"].eq("dual")]
    result = c.unstructured_dual_needs_40(single_only, {})
    assert result.holds is None and "no unstructured dual-sided points" in result.evidence
    assert "energy ratio ;" not in result.evidence
    checked = dict((claim.id, r) for claim, r in c.check_all(single_only, {}))
    for r in checked.values():
        assert all(not p.points for p in r.parts if p.holds is None)
    assert ("`python sweep.py --sparsity 0,0.5,0.667,0.75 --sides single,dual`"
            in checked["dual_outperforms_single"].evidence)


def test_matched_density_with_per_layer_activations_names_the_command_that_tests_it():
    frame = summary(fig15_like)
    frame["act_sparsity"] = None  # --act-sparsity workload: per-layer densities, no act_sparsity column value
    result = c.dual_advantage_shrinks_when_matched(frame, {})
    assert result.holds is None and "`python sweep.py --sparsity 0,0.5,0.667,0.75`" in result.evidence


def test_an_insignificant_effect_says_which_way_energy_moved():
    """'Reduces energy insignificantly' with energy that rises 1%: the verdict (size of the effect) holds, and
    the evidence says energy did not fall, so the row does not read as a reduction."""
    axes = {"lrf_metadata_bits": (4, 8, 16)}
    rises = summary(fig15_like, axes=axes, energy_axis=lambda k, v: 1.0 + 0.01 * (v == 16))
    result = c.lrf_metadata_insignificant(rises, {"lrf_metadata_bits": 8})
    assert result.holds is True
    assert "energy falls at 0 of 6 points; largest fall none, largest rise +1.00%" in result.evidence
    assert all("not its sign" in p.threshold for p in result.parts)


def test_matched_density_uses_any_activation_setting_the_sweep_evaluated():
    """--act-sparsity 0.3,0.5: the other claims read act 0.3, whose combined sparsities (0.65, 0.767, 0.825) no
    single point has; dual 0.5 at act 0.5 matches single 0.75, so the claim is tested there and says so."""
    base = summary(lambda k, sd, s: {0.5: 0.6, 0.667: 0.5, 0.75: 0.45}[s] if sd == "single" else 0.4 - 0.2 * (s - 0.5))
    dual = base[base["sides"].eq("dual")]
    frame = pd.concat([base[~base["sides"].eq("dual")], dual.assign(act_sparsity=0.3),
                       dual.assign(act_sparsity=0.5, energy_pj=dual["energy_pj"] * 0.9)], ignore_index=True)
    result = c.dual_advantage_shrinks_when_matched(frame, {})
    assert result.holds is not None and "dual 0.5 vs single 0.75" in result.evidence
    assert all("dual: activation sparsity = weight sparsity" in p.points for p in result.parts)
    checked = dict((claim.id, r) for claim, r in c.check_all(frame, {}))
    assert all(p.points.count("dual:") == 1 for p in checked["dual_advantage_shrinks_when_matched"].parts)
    only_03 = pd.concat([base[~base["sides"].eq("dual")], dual.assign(act_sparsity=0.3)], ignore_index=True)
    untested = c.dual_advantage_shrinks_when_matched(only_03, {})
    assert untested.holds is None and "0.65, 0.767, 0.825" in untested.evidence
    # the suggested command is one the structured design accepts (0.65 is no N:M pattern)
    assert "`python sweep.py --sparsity 0,0.5,0.667,0.75` (activation sparsity = weight sparsity" in untested.evidence


def test_the_dual_break_even_names_its_own_dense_point_as_single_sided_hardware():
    frame = summary(lambda k, sd, s: 1.0 - (s - 0.4) if k == "unstructured" else 0.5, sparsities=(0.3, 0.5, 0.75))
    own = frame[frame["kind"].eq("unstructured") & frame["sides"].eq("single")].iloc[[0]].assign(
        sparsity=0.0, energy_pj=2000.0, energy_vs_dense=2.0)
    result = c.unstructured_dual_needs_40(pd.concat([frame, own], ignore_index=True), {})
    assert result.parts[0].points == ("unstructured dual at 0.3, 0.5, 0.75; its own hardware at sparsity 0 "
                                      "(single-sided, dense data)")


def test_the_computes_table_is_in_the_report_whether_or_not_a_claim_disagrees():
    from sparsesweep.sweep.report import _claims

    text = _claims([], why="TABLE")
    assert "### Computes each design performs" in text and "TABLE" in text
