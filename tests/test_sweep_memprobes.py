"""Memory probes: the points the memory claims need when the sweep does not vary their parameter
(x2 of each arch's own value against the grid's x1 points), read only by their claim."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sweep_fakes import fake_registry

from sparsesweep.sweep import claims as c
from sparsesweep.sweep import memprobes
from sparsesweep.sweep.cli import main
from sparsesweep.sweep.grid import SweepConfig, build_grid
from sparsesweep.sweep.report import VERDICT
from sparsesweep.sweep.store import CACHE_ENV
from test_sweep_claims import fig15_like, summary

SMALL = ["--layers", "conv1,fc", "--sparsity", "0,0.5,0.667,0.75", "-j", "1", "--quiet"]
MEMORY = tuple(memprobes.PARAMETERS)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _sweep(out, *args):
    return main(["--backend", "fake", "--out", str(out), *SMALL, *args], registry=fake_registry())


def _claim_rows(report: str, text: str) -> list[str]:
    return [line for line in report.split("## Claims")[1].splitlines() if line.startswith(f"| {text} |")]


def test_the_default_study_judges_all_thirteen_claims_per_side(tmp_path, cache):
    out = tmp_path / "out"
    assert _sweep(out) == 0
    claims = json.loads((out / "run.json").read_text())["claims"]
    assert set(claims) == {claim.id for claim in c.CLAIMS} and len(claims) == 13
    one_side = {"unstructured_single_needs_75": {"single"}, "unstructured_dual_needs_40": {"dual"}}  # by their text
    for claim, parts in claims.items():  # every claim gets a verdict on each side (per design kind for dual vs single)
        assert isinstance(parts, dict) and None not in parts.values(), (claim, parts)
        sides = {s for scope in parts for s in ("single", "dual", "structured", "unstructured") if s in scope}
        assert (sides == one_side[claim] if claim in one_side
                else sides >= {"single", "dual"} or sides >= {"structured", "unstructured"}), (claim, parts)
    results = pd.read_csv(out / "results.csv")
    probed = results[results["probe"].isin(MEMORY)]
    # 4 designs (structured and unstructured, single and dual) x 2 layers per memory claim, at 0.75, x2
    assert len(probed) == 3 * 4 * 2 and set(probed["sparsity"]) == {0.75} and probed["status"].eq("ok").all()
    for claim, parameter in memprobes.PARAMETERS.items():
        column = parameter + "_factor"
        mine = results["probe"].eq(claim)
        assert results.loc[mine, column].eq(2.0).all() and results.loc[~mine, column].eq(1.0).all()
        assert results.loc[mine, "point"].str.endswith(f"-{column}2").all()
        assert results.loc[mine, "energy_source"].str.contains("scaled").all()
    stc = results["arch"].eq("stc")
    assert set(results.loc[stc & results["probe"].eq("lrf_metadata_insignificant"), "lrf_metadata_bits"]) == {16}
    assert set(results.loc[stc & results["probe"].isna(), "lrf_metadata_bits"]) == {8}
    report = (out / "report.md").read_text()
    for text in ("more SRAM reduces energy equally for structured and unstructured",
                 "more metadata SRAM alone has no energy/cycle effect",
                 "more register-file metadata reduces energy insignificantly"):
        rows = _claim_rows(report, text)
        assert [r.split(" | ")[1] for r in rows] == ["single", "dual"]
        assert all("not tested" not in r and "claim probe:" in r and "x2 against the grid's x1 points" in r
                   and "at sparsity 0.75" in r and "2 layers each" in r and "scaled at the x2 probe points" in r
                   for r in rows)
    # the report's tables leave the memory probes out: they are off the reference setting
    totals = report.split("## Network totals")[1].split("Two normalisations")[0]
    assert totals.count("| structured single | 0.75 |") == 1
    per_layer = report.split("## Per layer")[1].split("\n## ")[0]
    assert per_layer.count("| structured single | 0.75 |") == 1 and "| 0.875 (claim probe) |" in per_layer
    # the setup says how the points add up: the grid, then each round added after it
    kinds = {"claim probe": results["probe"].notna() & ~results["probe"].isin(MEMORY),
             "memory probe": results["probe"].isin(MEMORY)}
    grid = 15 * 2  # 15 designs (dense, 2 own dense, 4 kinds x 3 sparsities) x 2 layers
    added = len(results) - grid - sum(int(k.sum()) for k in kinds.values())
    assert added > 0  # break-even points
    line = next(ln for ln in report.splitlines() if ln.startswith("- Points: "))
    assert line.startswith(f"- Points: {len(results)} = {grid} grid points (15 designs x 2 layers) + {added} "
                           f"break-even points + {int(kinds['claim probe'].sum())} claim probe points + "
                           f"{int(kinds['memory probe'].sum())} memory probe points; {len(results)} evaluated"), line


def test_no_probes_leaves_the_memory_claims_untested_with_the_command(tmp_path, cache):
    out = tmp_path / "out"
    assert _sweep(out, "--no-probes") == 0
    report = (out / "report.md").read_text()
    rows = _claim_rows(report, "more SRAM reduces energy equally for structured and unstructured")
    assert rows and all("not tested" in r and "--set smem_kib=x0.5,x1,x2" in r for r in rows)
    assert "smem_kib_factor" not in pd.read_csv(out / "results.csv").columns


def test_a_swept_parameter_is_not_probed(tmp_path):
    grid = build_grid(SweepConfig(layers=("fc",), axes=(("smem_kib", ("x1", "x2")),)))
    assert [p for _, p in memprobes.wanted(grid)] == ["smem_metadata_kib", "lrf_metadata_bits"]
    paired = build_grid(SweepConfig(layers=("fc",), axes=(("smem_kib,smem_metadata_kib", ("128:32", "256:64")),
                                                          ("lrf_metadata_bits", ("x1", "x2")))))
    assert memprobes.wanted(paired) == []


def test_a_sweep_of_the_parameter_judges_the_claim_without_a_probe(tmp_path, cache):
    out = tmp_path / "out"
    assert _sweep(out, "--set", "smem_kib=x1,x2", "--energy", "pinned") == 0
    results = pd.read_csv(out / "results.csv")
    assert not results["probe"].eq("more_smem_lowers_both_equally").any()
    assert results["probe"].eq("lrf_metadata_insignificant").any()
    probed = results[results["probe"].eq("lrf_metadata_insignificant")]
    assert probed["smem_kib_factor"].eq(1.0).all() and probed["energy_source"].str.contains("pinned").all()


def test_probe_sparsity_is_the_largest_swept_up_to_075():
    assert memprobes.probe_sparsity([0, 0.5, 0.667, 0.75]) == 0.75
    assert memprobes.probe_sparsity([0, 0.5, 0.8, 0.9]) == 0.5
    assert memprobes.probe_sparsity([0, 0.8, 0.9]) == 0.8
    assert memprobes.probe_sparsity([0]) is None


def _with_memory_probe(claim: str, column: str, change) -> pd.DataFrame:
    """The fig15-like grid at x1 plus probe rows at x2 of ``column`` (sparsity 0.75), energy x ``change(kind)``."""
    base = summary(fig15_like).assign(probe=None, **{column: 1.0})
    probe = summary(lambda k, sd, s: fig15_like(k, sd, s) * change(k), sparsities=(0.75,))
    probe = probe[probe["kind"].ne("dense")].assign(probe=claim, **{column: 2.0})
    return pd.concat([base, probe], ignore_index=True)


@pytest.mark.parametrize("claim, column, change, holds", [
    ("more_smem_lowers_both_equally", "smem_kib_factor", lambda k: 0.97, True),
    ("more_smem_lowers_both_equally", "smem_kib_factor", lambda k: 0.90 if k == "structured" else 0.99, False),
    ("more_smem_lowers_both_equally", "smem_kib_factor", lambda k: 1.03, False),
    ("metadata_ram_changes_nothing", "smem_metadata_kib_factor", lambda k: 1.0, True),
    ("metadata_ram_changes_nothing", "smem_metadata_kib_factor", lambda k: 1.02, False),
    ("lrf_metadata_insignificant", "lrf_metadata_bits_factor", lambda k: 0.99, True),
    ("lrf_metadata_insignificant", "lrf_metadata_bits_factor", lambda k: 0.95, False),
])
def test_a_memory_claim_judged_on_its_probe_can_fail(claim, column, change, holds):
    table = _with_memory_probe(claim, column, change)
    checked = {cl.id: r for cl, r in c.check_all(table, {})}
    result = checked[claim]
    assert [p.scope for p in result.parts] == ["single", "dual"]
    assert all(p.holds is holds for p in result.parts), result.evidence
    assert (VERDICT[result.holds] == "**does not hold**") is (not holds)
    assert all("claim probe:" in p.points and "at sparsity 0.75" in p.points for p in result.parts)
    plain = {cl.id: r for cl, r in c.check_all(summary(fig15_like), {})}
    for other, r in plain.items():  # no other claim reads the probe rows
        if other != claim:
            assert checked[other].evidence == r.evidence and checked[other].holds == r.holds


def test_probes_keep_the_sweeps_energy_source_when_scaled_would_not_reproduce_it_at_x1(tmp_path, cache):
    """An arch off its pinned table's reference (DRAM accesses of 32 bits, the table's 64): scaled energies
    at x1 differ from the pinned ones the grid used, so the probes are priced pinned too (x1 and x2 alike)."""
    from render_helpers import REPO

    text = (REPO / "arch" / "stc.yaml").read_text()
    for old, new in (("ert: ert/", f"ert: {REPO}/arch/ert/"), ("dram_width_bits: 64", "dram_width_bits: 32")):
        assert old in text
        text = text.replace(old, new)
    arch = tmp_path / "stc_wide_dram.yaml"
    arch.write_text(text)
    out = tmp_path / "out"
    assert _sweep(out, "--arch", str(arch)) in (0, 2)
    results = pd.read_csv(out / "results.csv")
    probed = results[results["probe"].isin(MEMORY)]
    assert len(probed) and probed["energy_source"].str.contains("pinned").all()
    report = (out / "report.md").read_text()
    assert "scaled at the x2 probe points" not in report and "claim probe: smem_kib x2" in report
