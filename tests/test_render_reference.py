"""Rendered inputs against the fig15 reference inputs that Timeloop master (or the artifact) accepted.

The fig15 GEMM M=512 K=128 N=1024 is rendered from a layer with that GEMM view; every design's
architecture, sparse optimizations, mapspace constraints and mapping are compared with the
reference files (hyphenated keys normalised), so the rendered inputs have the same shape as inputs
that real Timeloop accepts.
"""

from __future__ import annotations

import pytest
import yaml
from render_helpers import arch, constraints, levels, norm, scheme, targets_by_name

from sparsesweep.render import render_point
from sparsesweep.specs import Layer, SchemeSpec

CASE = "M512-K128-N1024-IAD0.56-WD{wd}"
LAYER = Layer(name="M512-K128-N1024", R=1, S=1, P=32, Q=32, C=128, M=512)  # GEMM M=512, K=128, N=1024
ACT_SPARSITY = 1 - 0.56  # the case's activation density (IAD)
# (scheme, sides, fig15 design)
DESIGNS = [
    ("structured", "single", "STC_flexible-RF2x-24-bandwidth"),
    ("structured_rle", "single", "STC_flexible-RF2x-24-bandwidth-RLE"),
    ("structured_rle", "dual", "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE"),
    ("unstructured_position_skipping", "dual", "DSTC-RF2x-24-bandwidth"),
]


def _reference(reference, wd: str, design: str) -> tuple[dict, dict]:
    folder = reference / "fig15" / f"WD-{wd}" / CASE.format(wd=wd) / design
    data = norm(yaml.safe_load((folder / "input.yaml").read_text()))
    return data, norm(yaml.safe_load((folder / "constraints.yaml").read_text()))["architecture_constraints"]


def _render(scheme_name: str, sides: str, wd: str, ref: dict, spec: SchemeSpec | None = None):
    spec = spec or scheme(scheme_name)
    # dual: DSTC gets the case's activation density; structured dual gets N:M activations (2:4)
    act = (ACT_SPARSITY if spec.kind == "unstructured" else 0.5) if sides == "dual" else None
    return render_point(arch(spec.topology), LAYER, spec, sides, round(1 - float(wd), 4), act,
                        mapping=ref["mapping"])


@pytest.mark.parametrize("wd", ["0.5", "0.25"])
@pytest.mark.parametrize("scheme_name, sides, design", DESIGNS)
def test_sparse_optimizations_equal_the_reference(reference, wd, scheme_name, sides, design):
    ref, _ = _reference(reference, wd, design)
    point = _render(scheme_name, sides, wd, ref)
    ours = targets_by_name(norm(point.bundle.data["sparse_optimizations"]))
    assert ours == targets_by_name(ref["sparse_optimizations"])


def test_rle_metadata_bits_of_the_artifact_can_be_reproduced(reference):
    """2:6 RLE: our rule gives ceil(log2 6) = 3 bits; the artifact used 2 (metadata_bits: 2 reproduces it)."""
    ref, _ = _reference(reference, "0.3333", "STC_flexible-RF2x-24-bandwidth-RLE")
    default = _render("structured_rle", "single", "0.3333", ref)
    assert targets_by_name(norm(default.bundle.data["sparse_optimizations"])) != targets_by_name(ref["sparse_optimizations"])
    pinned = scheme("structured_rle").model_copy(update={"metadata_bits": 2})
    point = _render("structured_rle", "single", "0.3333", ref, pinned)
    assert targets_by_name(norm(point.bundle.data["sparse_optimizations"])) == targets_by_name(ref["sparse_optimizations"])
    cp, _ = _reference(reference, "0.3333", "STC_flexible-RF2x-24-bandwidth")
    point = _render("structured", "single", "0.3333", cp)
    assert targets_by_name(norm(point.bundle.data["sparse_optimizations"])) == targets_by_name(cp["sparse_optimizations"])


