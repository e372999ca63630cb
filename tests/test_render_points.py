"""Rendering ResNet-50 points: densities, N:M, formats, SAFs, mapspace pins, padding, files."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from render_helpers import REPO, arch, constraints, levels, resnet, scheme, targets_by_name

from sparsesweep.errors import BackendError, SpecError
from sparsesweep.inputs import load_bundle
from sparsesweep.render import render_point, write_point
from sparsesweep.specs import apply_overrides
from sparsesweep.tl import load_spec

LAYERS = ["conv1", "conv3_1_b_3x3", "conv5_2-3_b_3x3", "fc"]
POINTS = [(s, sides) for s in ("dense", "structured", "unstructured") for sides in ("single", "dual")]


def _render(scheme_name, sides, sparsity, layer="conv3_1_b_3x3", act=None, **overrides):
    spec = scheme(scheme_name)
    hw = arch(spec.topology)
    if overrides:
        hw = apply_overrides(hw, overrides)
    return render_point(hw, resnet().layer(layer), spec, sides, sparsity, act)


def _densities(point):
    return point.bundle.data["problem"]["instance"]["densities"]


def _ranks(point, level, tensor):
    return targets_by_name(point.bundle.data["sparse_optimizations"])[level]["representation_format"][tensor]["ranks"]


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("sparsity", [0.5, 0.75])
@pytest.mark.parametrize("scheme_name, sides", POINTS)
def test_points_render_and_load(scheme_name, sides, sparsity, layer):
    point = _render(scheme_name, sides, sparsity, layer)
    spec = load_spec(point.bundle, need_mapping=False)  # the project's own Timeloop-input parser
    gemm = point.plan.gemm
    assert dict(zip(spec.problem.dims, spec.problem.bounds)) == {"M": gemm.M, "N": gemm.N, "K": gemm.K}
    assert spec.problem.macs == gemm.macs
    inst = point.bundle.data["problem"]["instance"]
    assert (inst["M"], inst["N"], inst["K"]) == (gemm.M, gemm.N, gemm.K)
    assert gemm.M >= gemm.M_orig and gemm.N >= gemm.N_orig and gemm.K >= gemm.K_orig
    for key in ("architecture", "problem", "architecture_constraints", "mapper", "ERT"):
        assert key in point.bundle.data
    assert ("sparse_optimizations" in point.bundle.data) == (scheme_name != "dense")


@pytest.mark.parametrize("scheme_name, sides", POINTS)
def test_rendered_points_read_back_as_a_whole_parse_reads_them(scheme_name, sides):
    """Rendered files are parsed by sections (shared between points); the bundle is the whole
    parse's, line numbers included, and no point's data is another's."""
    from sparsesweep.yamlio import parse_yaml

    first = _render(scheme_name, sides, 0.5, "conv1")
    again = _render(scheme_name, sides, 0.5, "conv1", smem_kib=256)
    for point in (first, again):
        for doc in {id(d): d for d in point.bundle.sources.values()}.values():
            whole = parse_yaml(point.files[doc.path.name], doc.path)
            assert (doc.data, dict(doc.lines), doc.quoted) == (whole.data, dict(whole.lines), whole.quoted)
    assert first.bundle.data["problem"] == again.bundle.data["problem"]
    assert first.bundle.data["problem"] is not again.bundle.data["problem"]
    first.bundle.data["problem"]["instance"]["M"] = -1
    assert again.bundle.data["problem"]["instance"]["M"] != -1


@pytest.mark.parametrize("sparsity, nm, bits, k_block", [(0.5, "2:4", 2, 32), (0.667, "2:6", 3, 48),
                                                         (0.75, "2:8", 3, 64)])
def test_structured_single_is_stc_flexible(sparsity, nm, bits, k_block):
    point = _render("structured", "single", sparsity, "conv1")
    n, m = map(int, nm.split(":"))
    assert _densities(point) == {"A": {"distribution": "fixed_structured", "density": n / m},
                                 "B": {"distribution": "fixed_structured", "density": 1.0}}
    assert point.info()["weight_nm"] == nm and point.plan.design == "STC_flexible"
    for level, uops in (("DRAM", 6), ("SMEM", 4)):
        ranks = _ranks(point, level, "A")
        assert [r["format"] for r in ranks] == ["UOP"] * uops + ["CP"] and ranks[-1]["metadata_word_bits"] == bits
    assert _ranks(point, "LRF", "A") == [{"format": "CP", "metadata_word_bits": bits}]
    safs = targets_by_name(point.bundle.data["sparse_optimizations"])["RF"]["action_optimization"]
    assert sorted((s["type"], s["target"], tuple(s["condition_on"])) for s in safs) == [
        ("skipping_spatial", "B", ("A",)), ("skipping_spatial", "Z", ("A",))]
    rf = constraints(point.bundle.data["architecture_constraints"])[("RF", "spatial")]
    assert rf["factors"] == {f"K={k_block}", "M=16", "N=1"}
    assert point.plan.gemm.K % k_block == 0 and point.plan.gemm.K_orig == 147


