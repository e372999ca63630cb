"""The sweep grid: shape of the default study, variants, memory axes, archs per topology, bad input."""

from __future__ import annotations

import pytest

from sparsesweep.errors import SpecError
from sparsesweep.specs import load_workload
from sparsesweep.sweep.grid import SweepConfig, build_grid, parse_axis, parse_fractions, parse_list, point_id

from render_helpers import REPO


def _grid(**kwargs):
    return build_grid(SweepConfig(**kwargs))


def test_default_grid_is_every_layer_times_dense_plus_four_designs_at_each_nonzero_sparsity():
    grid = _grid(sparsities=(0, 0.5, 0.667, 0.75))
    layers = load_workload(REPO / "workloads" / "resnet50.yaml").layers
    assert len(grid.layers) == len(layers)
    assert len(grid.variants) == 1 + 2 + 2 * 2 * 3  # dense, each scheme's own hardware at 0, the designs
    assert len(grid.points) == len(layers) * 15
    assert len({p.id for p in grid.points}) == len(grid.points)
    dense = [p for p in grid.points if p.variant.dense]
    assert len(dense) == len(layers) and all(p.variant.sparsity == 0 for p in dense)
    combos = {(p.variant.scheme.kind, p.variant.sides, p.variant.sparsity) for p in grid.points if not p.variant.dense}
    assert combos == {(k, sd, s) for k in ("structured", "unstructured") for sd in ("single", "dual")
                      for s in (0.5, 0.667, 0.75)} | {("structured", "single", 0.0), ("unstructured", "single", 0.0)}
    for p in grid.points:  # each scheme on the arch of its topology: STC for dense/structured, DSTC for unstructured
        assert p.arch.topology == p.variant.scheme.topology
        assert p.arch.name == ("dstc" if p.variant.scheme.kind == "unstructured" else "stc")
    assert grid.axes == {} and grid.reference == {}


def test_dense_runs_even_without_a_zero_sparsity_and_schemes_dedupe():
    grid = _grid(sparsities=(0.5,), schemes=("structured", "dense", "structured"), sides=("single",),
                 layers=("fc",))
    assert [(v.scheme.name, v.sides, v.sparsity) for v in grid.variants] == [("dense", "single", 0.0),
                                                                              ("structured", "single", 0.0),
                                                                              ("structured", "single", 0.5)]


def test_activation_sparsities_multiply_only_dual_points():
    grid = _grid(sparsities=(0.5,), act_sparsities=(0.25, 0.5), layers=("conv1",))
    dual = [v for v in grid.variants if v.sides == "dual"]
    single = [v for v in grid.variants if v.sides == "single" and not v.dense]
    assert sorted((v.scheme.kind, v.act_sparsity) for v in dual) == [
        ("structured", 0.25), ("structured", 0.5), ("unstructured", 0.25), ("unstructured", 0.5)]
    assert all(v.act_sparsity is None for v in single)
    assert len({p.id for p in grid.points}) == len(grid.points)


def test_memory_axes_cross_and_apply_to_every_arch():
    grid = _grid(sparsities=(0, 0.5), layers=("fc",), axes=(("smem_kib", ("128", "256")),
                                                             ("lrf_metadata_bits", ("4", "8", "16"))))
    assert grid.axes == {"smem_kib": [128, 256], "lrf_metadata_bits": [4, 8, 16]}
    assert grid.reference == {"smem_kib": 256, "lrf_metadata_bits": 8}  # the STC defaults
    assert len(grid.points) == 2 * 3 * (1 + 2 + 4)
    for p in grid.points:
        setting = dict(p.setting)
        assert p.arch.smem_kib == setting["smem_kib"] and p.arch.lrf_metadata_bits == setting["lrf_metadata_bits"]
        assert f"smem_kib{setting['smem_kib']}" in p.id


def test_multiples_scale_each_archs_own_value():
    grid = _grid(sparsities=(0, 0.5), layers=("fc",), axes=(("lrf_metadata_bits", ("x0.5", "x1", "x2")),))
    assert grid.axes == {"lrf_metadata_bits_factor": [0.5, 1.0, 2.0]} and grid.reference == {"lrf_metadata_bits_factor": 1.0}
    bits = {(p.arch.name, dict(p.setting)["lrf_metadata_bits_factor"]): p.arch.lrf_metadata_bits for p in grid.points}
    assert bits == {("stc", 0.5): 4, ("stc", 1.0): 8, ("stc", 2.0): 16,
                    ("dstc", 0.5): 64, ("dstc", 1.0): 128, ("dstc", 2.0): 256}
    assert any(p.id.endswith("-lrf_metadata_bits_factor0.5") for p in grid.points)