@pytest.mark.parametrize("wd", ["1.0", "0.5", "0.3333", "0.25"])
@pytest.mark.parametrize("scheme_name, sides, design", DESIGNS + [("dense", "single", "TC-RF2x-24-bandwidth")])
def test_constraints_equal_the_reference_mapspace(reference, wd, scheme_name, sides, design):
    ref, ref_constraints = _reference(reference, wd, design)
    point = _render(scheme_name, sides, wd, ref)
    ours = constraints(point.bundle.data["architecture_constraints"])
    theirs = constraints(ref_constraints)
    for key in theirs:  # one-letter permutations at DRAM/SMEM only order factor-1 loops; kept per case
        if key[0] in ("DRAM", "SMEM"):
            theirs[key].pop("permutation", None)
    # The sweep's one mapping-constraint policy (templates/constraints/*.j2) gives every design the
    # same DRAM and SMEM freedom: K free at DRAM (the artifact pins K=1 there), and at the SMEM K=1
    # with M, N <= 8 in time (the artifact's TC/STC bound; its DSTC leaves M and N free).
    assert theirs.pop(("DRAM", "temporal")) == {"factors": {"K=1"}}
    assert ("DRAM", "temporal") not in ours
    assert theirs[("SMEM", "temporal")]["factors"] <= ours[("SMEM", "temporal")]["factors"] == {"K=1", "M<=8", "N<=8"}
    theirs[("SMEM", "temporal")]["factors"] = ours[("SMEM", "temporal")]["factors"]
    if design.startswith("DSTC"):
        # The cores sit on Y (meshX 1): our DSTC pins 'split: 0' at the SMEM, which every mapping has
        # anyway and without which timeloop-mapper finds no mapping; and it leaves the LRF loop order
        # free (the artifact's 'permutation: NMK', checked literally by timeloop-model, refuses every
        # mapping whose only LRF loop above 1 is M).
        assert ours[("SMEM", "spatial")].pop("split") == 0 and "split" not in theirs[("SMEM", "spatial")]
        assert theirs[("LRF", "temporal")].pop("permutation") == "NMK"
    assert ours == theirs


@pytest.mark.parametrize("scheme_name, sides, design", DESIGNS)
def test_problem_densities_and_shape(reference, scheme_name, sides, design):
    ref, _ = _reference(reference, "0.5", design)
    point = _render(scheme_name, sides, "0.5", ref)
    problem = norm(point.bundle.data["problem"])
    assert problem["shape"]["data_spaces"] == ref["problem"]["shape"]["data_spaces"]
    assert problem["shape"]["dimensions"] == ref["problem"]["shape"]["dimensions"]
    for dim in ("M", "N", "K"):
        assert problem["instance"][dim] == ref["problem"]["instance"][dim]
    ours, theirs = problem["instance"]["densities"], ref["problem"]["instance"]["densities"]
    assert ours["A"] == pytest.approx(theirs["A"])
    if design.startswith("DSTC"):  # unstructured dual: activations hypergeometric, as in the reference
        assert ours["B"]["distribution"] == theirs["B"]["distribution"] == "hypergeometric"
        assert ours["B"]["density"] == pytest.approx(theirs["B"]["density"])
    elif sides == "dual":  # structured dual: activations N:M (the reference measured them unstructured)
        assert ours["B"] == {"distribution": "fixed_structured", "density": pytest.approx(0.5)}
    else:
        assert ours["B"] == theirs["B"]


@pytest.mark.parametrize("scheme_name, design", [("structured", "STC_flexible-RF2x-24-bandwidth"),
                                                 ("unstructured", "DSTC-RF2x-24-bandwidth")])
def test_architecture_reproduces_the_fig15_design(reference, scheme_name, design):
    ref, _ = _reference(reference, "0.5", design)
    point = _render(scheme_name, "dual", "0.5", ref)
    ours, theirs = levels(point.bundle.data["architecture"]), levels(ref["architecture"])
    assert list(ours) == list(theirs) == ["DRAM", "SMEM", "RF", "LRF", "MAC"]
    for name in theirs:
        mine, other = ours[name], theirs[name]
        assert (mine["class"], mine["subclass"], mine["instances"]) == (other["class"], other["subclass"],
                                                                         other["instances"]), name
        if name == "SMEM" and design.startswith("DSTC"):
            # the DSTC reference keeps the artifact's 512 x 4096 rows; ours is the master-safe 256 x 8192
            size = lambda a: a["data_storage_width"] * a["data_storage_depth"]  # noqa: E731
            assert size(mine["attributes"]) == size(other["attributes"])
            assert mine["attributes"]["data_storage_width"] == 256
            other = {**other, "attributes": {k: v for k, v in other["attributes"].items()
                                             if k not in ("data_storage_width", "data_storage_depth")}}
            mine = {**mine, "attributes": {k: v for k, v in mine["attributes"].items()
                                           if k not in ("data_storage_width", "data_storage_depth")}}
        assert mine["attributes"] == other["attributes"], name


