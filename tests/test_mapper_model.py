"""The mapper's vectorised batch model against the engine, mapping by mapping (dense points)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sparsesweep.engine import evaluate_spec
from sparsesweep.errors import MappingError
from sparsesweep.inputs import load_bundle
from sparsesweep.mapper import batch, emit, mapspace
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.tl import load_spec

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "fixtures" / "mapper_small.yaml"


def dense_cases(reference: Path) -> list[Path]:
    cases = sorted((reference / "fig15").glob("*/*/TC-*")) + sorted((reference / "generated" / "fig15fam").glob("*"))
    return [c for c in cases if (c / "expected.json").is_file()]


def model_and_engine(spec, rules, cands: batch.Batch, i: int):
    tab = batch.tables(spec, rules)
    row = cands.take(np.array([i]))
    dense = batch.evaluate(tab, row)
    energy, cycles = batch.estimate(tab, dense, batch.Scales.unit(tab.n, len(tab.rw)))
    mapping = emit.to_mapping(spec, emit.entries(spec, rules, row, 0))
    try:
        result = evaluate_spec(dataclasses.replace(spec, mapping=mapping)).result
    except MappingError:
        result = None
    return dense, float(energy[0]), float(cycles[0]), result


def test_batch_model_reproduces_the_engine_on_every_dense_reference_mapping(reference):
    cases = dense_cases(reference)
    assert len(cases) >= 16
    checked = 0
    for case in cases:
        spec = load_spec(load_bundle(case))
        if spec.problem.is_sparse or not spec.sparse.empty:
            continue
        rules = parse_constraints(spec)
        dense, energy, cycles, result = model_and_engine(spec, rules, emit.from_mapping(spec, spec.mapping), 0)
        assert result is not None and bool(dense.fits[0])
        assert energy == pytest.approx(result.energy_pj, rel=1e-12), case
        assert cycles == result.cycles, case
        names = [d.name for d in spec.problem.dataspaces]
        for li, level in enumerate(spec.arch.storage):
            for ds, dr in result.levels[level.name].dataspaces.items():
                ti = names.index(ds)
                assert round(dense.reads[0, li, ti]) == dr.actual_reads_per_instance, (case, level.name, ds)
                assert round(dense.fills[0, li, ti]) == dr.actual_fills_per_instance, (case, level.name, ds)
                assert round(dense.updates[0, li, ti]) == dr.actual_updates_per_instance, (case, level.name, ds)
                assert dense.instances[0, li] == dr.utilized_instances
        checked += 1
    assert checked >= 16


def sample_space(spec, count: int, seed: int):
    rules = parse_constraints(spec)
    tab = batch.tables(spec, rules)
    space = mapspace.build(spec, rules, tab, np.random.default_rng(seed))
    f = mapspace.join(space, 400_000)
    assert f is not None
    cands = mapspace.expand(space, f, mapspace.keep_options(space))
    pick = np.random.default_rng(seed).choice(len(cands), size=min(count, len(cands)), replace=False)
    return rules, cands, pick


@pytest.mark.parametrize("which", ["fig15-tc", "small"])
def test_batch_model_agrees_with_the_engine_on_sampled_mapspace_candidates(reference, which):
    if which == "small":
        spec = load_spec(load_bundle(SMALL), need_mapping=False)
    else:
        case = reference / "fig15" / "WD-1.0" / "M512-K128-N1024-IAD0.56-WD1.0" / "TC-RF2x-24-bandwidth"
        spec = load_spec(load_bundle(case))
    rules, cands, pick = sample_space(spec, 150, seed=1)
    legal = 0
    for i in pick:
        dense, energy, cycles, result = model_and_engine(spec, rules, cands, int(i))
        if result is None:
            assert not dense.fits[0], "the engine rejected a mapping the model calls legal"
            continue
        legal += 1
        assert bool(dense.fits[0]), "the model rejected a mapping the engine accepts"
        assert energy == pytest.approx(result.energy_pj, rel=1e-12)
        assert cycles == result.cycles
    assert legal >= 20


def test_emitted_entries_round_trip_through_the_timeloop_parser(reference):
    spec = load_spec(load_bundle(SMALL), need_mapping=False)
    rules, cands, pick = sample_space(spec, 60, seed=2)
    for i in pick:
        row = cands.take(np.array([int(i)]))
        back = emit.from_mapping(spec, emit.to_mapping(spec, emit.entries(spec, rules, row, 0)))
        assert (back.temporal == row.temporal).all() and (back.spatial == row.spatial).all()
        assert (back.keep == row.keep).all()
        assert ((back.xaxis == row.xaxis) | (row.spatial == 1)).all()
        order = lambda b: [sorted(np.flatnonzero(b.temporal[0, li] > 1), key=lambda d: b.rank[0, li, d])  # noqa: E731
                           for li in range(b.temporal.shape[1])]
        assert order(back) == order(row)


def test_batch_model_reproduces_the_dense_nest_of_every_reference_mapping(reference):
    """Tiles, reuse, multicast, halos of sliding windows (conv), bypass masking: per level and tensor,
    the model's dense reads/fills/updates equal the engine's nest analysis (sparse cases included)."""
    from sparsesweep.engine.model import artifact_semantics

    cases = [p.parent for p in sorted(reference.glob("*/*/expected.json"))]
    cases += [p.parent for p in sorted(reference.glob("generated/*/*/expected.json"))]
    cases += [p.parent for p in sorted(reference.glob("fig15/WD-0.5/*/*/expected.json"))]
    checked = 0
    for case in cases:
        spec = load_spec(load_bundle(case))
        if artifact_semantics(spec):
            continue
        rules = parse_constraints(spec)
        dense = batch.evaluate(batch.tables(spec, rules), emit.from_mapping(spec, spec.mapping))
        nest = evaluate_spec(spec).nest
        for ti, ds in enumerate(spec.problem.dataspaces):
            for li, level in enumerate(spec.arch.storage):
                tile = nest.tiles[ds.name][li]
                got = (dense.reads[0, li, ti], dense.fills[0, li, ti], dense.updates[0, li, ti])
                assert got == pytest.approx((tile.reads, tile.fills, tile.updates), rel=1e-9), (case, level.name, ds)
        checked += 1
    assert checked >= 60
