"""workloads/resnet50.yaml against the reference ResNet-50 table, and the GEMM / 7-D conv views."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from sparsesweep.errors import SpecError
from sparsesweep.specs import Layer, load_workload

REPO = Path(__file__).resolve().parents[1]
DIMS = ("R", "S", "P", "Q", "C", "M", "N", "Hstride", "Wstride", "repeat")


@pytest.fixture(scope="module")
def resnet():
    return load_workload(REPO / "workloads" / "resnet50.yaml")


@pytest.fixture(scope="module")
def table(reference):
    with open(reference / "resnet50" / "layers.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_every_layer_matches_the_reference_table(resnet, table):
    assert [layer.name for layer in resnet.layers] == [row["name"] for row in table]
    for layer, row in zip(resnet.layers, table):
        for dim in DIMS:
            assert getattr(layer, dim) == int(row[dim]), f"{layer.name}.{dim}"
        assert layer.type == row["type"]
        assert layer.pad == int(row["pad"])
        assert layer.macs == int(row["macs_per_instance"])


def test_total_macs_equal_the_reference_total(resnet, table):
    total = sum(int(row["macs_per_instance"]) * int(row["repeat"]) for row in table)
    assert resnet.total_macs == total
    assert resnet.total_macs == sum(int(row["macs_total"]) for row in table)


def test_53_convolutions_and_one_fc(resnet):
    convs = sum(layer.repeat for layer in resnet.layers if layer.type == "conv")
    fcs = sum(layer.repeat for layer in resnet.layers if layer.type == "fc")
    assert (convs, fcs) == (53, 1)


def test_input_sizes_follow_from_strides_and_padding(resnet, table):
    for layer, row in zip(resnet.layers, table):
        in_hw = (layer.P - 1) * layer.Hstride + layer.R - 2 * layer.pad
        # the true input size is in_hw .. in_hw + stride - 1 (floor in the output-size formula)
        assert in_hw <= int(row["in_HW"]) < in_hw + layer.Hstride, layer.name


def test_gemm_view_keeps_the_mac_count(resnet):
    for layer in resnet.layers:
        gemm = layer.gemm()
        assert (gemm.M, gemm.K, gemm.N) == (layer.M, layer.C * layer.R * layer.S, layer.P * layer.Q * layer.N)
        assert gemm.macs == layer.macs and not gemm.padded


def test_gemm_padding_rounds_each_dimension_up():
    layer = Layer(name="conv1", R=7, S=7, P=112, Q=112, C=3, M=64, Hstride=2, Wstride=2)
    gemm = layer.gemm(m_multiple=16, n_multiple=32, k_multiple=32)
    assert (gemm.M, gemm.N, gemm.K) == (64, 12544, 160)
    assert (gemm.M_orig, gemm.N_orig, gemm.K_orig) == (64, 12544, 147)
    assert gemm.padded and gemm.macs > gemm.macs_orig == layer.macs
    assert layer.gemm(k_multiple=48).K == 192


def test_conv_problem_has_the_shape_of_a_reference_cnn_layer(reference):
    ref = yaml.safe_load((reference / "generated" / "conv" / "conv03" / "input.yaml").read_text())["problem"]
    inst = ref["instance"]
    layer = Layer(name="ref", **{d: inst[d] for d in ("R", "S", "P", "Q", "C", "M", "N", "Hstride", "Wstride")})
    ours = layer.conv_problem(densities={"Weights": {"distribution": "fixed_structured", "density": 0.5}})
    norm = lambda d: {k.replace("-", "_"): v for k, v in d.items()}  # noqa: E731
    ref_shape = norm(ref["shape"])
    assert ours["shape"]["dimensions"] == ref_shape["dimensions"]
    assert ours["shape"]["coefficients"] == ref_shape["coefficients"]
    for mine, theirs in zip(ours["shape"]["data_spaces"], ref_shape["data_spaces"], strict=True):
        assert norm(mine) == norm(theirs)
    for key, value in inst.items():
        if key != "densities":
            assert ours["instance"][key] == value, key
    assert ours["instance"]["densities"]["Weights"]["density"] == 0.5


def test_unknown_layer_suggests_the_closest_name(resnet):
    with pytest.raises(SpecError) as exc:
        resnet.layer("conv3_1_b_3x4")
    assert "did you mean 'conv3_1_b_3x3'" in exc.value.one_line()


def test_layer_names_must_be_unique(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nlayers:\n  - {name: a, C: 2, M: 2}\n  - {name: a, C: 4, M: 4}\n")
    with pytest.raises(SpecError) as exc:
        load_workload(path)
    text = exc.value.one_line()
    assert "used twice" in text and "w.yaml:4" in text and "layers[1].name" in text


def test_layers_may_give_a_measured_activation_density():
    fig15 = load_workload(REPO / "workloads" / "fig15_gemms.yaml")
    assert [layer.activation_density for layer in fig15.layers] == [0.44, 0.27, 0.56, 0.82]
    assert {(layer.gemm().M, layer.gemm().K, layer.gemm().N) for layer in fig15.layers} == {
        (128, 1152, 1024), (512, 1024, 256), (512, 128, 1024), (512, 256, 1024)}
    assert all(layer.activation_density is None for layer in load_workload(REPO / "workloads" / "resnet50.yaml").layers)