def test_structured_dual_compresses_activations_as_dual_compress():
    point = _render("structured", "dual", 0.75, act=0.5)
    assert _densities(point)["B"] == {"distribution": "fixed_structured", "density": 0.5}
    assert point.info()["act_nm"] == "2:4" and point.plan.design == "STC_flexible_dualCompress"
    assert [r["format"] for r in _ranks(point, "SMEM", "B")] == ["UOP"] * 4 + ["B", "B"]
    assert point.plan.gemm.K % 64 == 0  # the weights' 2:8 block; 4 divides it
    default = _render("structured", "dual", 0.75)
    assert _densities(default)["B"]["density"] == 0.25  # activation sparsity defaults to the weights'
    assert default.info()["act_sparsity"] == 0.75 and default.name.endswith("-dual-s0.75")


@pytest.mark.parametrize("sides, rf_leaders, lrf", [
    ("single", ["A"], [("skipping", "B", ["A"])]),
    ("dual", ["A", "B"], [("skipping", "B", ["A"]), ("skipping", "A", ["B"])]),
])
def test_unstructured_is_dstc_with_master_safs(sides, rf_leaders, lrf):
    point = _render("unstructured", sides, 0.5)
    dens = _densities(point)
    assert dens["A"] == {"distribution": "hypergeometric", "density": 0.5}
    assert dens["B"]["distribution"] == ("hypergeometric" if sides == "dual" else "fixed_structured")
    targets = targets_by_name(point.bundle.data["sparse_optimizations"])
    assert targets["RF"]["action_optimization"] == [{"type": "skipping", "target": "Z", "condition_on": rf_leaders}]
    assert [(s["type"], s["target"], s["condition_on"]) for s in targets["LRF"]["action_optimization"]] == lrf
    assert "position-skipping" not in yaml.safe_dump(point.bundle.data["sparse_optimizations"])
    ranks = _ranks(point, "DRAM", "A")
    assert [r["format"] for r in ranks] == ["UOP"] * 5 + ["B"] * 3
    assert [r.get("flattened_rankIDs") for r in ranks[-3:]] == [[["K"]], [["M"]], [["M"]]]
    assert set(targets["LRF"]["representation_format"]) == ({"A", "B"} if sides == "dual" else {"A"})
    assert levels(point.bundle.data["architecture"])["MAC"]["instances"] == 1024


def test_position_skipping_variant_is_the_artifacts_saf():
    point = _render("unstructured_position_skipping", "dual", 0.5)
    lrf = targets_by_name(point.bundle.data["sparse_optimizations"])["LRF"]["action_optimization"]
    assert lrf == [{"type": "position-skipping", "target": "A", "condition_on": []},
                   {"type": "position-skipping", "target": "B", "condition_on": []}]


@pytest.mark.parametrize("scheme_name, topology", [("structured_gating", "stc"), ("unstructured_gating", "dstc")])
def test_gating_variants_gate_instead_of_skip(scheme_name, topology):
    point = _render(scheme_name, "dual", 0.75)
    targets = targets_by_name(point.bundle.data["sparse_optimizations"])
    types = {s["type"] for t in targets.values() for s in t.get("action_optimization", [])}
    assert types == {"gating"}
    assert targets["MAC"]["compute_optimization"] == [{"type": "gating"}]
    if topology == "stc":  # no lane compression: the dense mapspace, K padded to whole 2:8 blocks
        rf = constraints(point.bundle.data["architecture_constraints"])[("RF", "spatial")]
        assert "K<=64" in rf["factors"] and point.plan.gemm.K % 8 == 0