def test_top_level_keys_and_mapping(reference):
    ref, _ = _reference(reference, "0.5", "STC_flexible-RF2x-24-bandwidth")
    point = _render("structured", "single", "0.5", ref)
    keys = set(point.bundle.data)
    assert set(ref) <= keys  # architecture, compound_components, problem, mapping, sparse_optimizations
    assert keys - set(ref) == {"architecture_constraints", "mapper", "ERT"}
    assert point.bundle.data["mapping"] == ref["mapping"]
    used = {lvl["subclass"] for lvl in levels(point.bundle.data["architecture"]).values()} - {None}
    assert used <= {c["name"] for c in point.bundle.data["compound_components"]["classes"]}


def test_rendered_dense_point_evaluates_to_the_fig15_master_figures(reference):
    """End to end: the dense scheme on the STC arch, with the fig15 mapping and the dense energy table
    (fig15's TC energies), is the fig15 TC design; the native engine must give that case's master
    cycles, and its energy up to the SMEM row width (the TC case keeps the artifact's 512-bit rows,
    our default has 256-bit rows with per-row energies halved, so only partial rows differ)."""
    import json

    from sparsesweep.backends.base import default_registry

    ref, _ = _reference(reference, "1.0", "TC-RF2x-24-bandwidth")
    point = _render("dense", "single", "1.0", ref)
    assert "tc_45nm.yaml" in point.files["ERT.yaml"].splitlines()[0]
    result = default_registry().create("native").evaluate(point.bundle)
    folder = reference / "fig15" / "WD-1.0" / CASE.format(wd="1.0") / "TC-RF2x-24-bandwidth"
    expected = json.loads((folder / "expected.json").read_text())
    assert result.cycles == expected["cycles"]
    assert result.energy_pj == pytest.approx(expected["energy_pj"], rel=1e-3)
    for level in ("MAC", "LRF", "RF", "DRAM"):
        assert result.levels[level].energy_pj == pytest.approx(expected["levels"][level]["energy_pj"], rel=1e-6)

@pytest.mark.parametrize("wd, bits", [("0.5", None), ("0.3333", 2), ("0.25", None)])
def test_structured_dualcompress_is_the_fig15_dualcompress_design(reference, wd, bits):
    """``structured_dualcompress`` (N:M weights, hypergeometric bitmask activations) renders the fig15
    STC_flexible_dualCompress case: its sparse optimizations and densities equal the reference's, and
    the native engine gives that case's Timeloop-master figures (2:6 RLE with the artifact's 2 bits)."""
    import json

    from sparsesweep.backends.base import default_registry

    design = "STC_flexible_dualCompress-RF2x-24-bandwidth-RLE"
    ref, _ = _reference(reference, wd, design)
    spec = scheme("structured_dualcompress").model_copy(update={"weight_format": "RLE", "metadata_bits": bits})
    point = render_point(arch("stc"), LAYER, spec, "dual", round(1 - float(wd), 4), ACT_SPARSITY,
                         mapping=ref["mapping"])
    problem = norm(point.bundle.data["problem"])
    assert problem["instance"]["densities"]["B"] == {"distribution": "hypergeometric",
                                                     "density": pytest.approx(0.56)}
    assert targets_by_name(norm(point.bundle.data["sparse_optimizations"])) == \
        targets_by_name(ref["sparse_optimizations"])
    assert point.plan.gemm.K == ref["problem"]["instance"]["K"]
    result = default_registry().create("native").evaluate(point.bundle)
    folder = reference / "fig15" / f"WD-{wd}" / CASE.format(wd=wd) / design
    expected = json.loads((folder / "expected.json").read_text())
    assert result.cycles == expected["cycles"]
    assert result.energy_pj == pytest.approx(expected["energy_pj"], rel=1e-3)
