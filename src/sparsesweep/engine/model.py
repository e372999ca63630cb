"""Evaluate one point: dense nest analysis -> sparse effects -> energy and cycles -> Result."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import MappingError, SparsesweepError, SpecError
from ..result import Computes, DataspaceResult, LevelResult, Result
from ..tl.mapping import Mapping as LoopMapping
from ..tl.spec import Spec
from .context import Context, context_for
from .counts import ComputeCounts, OpCounts, TensorCounts
from .cycles import compute_cycles, level_cycles
from .energy import compute_energy, tensor_energy
from .nest import NestResult, analyse
from .sparse import apply_sparsity

SOURCE = "sparsesweep native engine"


@dataclass(frozen=True)
class Evaluation:
    """Everything the engine computed for a point (the Result plus internals)."""

    result: Result
    nest: NestResult
    tensors: tuple[tuple[TensorCounts, ...], ...]  # per storage level, kept tensors
    compute: ComputeCounts
    level_cycles: tuple[int, ...]


def evaluate_spec(spec: Spec) -> Evaluation:
    """Evaluate a parsed spec that has a mapping and an energy table (its result physically possible)."""
    evaluation = _evaluate(spec, context_for(spec))
    problem = evaluation.result.physical_problem()
    if problem:
        raise SpecError(f"the result is not physical ({problem})", fix="check the energies, sizes and densities")
    return evaluation


class Evaluator:
    """Evaluates many mappings of one spec (the spec's own mapping is not used).

    Same results as ``evaluate_spec(dataclasses.replace(spec, mapping=m))``; what does not
    depend on the mapping (energies per operation, fanouts, density models, format bits)
    is derived once.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.context = context_for(spec)

    def evaluate(self, mapping: LoopMapping) -> Evaluation:
        return _evaluate(dataclasses.replace(self.spec, mapping=mapping), self.context)


def _evaluate(spec: Spec, ctx: Context) -> Evaluation:
    if spec.mapping is None or spec.energies is None:
        raise ValueError("evaluate_spec needs a mapping and an energy table")
    artifact = ctx.artifact
    nest = analyse(spec.problem, spec.mapping, count_first_fill=artifact, meshes=ctx.fanouts)
    if ctx.sparse:
        try:
            tensors, compute, models = apply_sparsity(spec, nest, artifact=artifact, ctx=ctx)
            models.check_capacity()
        except SparsesweepError as exc:
            raise _locate(spec, exc) from exc
        if not ctx.spatial_skipping:
            check_fanout(spec, nest, ctx=ctx)
    else:
        check_fanout(spec, nest, ctx=ctx)
        tensors, compute = dense_counts(spec, nest)
        check_capacity(spec, nest, tensors)
    return finish(spec, nest, tensors, compute, ctx=ctx)


def artifact_semantics(spec: Spec) -> bool:
    """Inputs that use position-skipping follow the 2022 Sparseloop build's rules throughout (see
    :attr:`.context.Context.artifact`)."""
    return context_for(spec).artifact


def dense_counts(spec: Spec, nest: NestResult) -> tuple[tuple[tuple[TensorCounts, ...], ...], ComputeCounts]:
    levels = []
    for li in range(len(spec.arch.storage)):
        row = []
        for ds in spec.problem.dataspaces:
            tile = nest.tiles[ds.name][li]
            if not tile.kept:
                continue
            row.append(TensorCounts(
                dataspace=ds.name, instances=tile.instances, avg_instances=float(tile.instances),
                reads=OpCounts(tile.reads), fills=OpCounts(tile.fills), updates=OpCounts(tile.updates),
                algorithmic=(tile.reads, tile.fills, tile.updates),
                temporal_reductions=tile.reads if ds.read_write else 0.0))
        levels.append(tuple(row))
    compute = ComputeCounts(algorithmic=nest.macs, random=nest.macs, avg_instances=float(nest.compute_instances),
                            max_instances=nest.compute_instances)
    return tuple(levels), compute


def check_fanout(spec: Spec, nest: NestResult, expansion: Sequence[tuple[float, float]] | None = None, *,
                 ctx: Context | None = None) -> None:
    """Spatial factors must fit the hardware fanout (X and Y separately)."""
    assert spec.mapping is not None
    fanouts = (ctx or context_for(spec)).fanouts
    for li, lvl in enumerate(spec.mapping.levels):
        fx, fy = fanouts[li]
        if expansion is not None:
            used_x, used_y = expansion[li]
        else:
            used_x, used_y = lvl.spatial_product(True), lvl.spatial_product(False)
        if used_x > fx or used_y > fy:
            name = spec.arch.storage[li].name
            raise MappingError(
                f"spatial factors at '{name}' use {used_x:g} x {used_y:g} (X x Y) instances but the fanout is "
                f"{fx} x {fy}", file=_mapping_file(spec), key="mapping",
                fix=f"reduce the spatial factors of '{name}' or move some to the other axis with 'split'")


def check_capacity(spec: Spec, nest: NestResult, tensors: Sequence[Sequence[TensorCounts]],
                   occupancy: Sequence[dict[str, float]] | None = None) -> None:
    """Tiles kept at a level must fit its capacity."""
    for li, level in enumerate(spec.arch.storage):
        if level.size is None:
            continue
        used = 0.0
        for t in tensors[li]:
            if occupancy is not None:
                used += occupancy[li].get(t.dataspace, 0.0)
            else:
                used += nest.tiles[t.dataspace][li].size
        if used > level.size:
            raise MappingError(
                f"tiles at '{level.name}' need {used:g} words but it holds {level.size}",
                file=_mapping_file(spec), key="mapping",
                fix=f"use smaller factors at or below '{level.name}', or bypass a dataspace there")


def _locate(spec: Spec, exc: SparsesweepError) -> SparsesweepError:
    """Fill in the file an engine error belongs to (the engine raises them without one)."""
    if exc.file:
        return exc
    top = str(exc.key or "").split(".")[0].split(" ")[0]
    if isinstance(exc, MappingError) and top != "sparse_optimizations":
        top = "mapping"
    if top not in spec.bundle.data:
        top = "sparse_optimizations" if "sparse_optimizations" in spec.bundle.data else "problem"
    return exc.located(file=spec.bundle.doc_for(top).path)


def _mapping_file(spec: Spec) -> str:
    return context_for(spec).mapping_file


def finish(spec: Spec, nest: NestResult, tensors: tuple[tuple[TensorCounts, ...], ...],
           compute: ComputeCounts, *, ctx: Context | None = None) -> Evaluation:
    ctx = ctx or context_for(spec)
    cycles_compute = compute_cycles(compute)
    levels: dict[str, LevelResult] = {}
    c_energy = compute_energy(compute, ctx.compute_costs)
    levels[spec.arch.compute.name] = LevelResult(energy_pj=c_energy, cycles=cycles_compute, dataspaces={})
    total = c_energy
    per_level_cycles = []
    for level, costs, row in zip(spec.arch.storage, ctx.costs, tensors):
        dataspaces = {}
        level_energy = 0.0
        for t in row:
            energy = tensor_energy(t, costs)
            level_energy += energy
            dataspaces[t.dataspace] = DataspaceResult(
                energy_pj=energy, utilized_instances=t.instances,
                actual_reads_per_instance=round(t.reads.random),
                actual_fills_per_instance=round(t.fills.random),
                actual_updates_per_instance=round(t.updates.random))
        cyc = level_cycles(row, level, cycles_compute)
        per_level_cycles.append(cyc)
        levels[level.name] = LevelResult(energy_pj=level_energy, cycles=cyc, dataspaces=dataspaces)
        total += level_energy
    cycles = max([cycles_compute, *per_level_cycles])
    result = Result(source=SOURCE, energy_pj=total, cycles=cycles,
                    computes=Computes(algorithmic=compute.algorithmic, actual=compute.random, gated=compute.gated,
                                      skipped=compute.skipped),
                    levels=levels)
    return Evaluation(result=result, nest=nest, tensors=tensors, compute=compute,
                      level_cycles=tuple(per_level_cycles))
