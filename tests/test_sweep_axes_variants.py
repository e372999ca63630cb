"""Paired axes (``--set A,B=a1:b1,a2:b2``), derived arch parameters (``derived: [pes_per_core]``),
labelled design variants (``--arch LABEL=FILE``) and the plots and report sections that show them."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from sweep_fakes import fake_registry

from sparsesweep.errors import SpecError
from sparsesweep.specs.arch import apply_overrides, load_arch
from sparsesweep.sweep.cli import main
from sparsesweep.sweep.grid import SweepConfig, build_grid, parse_axis
from sparsesweep.yamlio import dump_yaml, load_yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSESWEEP_CACHE_DIR", str(tmp_path / "cache"))


def _grid(*axes: str, **kwargs):
    return build_grid(SweepConfig(sparsities=(0, 0.5), layers=("fc",), axes=tuple(parse_axis(a) for a in axes),
                                  **kwargs))


# ---- derived parameters --------------------------------------------------------------------------

def test_the_arch_files_say_pes_per_core_is_derived_and_it_follows_the_mesh():
    for name in ("stc", "dstc"):
        arch = load_arch(REPO / "arch" / f"{name}.yaml")
        assert arch.derived == ("pes_per_core",) and arch.pes_per_core == arch.pe_mesh_x * arch.pe_mesh_y
        assert "pes_per_core" not in load_yaml(REPO / "arch" / f"{name}.yaml").data
        small = apply_overrides(arch, {"pe_mesh_x": "8"})
        assert small.pes_per_core == 8 * arch.pe_mesh_y and small.macs == arch.cores * 8 * arch.pe_mesh_y
        assert apply_overrides(small, {"pe_mesh_x": 16}).pes_per_core == 16 * arch.pe_mesh_y


def test_an_arch_without_derived_still_checks_the_mesh(tmp_path):
    data = load_yaml(REPO / "arch" / "stc.yaml").data
    data.pop("derived")
    data["pes_per_core"] = 256
    (tmp_path / "ert").symlink_to(REPO / "arch" / "ert")
    (tmp_path / "fixed.yaml").write_text(dump_yaml(data))
    arch = load_arch(tmp_path / "fixed.yaml")
    with pytest.raises(SpecError, match="pes_per_core 256 != pe_mesh_x \\* pe_mesh_y = 128.*derived"):
        apply_overrides(arch, {"pe_mesh_x": 8})
    data["derived"] = ["pes_per_core"]
    (tmp_path / "both.yaml").write_text(dump_yaml(data))
    with pytest.raises(SpecError, match="both.yaml:.*pes_per_core is listed under 'derived' and also given"):
        load_arch(tmp_path / "both.yaml")
    data.pop("pes_per_core")
    data["derived"] = ["pes_per_cores"]
    (tmp_path / "typo.yaml").write_text(dump_yaml(data))
    with pytest.raises(SpecError, match="derived"):
        load_arch(tmp_path / "typo.yaml")


def test_a_derived_parameter_cannot_be_set_to_something_else():
    stc = load_arch(REPO / "arch" / "stc.yaml")
    assert apply_overrides(stc, {"pe_mesh_x": 8, "pes_per_core": 128}).pes_per_core == 128  # agrees: fine
    with pytest.raises(SpecError, match="pes_per_core is derived from pe_mesh_x and pe_mesh_y.*set pe_mesh_x"):
        apply_overrides(stc, {"pes_per_core": 128})


def test_the_mesh_can_be_swept_and_the_pes_follow():
    grid = _grid("pe_mesh_x=8,16")
    assert grid.axes == {"pe_mesh_x": [8, 16]}
    assert {(p.arch.pe_mesh_x, p.arch.pes_per_core) for p in grid.points} == {(8, 128), (16, 256)}


def test_a_mesh_sweep_runs_end_to_end(tmp_path):
    out = tmp_path / "out"
    assert main(["--backend", "fake", "--layers", "fc", "--sparsity", "0,0.5", "--set", "pe_mesh_x=8,16", "-j", "1",
                 "--quiet", "--out", str(out)], registry=fake_registry()) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["pe_mesh_x"].unique()) == [8, 16] and (out / "axis_pe_mesh_x.png").is_file()


# ---- paired axes ---------------------------------------------------------------------------------

def test_paired_axes_move_together_and_cross_the_others():
    grid = _grid("smem_kib,smem_metadata_kib=128:32,256:64,512:128", "lrf_metadata_bits=4,8")
    assert grid.axes == {"smem_kib": [128, 256, 512], "smem_metadata_kib": [32, 64, 128], "lrf_metadata_bits": [4, 8]}
    settings = {p.setting for p in grid.points}
    assert settings == {(("smem_kib", s), ("smem_metadata_kib", m), ("lrf_metadata_bits", b))
                        for (s, m), b in itertools.product([(128, 32), (256, 64), (512, 128)], [4, 8])}
    assert all(p.arch.smem_kib == dict(p.setting)["smem_kib"] and
               p.arch.smem_metadata_kib == dict(p.setting)["smem_metadata_kib"] for p in grid.points)
    assert grid.reference == {"smem_kib": 256, "lrf_metadata_bits": 8} and grid.paired == {"smem_metadata_kib": "smem_kib"}
    assert len(grid.points) == 3 * 2 * 7  # dense, 2 own dense, 4 designs


def test_paired_geometry_is_validated_as_a_whole():
    grid = _grid("pe_mesh_x,pe_mesh_y=8:8,16:16")
    assert {p.arch.pes_per_core for p in grid.points} == {64, 256}


@pytest.mark.parametrize("axis, message", [
    ("smem_kib,smem_metadata_kib=128:32,256", "value '256' has 1 part(s) for 2 parameters"),
    ("smem_kib,smem_kb=128:32", "did you mean 'smem_kib'"),
    ("smem_kib,smem_kib=128:128", "lists a parameter twice"),
    ("smem_kib,smem_metadata_kib=128:32,128:32", "a combination is listed twice"),
    ("smem_kib,smem_metadata_kib=x1:x2", "take values, not multiples"),
    ("smem_kib,smem_metadata_kib=0:32", "greater than or equal to 1"),
])
def test_bad_paired_axes_are_one_line_errors(axis, message):
    with pytest.raises(SpecError) as err:
        _grid(axis)
    assert message in err.value.one_line() and "--set smem_kib" in err.value.one_line()


def test_a_paired_sweep_writes_one_axis_plot_per_pair(tmp_path):
    out = tmp_path / "out"
    assert main(["--backend", "fake", "--layers", "fc", "--sparsity", "0,0.5", "--set",
                 "smem_kib,smem_metadata_kib=128:32,256:64", "-j", "1", "--quiet", "--out", str(out)],
                registry=fake_registry()) == 0
    assert (out / "axis_smem_kib.png").is_file() and not (out / "axis_smem_metadata_kib.png").exists()
    assert "| smem_metadata_kib | 32, 64 | moves with smem_kib |" in (out / "report.md").read_text()


# ---- design variants -----------------------------------------------------------------------------

def test_labelled_archs_are_design_variants_of_one_topology():
    grid = _grid(archs=("arch/stc.yaml", "big_rf=arch/stc_rf4k.yaml"))
    assert list(grid.designs) == ["base", "big_rf"]
    assert grid.designs["big_rf"]["stc"].rf_words == 4096 and grid.designs["base"]["stc"].rf_words == 2048
    assert grid.designs["big_rf"]["dstc"] == grid.designs["base"]["dstc"]  # the unlabelled / default arch fills in
    ids = [p.id for p in grid.points]
    assert len(ids) == len(set(ids)) == 2 * 7 and "fc-dense-vbig_rf" in ids and "fc-dense" in ids
    assert {p.arch.name for p in grid.points if p.design == "big_rf" and p.variant.scheme.topology == "stc"} == \
        {"stc_rf4k"}


def test_only_labelled_archs_sweep_only_those_variants():
    grid = _grid(archs=("small=arch/stc.yaml", "big_rf=arch/stc_rf4k.yaml"))
    assert list(grid.designs) == ["small", "big_rf"] and {p.design for p in grid.points} == {"small", "big_rf"}


@pytest.mark.parametrize("archs, message", [
    (("arch/stc.yaml", "arch/stc_rf4k.yaml"), "two unlabelled --arch files have topology 'stc'"),
    (("a=arch/stc.yaml", "a=arch/stc_rf4k.yaml"), "two --arch a=... files have topology 'stc'"),
    (("a b=arch/stc.yaml",), "is not a variant label"),
])
def test_bad_variants_are_one_line_errors(archs, message):
    with pytest.raises(SpecError) as err:
        _grid(archs=archs)
    assert message in err.value.one_line() and "big_rf=arch/stc_rf4k.yaml" in err.value.one_line()


def test_variants_get_their_column_their_dense_baseline_a_plot_and_a_report_section(tmp_path):
    out = tmp_path / "out"
    assert main(["--backend", "fake", "--layers", "conv1,fc", "--sparsity", "0,0.5", "--arch", "arch/stc.yaml",
                 "--arch", "small_smem=arch/stc_rf4k.yaml", "--set", "smem_kib=128,256", "-j", "1", "--quiet",
                 "--out", str(out), "--no-break-even", "--no-probes"], registry=fake_registry()) == 0
    results, summary = pd.read_csv(out / "results.csv"), pd.read_csv(out / "summary.csv")
    assert set(results["variant"]) == {"base", "small_smem"} and len(results) == 2 * 2 * 2 * 7
    for (variant, smem), rows in summary.groupby(["variant", "smem_kib"]):
        dense = rows[rows["kind"].eq("dense")]
        assert len(dense) == 1 and float(dense["energy_vs_dense"].iloc[0]) == 1.0
        assert rows["energy_vs_dense"].tolist() == pytest.approx(
            (rows["energy_pj"] / float(dense["energy_pj"].iloc[0])).tolist())
    assert (out / "variants_energy.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "## Design variants" in report and "| small_smem | stc |" in report
    assert "x 2 design variants (base, small_smem)" in report


def test_plots_are_titled_with_workload_backend_and_energy_source(tmp_path, monkeypatch):
    import matplotlib.figure

    titles: list[str] = []
    real = matplotlib.figure.Figure.suptitle
    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle",
                        lambda self, text, **kw: (titles.append(text), real(self, text, **kw))[1])
    assert main(["--backend", "fake", "--layers", "fc", "--sparsity", "0,0.5", "-j", "1", "--quiet",
                 "--out", str(tmp_path / "out")], registry=fake_registry()) == 0
    assert len(titles) == 6  # energy and cycles vs sparsity, the same vs own dense, breakdown, layers
    for title in titles:
        assert title.startswith("resnet50 | backend fake | energy: pinned ERT") and "stc_45nm.yaml" in title


# ---- sparsesweep compare -------------------------------------------------------------------------

def _fake_sweep(out: Path, *extra: str) -> Path:
    assert main(["--backend", "fake", "--layers", "conv1,fc", "-j", "1", "--quiet", "--out", str(out),
                 "--no-break-even", "--no-probes", *extra],
                registry=fake_registry()) == 0
    return out


def test_compare_writes_per_point_ratios_and_names_points_only_one_sweep_has(tmp_path, capsys):
    from sparsesweep.cli import main as cli_main

    a = _fake_sweep(tmp_path / "a", "--sparsity", "0,0.5", "--set", "smem_kib=128,256")
    b = _fake_sweep(tmp_path / "b", "--sparsity", "0,0.5,0.75", "--set", "smem_kib=128,256",
                    "--arch", "big_rf=arch/stc_rf4k.yaml")
    capsys.readouterr()
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    # b's only variant is big_rf, a's is base: nothing matches on the variant
    assert len(table) == 0 and "only in" in out and "variant=big_rf" in out
    c = _fake_sweep(tmp_path / "c", "--sparsity", "0,0.5,0.75", "--set", "smem_kib=128,256")
    assert cli_main(["compare", str(a), str(c), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    sa, sc = pd.read_csv(a / "summary.csv"), pd.read_csv(c / "summary.csv")
    assert len(table) == len(sa) == 14 and out.startswith("14 points in both")
    assert f"only in {c}:" in out and "sparsity=0.75" in out and f"only in {a}:" not in out
    only = pd.read_csv(tmp_path / "cmp" / "compare_only.csv")
    assert set(only["only_in"]) == {str(c)} and len(only) == len(sc) - len(sa) == 8
    assert only["point"].str.contains("sparsity=0.75").all()
    for row in table.itertuples():
        left = sa[sa["scheme"].eq(row.scheme) & sa["sides"].eq(row.sides) & sa["sparsity"].eq(row.sparsity)
                  & sa["smem_kib"].eq(row.smem_kib)]
        right = sc[sc["scheme"].eq(row.scheme) & sc["sides"].eq(row.sides) & sc["sparsity"].eq(row.sparsity)
                   & sc["smem_kib"].eq(row.smem_kib)]
        assert row.energy_pj_ratio == pytest.approx(float(right["energy_pj"].iloc[0]) / float(left["energy_pj"].iloc[0]))
    layers = pd.read_csv(tmp_path / "cmp" / "compare_layers.csv")
    assert len(layers) == 2 * 14 and set(layers["layer"]) == {"conv1", "fc"}
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_refuses_ambiguous_matches_and_where_picks_one(tmp_path, capsys):
    from sparsesweep.cli import main as cli_main

    a = _fake_sweep(tmp_path / "a", "--sparsity", "0,0.5", "--set", "smem_kib=128,256")
    b = _fake_sweep(tmp_path / "b", "--sparsity", "0,0.5")
    capsys.readouterr()
    assert cli_main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "cannot be matched one to one: it sweeps smem_kib" in err and "--where smem_kib=" in err
    assert cli_main(["compare", str(a), str(b), "--where", "smem_kib=256", "--out", str(tmp_path / "cmp")]) == 0
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert len(table) == 7 and (table["energy_pj_ratio"] == 1.0).all()  # 256 KiB is the default: same points
    capsys.readouterr()  # a --where that selects nothing is an error, not an empty comparison
    assert cli_main(["compare", str(a), str(b), "--where", "smem_kb=256", "--out", str(tmp_path / "cmp2")]) == 2
    assert "neither sweep has a column 'smem_kb'" in capsys.readouterr().err and not (tmp_path / "cmp2").exists()
    assert cli_main(["compare", str(a), str(b), "--where", "smem_kib=100", "--out", str(tmp_path / "cmp2")]) == 2
    err = capsys.readouterr().err
    assert "no point has smem_kib=100" in err and "use one of its values: 128, 256" in err


def test_compare_of_a_folder_without_a_sweep_is_one_error(tmp_path, capsys):
    from sparsesweep.cli import main as cli_main

    assert cli_main(["compare", str(tmp_path), str(tmp_path)]) == 2
    assert "not a finished sweep's folder" in capsys.readouterr().err


def test_lines_between_evaluated_points_are_dotted_and_ticks_are_the_evaluated_sparsities(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn: list[tuple[list[float], str]] = []
    ticks: list[list[float]] = []
    real_plot, real_ticks = matplotlib.axes.Axes.plot, matplotlib.axes.Axes.set_xticks
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, xs, ys, **kw: (drawn.append((list(xs), kw.get("ls", "-"))),
                                                    real_plot(self, xs, ys, **kw))[1])
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xticks",
                        lambda self, t, *a, **kw: (ticks.append(list(t)), real_ticks(self, t, *a, **kw))[1])
    assert main(["--backend", "fake", "--layers", "fc", "--sparsity", "0,0.5,0.75", "--set", "smem_kib=128,512",
                 "-j", "1", "--quiet", "--no-break-even", "--no-probes", "--out", str(tmp_path / "out")], registry=fake_registry()) == 0
    assert drawn and all(ls == ":" for _, ls in drawn)  # every joining line is dotted
    assert [0.0, 0.5, 0.75] in ticks  # the sparsity axis ticks are the evaluated sparsities


def test_sparsity_ticks_mark_every_point_and_label_only_those_that_do_not_collide():
    import matplotlib.pyplot as plt

    from sparsesweep.sweep.plots import sparsity_ticks

    fig, ax = plt.subplots()
    values = [0.0, 0.4425, 0.4525, 0.5, 0.667, 0.6974, 0.7074, 0.75]  # the default study with its break-even points
    assert sparsity_ticks(ax, values) == [0.0, 0.5, 0.667, 0.75]
    assert list(ax.get_xticks()) == values
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "", "", "0.5", "0.667", "", "", "0.75"]
    assert sparsity_ticks(ax, [0.0, 0.25, 0.5, 0.75]) == [0.0, 0.25, 0.5, 0.75]  # nothing collides: all labelled
    plt.close(fig)
