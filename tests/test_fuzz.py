"""Fuzzing of the YAML loaders, the spec models, the Timeloop-format reader, the renderer and the
engine with hostile strings and extreme numbers: nothing but our one-line errors may escape, and
whatever is accepted keeps its meaning (rendered numbers read back equal; the engine's results obey
the physical bounds).  Bounded to a few seconds each."""

from __future__ import annotations

import math
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from sparsesweep.engine import evaluate_spec
from sparsesweep.errors import SparsesweepError
from sparsesweep.inputs import bundle_from_text
from sparsesweep.render import render_point
from sparsesweep.specs.arch import ArchSpec, apply_overrides, arch_from_doc, load_arch
from sparsesweep.specs.ert import ert_from_doc
from sparsesweep.specs.scheme import load_scheme, scheme_from_doc
from sparsesweep.specs.workload import Layer, workload_from_doc
from sparsesweep.tl import load_spec
from sparsesweep.yamlio import YamlDoc, dump_yaml, parse_yaml, parse_yaml_sections
from test_invariants import TEMPLATE, points

from conftest import GEMM_SHAPE

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = st.sampled_from(["", " ", "\n", "a\nb: 1", "key: value", "- item", "# comment", "&a", "*a", "!!python/object",
                           "{", "}", "[", "]", "'", '"', ":", "? x", "|", ">", "%YAML 1.1", "---", "...", "\t",
                           "\x00", "\x1b[31m", "\u2028", "\ufeff", "é", "💥", "1e400", "-.inf", ".nan", "0x10",
                           "0o7", "1_000", "2:4", "yes", "off", "~", "null", "<<: *a", "=", "${HOME}", "{{ x }}",
                           "{% raw %}", "../../etc/passwd"])
TEXT = st.one_of(HOSTILE, st.text(max_size=12), st.lists(HOSTILE, max_size=4).map("".join))
NUMBER = st.one_of(st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0, -1, 1, 2**31, 2**32, 2**40 + 1, 2**63, 1e-300, 5e-324, 1e308, -0.0]))
VALUE = st.one_of(NUMBER, st.booleans(), st.none(), TEXT, st.lists(NUMBER, max_size=3),
                  st.dictionaries(TEXT, NUMBER, max_size=2))

STC = load_arch(REPO / "arch" / "stc.yaml")
STRUCTURED = load_scheme(REPO / "sparse_opt" / "structured.yaml")


def _only_our_errors(fn, *args) -> object:
    try:
        return fn(*args)
    except SparsesweepError as exc:
        line = exc.one_line()
        assert "\n" not in line and line
        return None


# ---- YAML and our spec files ----------------------------------------------------------------------

@FUZZ
@given(st.lists(st.one_of(HOSTILE, st.text(max_size=20)), max_size=12).map("\n".join))
def test_any_text_parses_or_is_one_line_error(text):
    doc = _only_our_errors(parse_yaml, text, "fuzz.yaml")
    if doc is not None:
        assert isinstance(doc, YamlDoc)


def _outcome(fn, text):
    try:
        doc = fn(text, "fuzz.yaml")
    except SparsesweepError as exc:
        return exc.one_line()
    return repr(doc.data), sorted(doc.lines.items(), key=repr), sorted(doc.quoted, key=repr)


SECTION = st.sampled_from(["a:", "b: 1", "a: 2", "c: &x [1, 2]", "d: *x", "e: 'q'", "f: |", "  text", "g:", "- 1",
                           "  - 2", "  h: 3", "  'k': \"v\"", "i: {x: 1,", "j: 1}", "# note", "", "yes: 1", "true: 2",
                           "null:", "k: \"multi", "  line\"", "l: !!set {a, b}", "m: >", "n:x"])


@FUZZ
@given(st.lists(st.one_of(SECTION, SECTION, HOSTILE), max_size=14).map("\n".join))
def test_a_document_parsed_by_sections_is_the_one_parsed_whole(text):
    """The sections parser (rendered points) gives the whole parse's data, lines, quoted scalars and
    errors, whatever the text; a caller's changes to its data never reach a later parse."""
    assert _outcome(parse_yaml_sections, text) == _outcome(parse_yaml, text)
    doc = _only_our_errors(parse_yaml_sections, text, "fuzz.yaml")
    if doc is not None and isinstance(doc.data, dict):
        for value in doc.data.values():
            if isinstance(value, (dict, list, set)):
                value.clear()
        assert _outcome(parse_yaml_sections, text) == _outcome(parse_yaml, text)


@FUZZ
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=2, max_value=12))
def test_alias_chains_are_bounded(width, depth):
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    doc = _only_our_errors(parse_yaml, "\n".join(lines), "aliases.yaml")
    if doc is None:
        assert width ** depth > 10_000  # only a document that really expands is refused


def _spec_docs():
    arch = yaml.safe_load((REPO / "arch" / "stc.yaml").read_text())
    ert = yaml.safe_load((REPO / "arch" / "ert" / "stc_45nm.yaml").read_text())
    workload = {"name": "w", "layers": [{"name": "conv", "C": 64, "M": 64, "P": 7, "Q": 7, "R": 3, "S": 3}]}
    scheme = yaml.safe_load((REPO / "sparse_opt" / "structured.yaml").read_text())
    return [(arch_from_doc, arch), (ert_from_doc, ert), (workload_from_doc, workload), (scheme_from_doc, scheme)]


SPECS = _spec_docs()


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, prefix + (i,))


def _replace(data, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replace(data[head], rest, value)}
    return [_replace(v, rest, value) if i == head else v for i, v in enumerate(data)]