def test_dense_renders_all_densities_one_and_notes_ignored_sparsity():
    point = _render("dense", "dual", 0.75, "fc")
    assert {d["density"] for d in _densities(point).values()} == {1.0}
    assert any("does not exploit sparsity" in note for note in point.plan.notes)
    assert point.plan.gemm.M == 1008 and point.plan.gemm.M_orig == 1000  # RF spatial M = 16 pinned
    single = _render("structured", "single", 0.5, act=0.5)
    assert _densities(single)["B"]["density"] == 1.0
    assert any("activations rendered dense" in note for note in single.plan.notes)


def test_dense_pads_k_to_the_pe_columns_like_structured():
    """One padding rule for every design: the dense point fills the PE columns, as structured does."""
    dense, structured = _render("dense", "single", 0.0, "conv1"), _render("structured", "single", 0.5, "conv1")
    assert dense.plan.gemm.K_orig == 147 and dense.plan.gemm.K % 16 == 0 and dense.plan.gemm.K < 147 + 16
    assert structured.plan.gemm.K % 16 == 0
    stc = constraints(dense.bundle.data["architecture_constraints"])
    assert ("DRAM", "temporal") not in stc  # K may split at DRAM, as on DSTC


def test_zero_sparsity_keeps_the_design_without_compression():
    point = _render("structured", "single", 0.0, "conv1")
    dram = targets_by_name(point.bundle.data["sparse_optimizations"])["DRAM"]
    assert dram["representation_format"] == {} and (point.plan.gemm.K_orig, point.plan.gemm.K) == (147, 160)
    assert "K<=64" in constraints(point.bundle.data["architecture_constraints"])[("RF", "spatial")]["factors"]


def test_dstc_pads_m_and_n_to_the_mac_array_and_core_split():
    point = _render("unstructured", "single", 0.5, "conv5_2-3_b_3x3")  # N = 7*7 = 49
    assert (point.plan.gemm.N, point.plan.gemm.N_orig) == (64, 49)
    spatial = constraints(point.bundle.data["architecture_constraints"])
    assert spatial[("SMEM", "spatial")]["factors"] == {"K=1", "M=2", "N=2"}
    assert spatial[("LRF", "spatial")]["factors"] == {"K=1", "N=16", "M=16"}


def test_arch_parameters_reach_the_rendered_tree():
    point = _render("structured", "single", 0.5, smem_kib=128, smem_metadata_kib=16, lrf_metadata_bits=16,
                    cores=8, rf_words=4096)
    lv = levels(point.bundle.data["architecture"])
    assert lv["SMEM"]["attributes"]["data_storage_depth"] == 128 * 8192 // 256
    assert lv["SMEM"]["attributes"]["metadata_storage_depth"] == 16 * 8192 // 64
    assert lv["LRF"]["attributes"]["metadata_storage_width"] == 16
    assert lv["RF"]["instances"] == 8 and lv["MAC"]["instances"] == 8 * 256
    assert lv["LRF"]["attributes"]["meshY"] == 16 * 8
    cons = constraints(point.bundle.data["architecture_constraints"])
    assert "M<=8" in cons[("SMEM", "spatial")]["factors"] and "N<=256" in cons[("LRF", "temporal")]["factors"]
    names = [t["name"] for t in point.bundle.data["ERT"]["tables"]]
    assert "system.SM.Subpartition[0..7].RF" in names


def test_compressed_data_needs_metadata_storage():
    with pytest.raises(SpecError) as exc:
        _render("structured", "single", 0.5, lrf_metadata_bits=0)
    assert "LRF stores compressed A with 2-bit metadata" in exc.value.one_line()
    assert _render("structured", "single", 0.0, lrf_metadata_bits=0)  # dense weights need none


def test_written_files_load_back_as_the_same_bundle(tmp_path):
    point = _render("unstructured", "dual", 0.75, "fc")
    paths = write_point(point, tmp_path / "p")
    assert sorted(p.name for p in paths) == ["ERT.yaml", "input.yaml"]
    assert dict(load_bundle(tmp_path / "p").data) == dict(point.bundle.data)
    assert (tmp_path / "p" / "input.yaml").read_text().startswith("# sparsesweep point fc-unstructured-dual-s0.75")


