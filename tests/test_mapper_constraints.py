"""The mapspace constraints parser: Timeloop syntax, the fig15 files, rendered points, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsesweep.errors import SpecError
from sparsesweep.inputs import bundle_from_text, load_bundle
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.tl import load_spec
from sparsesweep.yamlio import dump_yaml, load_yaml

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "fixtures" / "mapper_small.yaml"


def small_spec(constraints: object):
    base = load_yaml(SMALL).data
    text = dump_yaml({**base, "architecture_constraints": constraints})
    return load_spec(bundle_from_text(text, "small.yaml"), need_mapping=False)


def test_factor_syntax_exact_max_min_and_permutation_prefix_suffix():
    spec = small_spec({"targets": [
        {"target": "GLB", "type": "temporal", "factors": "K=1 M<=2 N>=2", "permutation": "N...M"},
        {"target": "GLB", "type": "spatial", "factors": ["M2", "N = 2"], "permutation": "KM", "split": 1},
        {"target": "RF", "type": "bypass", "keep": ["Z"], "bypass": ["A", "B"]},
        {"target": "RF", "type": "utilization", "min": 0.5},
    ]})
    rules = parse_constraints(spec)
    m, n, k = (spec.problem.dims.index(d) for d in "MNK")
    glb = rules.levels[1]
    assert glb.temporal.exact == {k: 1} and glb.temporal.maximum == {m: 2} and glb.temporal.minimum == {n: 2}
    assert glb.temporal.prefix == (n,) and glb.temporal.suffix == (m,)
    assert glb.spatial.exact == {m: 2, n: 2} and glb.spatial.prefix == (k, m) and glb.spatial.split == 1
    assert rules.levels[0].keep == {"Z"} and rules.levels[0].bypass == {"A", "B"}
    assert rules.keep_choice(0, "A", False) is False and rules.keep_choice(1, "A", False) is None
    assert rules.keep_choice(2, "A", True) is True
    assert rules.min_utilization == 0.5


def test_zero_means_the_whole_bound_and_too_large_exact_factors_are_ignored_with_a_warning():
    # As Timeloop: "N=64" above the bound is dropped (N stays free); "N<=64" is no limit.
    spec = small_spec([{"target": "DRAM", "type": "temporal", "factors": "M=0 N=64 K<=64"}])
    rules = parse_constraints(spec)
    m, n, k = (spec.problem.dims.index(x) for x in "MNK")
    assert rules.levels[2].temporal.exact == {m: spec.problem.bounds[m]}
    assert rules.levels[2].temporal.maximum == {k: spec.problem.bounds[k]}
    assert len(rules.warnings) == 1 and "N=64" in rules.warnings[0] and "ignored" in rules.warnings[0]


def test_hyphenated_keys_and_mapspace_constraints_are_read_too():
    spec = small_spec({"targets": [{"target": "GLB", "type": "temporal", "factors": "K=1"}]})
    data = dict(spec.bundle.data)
    data["mapspace_constraints"] = [{"target": "RF", "type": "max-overbooked-proportion", "proportion": 0.1}]
    rules = parse_constraints(load_spec(bundle_from_text(dump_yaml(data), "x.yaml"), need_mapping=False))
    assert rules.levels[0].overbooking == pytest.approx(0.1)
    assert rules.levels[1].temporal.exact


@pytest.mark.parametrize(("constraints", "message"), [
    ([{"target": "GLB", "type": "temporal", "factors": "K=1", "permutaton": "K"}], "did you mean 'permutation'"),
    ([{"target": "GLB", "type": "temporal", "factors": "Q=1"}], "unknown dimension 'Q'"),
    ([{"target": "GLB", "type": "temporal", "factors": "K=1", "permutation": "KK"}], "appears twice"),
    ([{"target": "GLB", "type": "temporal", "factors": "K=2 K<=1"}], "contradicts its own limits"),
    ([{"target": "GLB", "type": "temporal", "factors": "K>=2 K<=1"}], "no K factor satisfies"),
    ([{"target": "GLB", "type": "temporal", "factors": "K=1"},
      {"target": "GLB", "type": "temporal", "factors": "K=1"}], "given twice"),
    ([{"target": "GLB", "type": "temporal", "split": 1}], "'split' applies to spatial entries only"),
    ([{"target": "GLB", "type": "temporal", "keep": ["A"]}], "does not belong in a temporal entry"),
    ([{"target": "GLB", "type": "bypass", "keep": ["Q"]}], "unknown dataspace 'Q'"),
    ([{"target": "MAC", "type": "temporal", "factors": "K=1"}], "is the compute level"),
    ([{"target": "RF", "type": "utilization", "min": 2}], "outside [0, 1]"),
    ({"targets": [], "extra": 1}, "unknown key 'extra'"),
])
def test_bad_constraints_are_located_one_line_errors(constraints, message):
    with pytest.raises(SpecError) as info:
        parse_constraints(small_spec(constraints))
    text = info.value.one_line()
    assert message in text and "\n" not in text
    assert "small.yaml" in text and "architecture_constraints" in text


def fig15_cases(reference: Path) -> list[Path]:
    return sorted(p.parent for p in (reference / "fig15").glob("*/*/*/constraints.yaml"))


def test_every_fig15_constraints_file_parses_and_pins_what_it_says(reference):
    cases = fig15_cases(reference)
    assert len(cases) == 96
    for case in cases:
        spec = load_spec(load_bundle(case))
        rules = parse_constraints(spec)
        raw = load_yaml(case / "constraints.yaml").data["architecture_constraints"]["targets"]
        names = [s.name for s in spec.arch.storage]
        for entry in raw:
            li = names.index(entry["target"])
            if entry["type"] in ("temporal", "spatial"):
                rule = getattr(rules.levels[li], entry["type"])
                for item in entry.get("factors", "").split():
                    dim = spec.problem.dims.index(item[0])
                    value = int(item.split("=")[-1])
                    table = rule.maximum if "<=" in item else rule.exact
                    assert table[dim] == min(value, spec.problem.bounds[dim]), (case, item)
                if "split" in entry:
                    assert rule.split == entry["split"]
            else:
                assert rules.levels[li].keep == set(entry.get("keep", []))
                assert rules.levels[li].bypass == set(entry.get("bypass", []))


def test_rendered_points_constraints_parse(tmp_path):
    from sparsesweep.render import render_point
    from sparsesweep.specs import load_arch, load_scheme, load_workload

    layer = load_workload(REPO / "workloads" / "resnet50.yaml").layers[1]
    for scheme_name, arch_name in (("dense", "stc"), ("structured", "stc"), ("unstructured", "dstc")):
        scheme = load_scheme(REPO / "sparse_opt" / f"{scheme_name}.yaml")
        point = render_point(load_arch(REPO / "arch" / f"{arch_name}.yaml"), layer, scheme, "single", 0.5)
        rules = parse_constraints(load_spec(point.bundle, need_mapping=False))
        assert any(lv.keep for lv in rules.levels)
        assert any(lv.temporal.exact or lv.spatial.exact for lv in rules.levels)


def test_v04_node_constraints_are_refused_not_ignored():
    base = load_yaml(SMALL).data
    base["architecture"]["subtree"][0]["local"][0]["constraints"] = {"temporal": {"factors": ["K=1"]}}
    with pytest.raises(SpecError) as info:
        parse_constraints(load_spec(bundle_from_text(dump_yaml(base), "v04.yaml"), need_mapping=False))
    assert "v0.4 constraints are not read" in info.value.one_line() and "architecture_constraints" in info.value.fix