@FUZZ
@given(st.sampled_from(range(len(SPECS))), st.data())
def test_a_spec_with_any_value_anywhere_loads_or_is_one_line_error(which, data):
    load, base = SPECS[which]
    path = data.draw(st.sampled_from(list(_paths(base))[1:]))
    value = data.draw(VALUE)
    text = dump_yaml(_replace(base, path, value)) if data.draw(st.booleans()) else \
        yaml.safe_dump(_replace(base, path, value), allow_unicode=True)
    doc = _only_our_errors(parse_yaml, text, REPO / "arch" / "fuzz.yaml")
    if doc is None:
        return
    spec = _only_our_errors(load, doc)
    if spec is not None:  # accepted: every number in it is finite and no bool passed for a number
        for field, got in spec:
            assert not (isinstance(got, float) and not math.isfinite(got)), field


@FUZZ
@given(st.sampled_from(ArchSpec.parameter_names()), st.one_of(TEXT, NUMBER.map(str), NUMBER))
def test_any_set_value_is_applied_or_one_line_error(name, value):
    arch = _only_our_errors(apply_overrides, STC, {name: value})
    if arch is not None:
        got = getattr(arch, name)
        assert not isinstance(got, bool) and not (isinstance(got, float) and not math.isfinite(got))


# ---- Timeloop-format inputs and the engine ---------------------------------------------------------

TL_BASE = TEMPLATE.format(GEMM_SHAPE=GEMM_SHAPE, pes=2, pes1=1, M=4, N=4, K=4, dist="fixed_structured", dA=0.5,
                          dB=1.0, m0=2, m1=1, ms=2, n0=4, n1=1, k0=4, k1=1, p0="MNK", p1="MNK", sparse="")
TL_NUMBERS = [m.span(1) for m in re.finditer(r"(?<![A-Za-z0-9_.])(-?[0-9][0-9.]*)(?![0-9.\]])", TL_BASE)]


@FUZZ
@given(st.data())
def test_timeloop_inputs_with_any_number_load_or_are_one_line_errors(data):
    start, end = data.draw(st.sampled_from(TL_NUMBERS))
    value = data.draw(st.one_of(NUMBER.map(lambda v: repr(v) if isinstance(v, float) else str(v)), HOSTILE))
    text = TL_BASE[:start] + (value if value.strip() else "0") + TL_BASE[end:]
    bundle = _only_our_errors(bundle_from_text, text)
    if bundle is None:
        return
    spec = _only_our_errors(load_spec, bundle)
    if spec is None:
        return
    result = _only_our_errors(evaluate_spec, spec)
    if result is not None:
        _physical(result.result, macs=2)


def _physical(result, macs: int) -> None:
    c = result.computes
    assert 0 <= c.actual <= c.algorithmic
    assert math.isfinite(result.energy_pj) and result.energy_pj >= 0
    assert all(math.isfinite(lv.energy_pj) and lv.energy_pj >= 0 for lv in result.levels.values())
    assert result.cycles >= math.ceil(c.actual / macs) - 1e-9
    assert result.physical_problem() is None


ENERGY = st.one_of(st.floats(min_value=0, max_value=1e12, allow_nan=False), st.sampled_from([0.0, 1e-300, 5e-324]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points(), st.lists(ENERGY, min_size=14, max_size=14),
       st.one_of(st.none(), st.floats(min_value=1e-3, max_value=1e6)))
def test_engine_invariants_with_extreme_energies_and_bandwidths(point, energies, bandwidth):
    params = {**point, "p0": "".join(point["p0"]), "p1": "".join(point["p1"]), "sparse": ""}
    text = TEMPLATE.format(GEMM_SHAPE=GEMM_SHAPE, **params)
    values = iter(energies)
    text = re.sub(r"energy: [0-9.]+", lambda m: f"energy: {next(values)!r}", text)
    if bandwidth is not None:
        text = text.replace("metadata_storage_width: 8, metadata_datawidth: 4, meshX",
                            f"metadata_storage_width: 8, metadata_datawidth: 4, read_bandwidth: {bandwidth!r}, "
                            f"write_bandwidth: {bandwidth!r}, meshX")
    result = evaluate_spec(load_spec(bundle_from_text(text))).result
    _physical(result, macs=point["pes"])


# ---- the renderer ---------------------------------------------------------------------------------

NAME = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20)


@FUZZ
@given(NAME, st.floats(min_value=1e-9, max_value=1e9), st.sampled_from([0.5, 0.75]),
       st.sampled_from(["single", "dual"]), st.integers(1, 64), st.integers(1, 64))
def test_rendered_values_read_back_as_given(name, bandwidth, sparsity, sides, c, m):
    name = "ZZ" + name  # (a marker to find it in the rendered text)
    arch = _only_our_errors(lambda: apply_overrides(STC, {"dram_read_bandwidth": bandwidth}).model_copy(
        update={"name": name}))  # the name unvalidated: the renderer must be safe on its own
    if arch is None:
        return
    arch._base_dir = STC._base_dir
    layer = Layer(name="l", C=c, M=m, P=2, Q=2)
    point = _only_our_errors(render_point, arch, layer, STRUCTURED, sides, sparsity)
    if point is None:
        return
    data = point.bundle.data
    assert set(data) >= {"architecture", "problem", "ERT"} and "mapper" in data  # no injected or lost keys
    dram = data["architecture"]["subtree"][0]["local"][0]
    assert dram["attributes"]["read_bandwidth"] == float(bandwidth)  # a float, not the string '1e-05'
    for text in point.files.values():
        for line in text.splitlines():
            if name in line:
                assert line.lstrip().startswith("#")  # names only ever in comments