@pytest.mark.parametrize("values, message", [
    (("x1", "16"), "mixes values and multiples"),
    (("x0.3",), "not a whole number"),
    (("x-1",), "not a positive multiple"),
    (("xa",), "not a positive multiple"),
])
def test_bad_multiples(values, message):
    with pytest.raises(SpecError, match=message):
        _grid(sparsities=(0,), layers=("fc",), axes=(("lrf_metadata_bits", values),))
    with pytest.raises(SpecError, match="no multiples"):
        _grid(sparsities=(0,), layers=("fc",), axes=(("rf_read_bandwidth", ("x2",)),))  # null on the STC arch


def test_reference_is_the_first_value_when_the_default_is_not_swept():
    grid = _grid(sparsities=(0,), layers=("fc",), axes=(("smem_kib", ("512", "128")),))
    assert grid.reference == {"smem_kib": 512}


@pytest.mark.parametrize("kwargs, message", [
    ({"axes": (("smem_kb", ("128",)),)}, "did you mean 'smem_kib'"),
    ({"axes": (("smem_kib", ("-1",)),)}, "--set smem_kib"),
    ({"axes": (("smem_kib", ("128", "128")),)}, "listed twice"),
    ({"axes": (("smem_kib", ("128",)), ("smem_kib", ("256",)))}, "given twice"),
    ({"layers": ("conv_1",)}, "did you mean 'conv1'"),
    ({"schemes": ("structred",)}, "did you mean 'structured'"),
    ({"sparsities": (0.66,)}, "no N:M pattern"),
    ({"sparsities": (1.0,)}, "outside (0, 1]"),
    ({"act_sparsities": (-0.1,)}, "--act-sparsity"),
    ({"sides": ("single", "both")}, "unknown sides"),
    ({"schemes": ("structred",)}, "--schemes"),
    ({"layers": ("conv_1",)}, "--layers"),
    ({"archs": ("arch/stc.yaml", "arch/stc.yaml")}, "two unlabelled --arch files have topology"),
])
def test_bad_options_are_one_line_errors_before_any_work(kwargs, message):
    with pytest.raises(SpecError) as err:
        _grid(**{"sparsities": (0, 0.5), "layers": ("fc",), **kwargs})
    assert message in err.value.one_line() and "\n" not in err.value.one_line()


def test_sides_both_is_single_and_dual():
    both = _grid(sparsities=(0, 0.5), layers=("fc",), sides=("both",))
    assert {v.sides for v in both.variants if not v.dense and v.sparsity > 0} == {"single", "dual"}
    from sparsesweep.sweep.cli import parse_sides

    assert parse_sides("both") == ("single", "dual") and parse_sides("dual") == ("dual",)


def test_parsers():
    assert parse_list(" a, b ", "--x") == ["a", "b"]
    assert parse_fractions("0,0.5", "--sparsity") == [0.0, 0.5]
    assert parse_axis("smem_kib=128,256") == ("smem_kib", ("128", "256"))
    for bad in ("a,,b", ""):
        with pytest.raises(SpecError):
            parse_list(bad, "--x")
    with pytest.raises(SpecError, match="not a number"):
        parse_fractions("0,half", "--sparsity")
    with pytest.raises(SpecError, match="NAME=VALUE"):
        parse_axis("smem_kib")


def test_point_ids_name_every_coordinate():
    grid = _grid(sparsities=(0.5,), act_sparsities=(0.3,), sides=("dual",), schemes=("unstructured",),
                 layers=("fc",), axes=(("smem_kib", ("128",)),))
    ids = sorted(p.id for p in grid.points)
    assert ids == ["fc-dense-smem_kib128", "fc-unstructured-dual-s0.5-a0.3-smem_kib128",
                   "fc-unstructured-single-s0-smem_kib128"]
    p = grid.points[-1]
    assert point_id(p.layer, p.variant, p.setting) == p.id


def test_a_file_valued_axis_is_held_at_the_archs_own_file():
    """--set dense_ert=A,B with the STC arch's own dense table among them: the claims and totals hold
    dense_ert at that file (the TC baseline), whichever order the values were given in."""
    ert = REPO / "arch" / "ert"
    grid = _grid(sparsities=(0, 0.5), layers=("fc",),
                 axes=(("dense_ert", (str(ert / "stc_45nm.yaml"), str(ert / "tc_45nm.yaml"))),))
    assert grid.reference == {"dense_ert": str((ert / "tc_45nm.yaml").resolve())}
    assert grid.axes["dense_ert"][0] == str((ert / "stc_45nm.yaml").resolve())