def _templates_copy(tmp_path, file_name: str, old: str, new: str):
    folder = tmp_path / "templates"
    shutil.copytree(REPO / "templates", folder)
    path = folder / file_name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize("file_name, old, new, expected", [
    ("mapper.yaml.j2", "{{ mapper.timeout }}", "{{ mapper.timeout_s }}", "template uses an undefined value"),
    ("mapper.yaml.j2", "{{ mapper.timeout }}", "{{ mapper.__class__.__mro__ }}", "unsafe operation"),
    ("mapper.yaml.j2", "{{ mapper.timeout }}", "{{ ''.__class__.__subclasses__() }}", "unsafe operation"),
    ("mapper.yaml.j2", "  timeout:", "timeout:", "rendered input.yaml is not valid YAML"),
    ("mapper.yaml.j2", "{% endif %}", "", "template syntax error"),
])
def test_templates_are_sandboxed_and_checked(tmp_path, file_name, old, new, expected):
    folder = _templates_copy(tmp_path, file_name, old, new)
    spec = scheme("dense")
    with pytest.raises(SpecError) as exc:
        render_point(arch("stc"), resnet().layer("fc"), spec, "single", 0.0, templates=folder)
    assert expected in exc.value.one_line()


def test_real_timeloop_accepts_the_rendered_inputs(tmp_path, reference):
    """Runs only where Timeloop is installed (``SPARSESWEEP_TIMELOOP_BIN`` or PATH)."""
    from sparsesweep.backends.tlrun import find_binary

    try:
        model = find_binary("timeloop-model")
    except BackendError:
        pytest.skip("timeloop-model not installed")
    case = reference / "fig15" / "WD-0.5" / "M512-K128-N1024-IAD0.56-WD0.5" / "STC_flexible-RF2x-24-bandwidth"
    mapping = yaml.safe_load((case / "input.yaml").read_text())["mapping"]
    from sparsesweep.specs import Layer

    layer = Layer(name="gemm", P=32, Q=32, C=128, M=512)
    point = render_point(arch("stc"), layer, scheme("structured"), "single", 0.5, mapping=mapping)
    write_point(point, tmp_path)
    proc = subprocess.run([str(model), "input.yaml", "ERT.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = (tmp_path / "timeloop-model.stats.txt").read_text()
    expected = (case / "timeloop-model.stats.txt").read_text()
    line = lambda text: next(ln for ln in text.splitlines() if ln.startswith("Cycles:"))  # noqa: E731
    assert line(stats) == line(expected)


@pytest.mark.parametrize("sparsity, act, act_nm, k_block", [
    (0.5, 0.5, "2:4", 32), (0.667, 0.667, "2:6", 48), (0.75, 0.75, "2:8", 64),   # the study: act = weight
    (0.5, 0.25, "3:4", 32), (0.75, 0.625, "3:8", 64), (0.667, 0.5, "2:4", 48),
])
def test_structured_activations_pad_k_to_the_weights_block_only(sparsity, act, act_nm, k_block):
    """Activation N:M blocks (M in 4, 6, 8, 16) divide the weights' K block: no common-multiple padding."""
    point = _render("structured", "dual", sparsity, act=act)
    assert point.info()["act_nm"] == act_nm
    nm_m = int(act_nm.split(":")[1])
    assert nm_m in (4, 6, 8, 16) and k_block % nm_m == 0
    assert point.plan.gemm.K == -(-point.plan.gemm.K_orig // k_block) * k_block  # 1152 -> a multiple of the block


@pytest.mark.parametrize("sparsity, act", [(0.5, 0.3), (0.5, 0.444), (0.5, 0.667), (0.2, 0.2)])
def test_structured_activations_no_hardware_pattern_expresses_are_refused(sparsity, act):
    with pytest.raises(SpecError, match=r"--act-sparsity: activation sparsity .* nearest: "):
        _render("structured", "dual", sparsity, act=act)


def test_structured_dualcompress_keeps_activations_unstructured():
    """Unstructured activations on the structured weight path (fig15's dualCompress): any sparsity,
    hypergeometric, bitmask at DRAM/SMEM, K padded to the weights' block alone."""
    point = _render("structured_dualcompress", "dual", 0.5, act=0.3)
    assert _densities(point)["B"] == {"distribution": "hypergeometric", "density": 0.7}
    assert point.info()["act_nm"] is None and "unstructured activations" in point.plan.design
    assert [r["format"] for r in _ranks(point, "SMEM", "B")] == ["UOP"] * 4 + ["B", "B"]
    assert point.plan.gemm.K % 32 == 0
    single = _render("structured_dualcompress", "single", 0.5)
    assert single.files["input.yaml"].split("problem:")[1] == _render("structured", "single", 0.5).files[
        "input.yaml"].split("problem:")[1]
