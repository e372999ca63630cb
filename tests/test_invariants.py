"""Invariants of the sparse engine on random small problems (property tests)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GEMM_SHAPE
from sparsesweep.engine import evaluate_spec
from sparsesweep.inputs import bundle_from_text
from sparsesweep.tl import load_spec

TEMPLATE = """
architecture:
  version: 0.3
  subtree:
  - name: system
    local:
    - name: DRAM
      class: DRAM
      attributes: {{width: 8, datawidth: 8, metadata_storage_width: 8, metadata_datawidth: 4}}
    subtree:
    - name: PE[0..{pes1}]
      local:
      - name: Buffer
        class: storage
        subclass: regfile_metadata
        attributes: {{depth: 4096, width: 8, datawidth: 8, metadata_storage_depth: 4096,
                      metadata_storage_width: 8, metadata_datawidth: 4, meshX: {pes}}}
      - name: MAC
        class: compute
        subclass: intmac
        attributes: {{datawidth: 8, meshX: {pes}}}
{GEMM_SHAPE}
  instance:
    M: {M}
    N: {N}
    K: {K}
    densities:
      A: {{distribution: {dist}, density: {dA}}}
      B: {{distribution: fixed_structured, density: {dB}}}
mapping:
- {{target: Buffer, type: temporal, factors: M{m0} N{n0} K{k0}, permutation: {p0}}}
- {{target: DRAM, type: spatial, factors: M{ms} N1 K1}}
- {{target: DRAM, type: temporal, factors: M{m1} N{n1} K{k1}, permutation: {p1}}}
ERT:
  version: 0.3
  tables:
  - name: system.DRAM
    actions: [{{name: read, energy: 64}}, {{name: write, energy: 64}}, {{name: metadata_read, energy: 8}},
              {{name: metadata_write, energy: 8}}]
  - name: system.PE[0..{pes1}].Buffer
    actions: [{{name: read, energy: 1}}, {{name: write, energy: 1.2}}, {{name: gated_read, energy: 0.1}},
              {{name: gated_write, energy: 0.1}}, {{name: metadata_read, energy: 0.3}},
              {{name: metadata_write, energy: 0.3}}, {{name: gated_metadata_read, energy: 0.01}}]
  - name: system.PE[0..{pes1}].MAC
    actions: [{{name: mac_random, energy: 1}}, {{name: mac_gated, energy: 0.1}}, {{name: mac_skipped, energy: 0.01}}]
{sparse}
"""

UOPS = ", ".join(["{{format: UOP}}"] * 8)
SPARSE = """sparse_optimizations:
  targets:
  - name: DRAM
    representation_format: {{data_spaces: [{{name: A, ranks: [UOPS8, {{format: {fmt}}}]}}]}}
  - name: Buffer
    representation_format: {{data_spaces: [{{name: A, ranks: [UOPS4, {{format: {fmt}}}]}}]}}
    action_optimization: [{{type: {saf}, target: B, condition_on: [A]}}]
  - name: MAC
    compute_optimization: [{{type: {copt}}}]
""".replace("UOPS8", UOPS).replace("UOPS4", ", ".join(["{{format: UOP}}"] * 4))


def _split(n: int, draw) -> tuple[int, int]:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    inner = draw(st.sampled_from(divisors))
    return inner, n // inner


@st.composite
def points(draw):
    dims = {d: draw(st.sampled_from([2, 4, 6, 8])) for d in "MNK"}
    pes = draw(st.sampled_from([1, 2]))
    if dims["M"] % pes:
        pes = 1
    ms = pes
    m0, m1 = _split(dims["M"] // ms, draw)
    n0, n1 = _split(dims["N"], draw)
    k0, k1 = _split(dims["K"], draw)
    return {
        **dims, "pes": pes, "pes1": pes - 1, "ms": ms, "m0": m0, "m1": m1, "n0": n0, "n1": n1, "k0": k0, "k1": k1,
        "p0": draw(st.permutations("MNK")), "p1": draw(st.permutations("MNK")),
        "dist": draw(st.sampled_from(["fixed_structured", "hypergeometric"])),
        "dA": draw(st.sampled_from([0.125, 0.25, 0.5, 0.75, 1.0])),
        "dB": draw(st.sampled_from([0.5, 1.0])),
        "fmt": draw(st.sampled_from(["CP", "B", "RLE"])),
        "saf": draw(st.sampled_from(["gating", "skipping"])),
        "copt": draw(st.sampled_from(["gating", "skipping"])),
    }


def _evaluate(point: dict, sparse: bool | str = True):
    """``sparse``: the point's SAFs and formats (True), none (False), or this sparse_optimizations text."""
    params = {**point, "p0": "".join(point["p0"]), "p1": "".join(point["p1"])}
    params["sparse"] = sparse if isinstance(sparse, str) else SPARSE.format(**params) if sparse else ""
    return evaluate_spec(load_spec(bundle_from_text(TEMPLATE.format(GEMM_SHAPE=GEMM_SHAPE, **params)))).result


@settings(max_examples=60, deadline=None)
@given(points())
def test_sparse_results_are_sane(point):
    result = _evaluate(point)
    c = result.computes
    assert 0 <= c.actual <= c.algorithmic
    assert c.actual + c.gated + c.skipped <= c.algorithmic
    assert result.energy_pj >= 0
    for level in result.levels.values():
        assert level.energy_pj >= 0
        for ds in level.dataspaces.values():
            assert ds.energy_pj >= 0
            for count in (ds.actual_reads_per_instance, ds.actual_fills_per_instance,
                          ds.actual_updates_per_instance):
                assert count is None or count >= 0


@settings(max_examples=40, deadline=None)
@given(points())
def test_skipping_one_operand_never_beats_its_density(point):
    point = {**point, "dB": 1.0, "copt": "skipping", "saf": "skipping"}
    sparse = _evaluate(point)
    dense = _evaluate({**point, "dA": 1.0, "dist": "fixed_structured"}, sparse=False)
    compute_sparse = sparse.levels["MAC"].cycles
    compute_dense = dense.levels["MAC"].cycles
    assert compute_sparse >= math.floor(point["dA"] * compute_dense)


@settings(max_examples=40, deadline=None)
@given(points())
def test_density_one_reproduces_the_dense_counts(point):
    # All data dense: formats, SAFs and compute optimizations find nothing to skip, so
    # computes, cycles and every access count equal the dense evaluation (metadata only
    # adds energy).
    dense_point = {**point, "dA": 1.0, "dB": 1.0, "dist": "fixed_structured"}
    sparse = _evaluate(dense_point, sparse=True)
    dense = _evaluate(dense_point, sparse=False)
    assert sparse.computes == dense.computes
    assert sparse.cycles == dense.cycles
    for name, level in dense.levels.items():
        for ds, counts in level.dataspaces.items():
            ours = sparse.levels[name].dataspaces[ds]
            assert (ours.actual_reads_per_instance, ours.actual_fills_per_instance,
                    ours.actual_updates_per_instance) == (counts.actual_reads_per_instance,
                                                          counts.actual_fills_per_instance,
                                                          counts.actual_updates_per_instance)
    assert sparse.energy_pj >= dense.energy_pj
