"""A dataspace that no SAF acts on skips the combiner: its direct counts must be the combiner's.

For every sparse case of the reference corpus, each dataspace's counts from
:func:`sparse.direct_counts` are compared with what the combiner gives it with no SAF.
"""

from __future__ import annotations

import pytest

from conftest import reference_root
from test_invariants import _evaluate  # a small GEMM design (DRAM, Buffer, MAC)
from sparsesweep.engine.context import context_for
from sparsesweep.engine.nest import analyse
from sparsesweep.engine.oracle import SparseModels
from sparsesweep.engine.propagate import SafPlan, combine
from sparsesweep.engine.sparse import direct_counts, fine_counts
from sparsesweep.errors import SpecError
from sparsesweep.inputs import load_bundle
from sparsesweep.tl import load_spec


def _sparse_cases() -> list[str]:
    root = reference_root()
    return sorted(str(p.parent.relative_to(root)) for p in root.rglob("input.yaml")
                  if "sparse_optimizations" in p.read_text())


@pytest.mark.parametrize("case", _sparse_cases())
def test_direct_counts_match_the_combiner_without_safs(reference, case):
    spec = load_spec(load_bundle(reference / case / "input.yaml"))
    ctx = context_for(spec)
    nest = analyse(spec.problem, spec.mapping, count_first_fill=ctx.artifact)
    models = SparseModels.build(spec, nest, artifact=ctx.artifact, static=ctx.format_static)
    n = len(spec.arch.storage)
    compared = 0
    for ds in spec.problem.dataspaces:
        tiles, formats = nest.tiles[ds.name], models.formats.dataspaces[ds.name].tiles
        inputs = {(li, ds.name): models.level_input(li, ds, tiles[li]) for li in range(n)}
        fine = combine(n, inputs, SafPlan(kind={}, prob={}), float(nest.macs), [ds.name]).fine
        direct = direct_counts(ds.read_write, tiles, formats)
        for li in range(n):
            if not tiles[li].kept:
                assert direct[li] is None
                continue
            expected = fine_counts(fine[(li, ds.name)], formats[li])
            assert direct[li] == expected, f"{case}: '{ds.name}' at level {li}"
            assert [type(v) for v in direct[li]] == [type(v) for v in expected]
            compared += 1
    assert compared


@pytest.mark.parametrize("target", ["B", "A"])
def test_compressed_below_an_uncompressed_level_is_refused(target):
    point = {"M": 4, "N": 4, "K": 4, "pes": 1, "pes1": 0, "ms": 1, "m0": 2, "m1": 2, "n0": 2, "n1": 2, "k0": 2,
             "k1": 2, "p0": "MNK", "p1": "MNK", "dist": "hypergeometric", "dA": 0.5, "dB": 1.0, "fmt": "CP",
             "saf": "skipping", "copt": "gating"}
    sparse = ("sparse_optimizations:\n  targets:\n"
              "  - name: DRAM\n    representation_format: {data_spaces: [{name: A, ranks: [{format: UOP}, "
              "{format: UOP}, {format: UOP}]}]}\n"
              "  - name: Buffer\n    representation_format: {data_spaces: [{name: A, ranks: [{format: UOP}, "
              f"{{format: CP}}]}}]}}\n    action_optimization: [{{type: skipping, target: {target}, "
              "condition_on: [A]}]\n")
    with pytest.raises(SpecError, match="'A' is compressed at 'Buffer' but its parent level 'DRAM' keeps it uncompressed"):
        _evaluate(point, sparse=sparse)
