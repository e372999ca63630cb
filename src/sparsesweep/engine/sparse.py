"""The sparse pipeline: formats and densities -> SAFs -> combined counts -> computes.

Order follows Sparseloop: representation formats (metadata occupancy and accesses),
storage SAF probabilities (temporal gating/skipping, spatial skipping), the combiner
(data-representation impact, SAF propagation, de/compression), then the compute split.
"""

from __future__ import annotations

import math

from ..errors import SpecError
from ..tl.spec import Spec
from .context import Context, context_for
from .compute_saf import Operand, split_computes
from .counts import ComputeCounts, OpCounts, TensorCounts, new_counts
from .oracle import SparseModels
from .formats import TileFormat
from .nest import NestResult, TileStats
from .placement import check_placement
from .propagate import SPATIAL, Combined, Fine, SafPlan, combine
from .saf import Storage, temporal_saf_probability
from .spatial import SpatialSaf, apply_saf, initialize, summarize

Levels = tuple[tuple[TensorCounts, ...], ...]
_SAF_NAMES = {"gated": "gating", "skipped": "skipping"}
# One kept tensor's combined counts: reads, fills, updates, metadata bits read, filled and updated,
# temporal reductions, decompressions, compressions.
Combination = tuple[OpCounts, OpCounts, OpCounts, OpCounts, OpCounts, OpCounts, float, float, float]


def apply_sparsity(spec: Spec, nest: NestResult, *, artifact: bool = False, ctx: Context | None = None
                   ) -> tuple[Levels, ComputeCounts, SparseModels]:
    """Sparse counts of every kept tensor and of the computes (``artifact``: 2022 build rules)."""
    if spec.mapping is None:
        raise ValueError("apply_sparsity needs a mapping")
    ctx = ctx or context_for(spec)
    problem, arch = spec.problem, spec.arch
    n = len(arch.storage)
    names = ctx.dataspace_names
    models = SparseModels.build(spec, nest, artifact=artifact, static=ctx.format_static)
    cnest = models.formats.nest
    tiles = models.formats.dataspaces
    storage = Storage(
        kept={d: tuple(t.kept for t in nest.tiles[d]) for d in names},
        metadata={d: tuple(tf is not None and tf.has_metadata for tf in tiles[d].tiles) for d in names},
        block_size=ctx.block_sizes)
    plan, spatial_safs, position = _plan_safs(spec, ctx, cnest, storage, models)
    kind, prob = plan.kind, plan.prob
    skipping = None
    if spatial_safs:
        skipping = initialize(problem, cnest, storage, models)
        for ssaf in spatial_safs:
            apply_saf(problem, cnest, storage, models, skipping, ssaf, arch.storage[ssaf.level].name)
        probs = summarize(problem, cnest, skipping, ctx.fanouts, arch, ctx.mapping_file)
        for ssaf in spatial_safs:
            key = (ssaf.level, ssaf.target)
            spatial = "spatial"
            if kind.get(key) in SPATIAL:
                raise SpecError(f"two skipping-spatial SAFs of '{ssaf.target}' at '{arch.storage[ssaf.level].name}'",
                                key="sparse_optimizations", fix="keep one of the two SAFs")
            if key in kind:
                # Sparseloop aborts on a temporal and a spatial SAF of one tile ("not supported") unless
                # the temporal one never applies (probability 0); the spatial one then rules, but the
                # level keeps its temporal reductions unscaled (it is not among the levels without one).
                if prob[key] != 0.0:
                    raise SpecError(f"{_SAF_NAMES[kind[key]]} and skipping-spatial of '{ssaf.target}' at "
                                    f"'{arch.storage[ssaf.level].name}': Timeloop does not support a temporal "
                                    f"and a spatial SAF of one tensor at one level (it aborts)",
                                    key="sparse_optimizations", fix="keep one of the two SAFs")
                spatial = "spatial+temporal"
            kind[key], prob[key] = spatial, probs[ssaf.target][ssaf.level]
    check_placement(arch.storage, {d.name: d.read_write for d in problem.dataspaces}, storage.kept, tiles)
    # Only the dataspaces some SAF acts on need the combiner's fine-grained propagation.
    acted = {ds for _, ds in kind}
    inputs = {}
    for ds in problem.dataspaces:
        if ds.name in acted:
            for li in range(n):
                inputs[(li, ds.name)] = models.level_input(li, ds, nest.tiles[ds.name][li])
    combined = combine(n, inputs, plan, float(nest.macs), [d for d in names if d in acted])
    compute = _computes(spec, ctx, nest, models, combined, skipping)
    levels = _tensor_counts(spec, nest, models, combined, skipping)
    if position:
        from .position import apply_position_skipping

        levels, compute = apply_position_skipping(spec, nest, models, levels, compute, position)
    return levels, compute, models


def _plan_safs(spec: Spec, ctx: Context, cnest, storage: Storage, models: SparseModels
               ) -> tuple[SafPlan, list[SpatialSaf], list[tuple[int, str]]]:
    """Gating/skipping probabilities per (level, dataspace), the spatial-skipping SAFs and the
    position-skipping targets.  A SAF with several options keeps the one that saves the most
    read energy; two SAFs on one tensor at one level keep the larger probability (gating on a tie)."""
    plan = SafPlan(kind={}, prob={})
    spatial_safs: list[SpatialSaf] = []
    position: list[tuple[int, str]] = []
    temporal: list[tuple[str, int, str]] = []  # (kind, level, target) of the gating and skipping SAFs
    for li, level, safs in ctx.level_safs:
        for saf in safs:
            if saf.kind == "position_skipping":
                position.extend((li, t) for t, _ in saf.options)
            elif saf.kind == "skipping_spatial":
                if len(saf.options) != 1:
                    raise SpecError("skipping-spatial with several options is not supported",
                                    key=f"sparse_optimizations ({level.name})", fix="give one target per SAF")
                target, leaders = saf.options[0]
                spatial_safs.append(SpatialSaf(li, target, leaders))
            else:
                lvl, target, p = _best_option(spec, cnest, storage, models, li, level.name, saf)
                temporal.append((saf.kind, lvl, target))
                key = (lvl, target)
                kind = "gated" if saf.kind == "gating" else "skipped"
                # Timeloop master keeps gating when a gating and a skipping SAF of one tensor tie,
                # whichever is listed first (checked on both orders with real timeloop-model).
                if key not in plan.kind or plan.prob[key] < p or (plan.prob[key] == p and kind == "gated"):
                    plan.kind[key], plan.prob[key] = kind, p
    spatial = {(ssaf.level, ssaf.target) for ssaf in spatial_safs}
    for kind_name, lvl, target in temporal:  # a spatial SAF of the tile rules there (see apply_sparsity)
        if (lvl, target) not in spatial:
            _check_child_metadata(spec, storage, kind_name, lvl, target)
    return plan, spatial_safs, position


def _check_child_metadata(spec: Spec, storage: Storage, kind: str, lvl: int, target: str) -> None:
    """Timeloop master crashes (SIGSEGV) on a gating or skipping SAF of a tensor at a level that keeps
    it without metadata when the next inner level keeping it has metadata (whatever the leaders)."""
    child = storage.child(target, lvl)
    if child >= 0 and storage.metadata[target][child] and not storage.metadata[target][lvl]:
        name, inner = spec.arch.storage[lvl].name, spec.arch.storage[child].name
        raise SpecError(f"{kind} of '{target}' at '{name}' (no representation format of '{target}' there) above "
                        f"'{inner}' (with one): Timeloop crashes on this (SIGSEGV)",
                        key=f"sparse_optimizations ({name})",
                        fix=f"give '{target}' a representation format at '{name}' too, or drop the SAF")


def _best_option(spec: Spec, cnest, storage: Storage, models: SparseModels, li: int, level: str,
                 saf) -> tuple[int, str, float]:
    """(optimized level, target, probability) of the option of ``saf`` that saves the most."""
    best: tuple[float, int, str, float] | None = None
    for target, leaders in saf.options:
        found = temporal_saf_probability(spec.problem, cnest, storage, models, li, target, leaders)
        if found is None:
            raise SpecError(f"{saf.kind} of '{target}' at '{level}': no level at or above it keeps '{target}'",
                            key=f"sparse_optimizations ({level})",
                            fix=f"keep '{target}' at '{level}' or above, or drop the SAF")
        lvl, p = found
        if len(saf.options) == 1:  # nothing to rank
            return lvl, target, p
        block = spec.arch.storage[lvl].block_size
        savings = models.read_energy(lvl) / block * models.saf_occupancy(lvl, target) * p
        if best is None or savings >= best[0]:
            best = (savings, lvl, target, p)
    if best is None:  # the parser refuses SAFs without options
        raise SpecError(f"{saf.kind} at '{level}' has no options", key=f"sparse_optimizations ({level})",
                        fix="give at least one {target, condition_on} option")
    return best[1], best[2], best[3]


def _computes(spec: Spec, ctx: Context, nest: NestResult, models: SparseModels, combined: Combined,
              skipping) -> ComputeCounts:
    problem = spec.problem
    operands = ctx.operands
    total = combined.computes
    avg = float(nest.compute_instances)
    if skipping is not None:
        # Sparseloop keeps the compute level's average utilized instances as an integer.
        avg = float(math.floor(nest.compute_instances * skipping.compute_avg_ratio))
    max_inst = nest.compute_instances
    if skipping is not None:
        max_inst = round(max(skipping.max_x[d.name][0] * skipping.max_y[d.name][0] for d in problem.dataspaces))
    if len(operands) != 2:
        if avg == 0 and total > 0:
            _no_busy_compute(spec, nest)
        return ComputeCounts(algorithmic=nest.macs, random=int(total), avg_instances=avg, max_instances=max_inst)
    ops = []
    for ds in operands:
        has_metadata = False
        for li, t in enumerate(nest.tiles[ds.name]):
            if t.kept:  # the innermost level keeping the operand
                has_metadata = models.has_metadata(li, ds.name)
                break
        ops.append(Operand(ds.name, models.operand_density(ds), has_metadata, combined.reach_compute.get(ds.name)))
    split = split_computes(total, ops[0], ops[1], "gating" in spec.sparse.compute, "skipping" in spec.sparse.compute)
    if avg == 0 and split.random + split.gated > 0:
        _no_busy_compute(spec, nest)
    return ComputeCounts(algorithmic=nest.macs, random=split.random, gated=split.gated, skipped=split.skipped,
                         avg_instances=avg, max_instances=max_inst)


def _no_busy_compute(spec: Spec, nest: NestResult) -> None:
    # Sparseloop keeps the average as an integer, divides the computes by it and prints an overflowed
    # cycle count (2**63): there is no cycle count to agree with.
    raise SpecError(f"skipping-spatial leaves on average fewer than one of the {nest.compute_instances} "
                    f"'{spec.arch.compute.name}' instances busy: Timeloop rounds that average down to 0 and its "
                    f"cycle count overflows", key="sparse_optimizations",
                    fix="spread the computes over more instances or drop a skipping-spatial SAF")


def _tensor_counts(spec: Spec, nest: NestResult, models: SparseModels, combined: Combined, skipping) -> Levels:
    n = len(spec.arch.storage)
    fine = combined.fine
    formats = models.formats.dataspaces
    rows: list[list[TensorCounts]] = [[] for _ in range(n)]
    plain_blocks = models.artifact  # no partial-block correction (see SparseModels.vector_ratio)
    for ds in spec.problem.dataspaces:
        name = ds.name
        tiles, tfs = nest.tiles[name], formats[name].tiles
        direct = None if (0, name) in fine else direct_counts(ds.read_write, tiles, tfs)
        for li in range(n):
            tile = tiles[li]
            if not tile.kept:
                continue
            tf = tfs[li]
            instances, avg = tile.instances, tile.instances * (tf.instance_scale if tf is not None else 1.0)
            if skipping is not None:
                a = li + 1
                instances = round(skipping.max_x[name][a] * skipping.max_y[name][a])
                avg = tile.instances * skipping.avg[name][a]
            counts = direct[li] if direct is not None else fine_counts(fine[(li, name)], tf)
            reads, fills, updates, md_reads, md_fills, md_updates, reductions, decompressions, compressions = counts
            rows[li].append(new_counts(TensorCounts, (
                name, instances, avg, reads, fills, updates, md_reads, md_fills, md_updates,
                1.0 if plain_blocks or tf is None or not tf.compressed else models.vector_ratio(li, name),
                (tile.reads, tile.fills, tile.updates), reductions, decompressions, compressions)))
    return tuple(tuple(row) for row in rows)


def fine_counts(f: Fine, tf: TileFormat | None) -> Combination:
    """The combiner's counts of one kept tensor (a :data:`Combination`)."""
    md = f.metadata_bits(tf.bits) if tf is not None and tf.has_metadata else _NO_METADATA
    return (new_counts(OpCounts, (f.reads, f.gated_reads, f.skipped_reads)), new_counts(OpCounts, (f.fills, 0.0, 0.0)),
            new_counts(OpCounts, (f.updates, f.gated_updates, f.skipped_updates)), *md, f.temporal_reductions,
            f.decompressions, f.compressions)


def direct_counts(read_write: bool, tiles: tuple[TileStats, ...], formats: tuple[TileFormat | None, ...]
                  ) -> list[Combination | None]:
    """What the combiner gives a dataspace that no SAF acts on, per level (None: bypassed).

    Per level a :data:`Combination`.  A tensor with metadata only touches its nonzeros; a level
    below a compressed one decompresses its fills (and compresses its parent's updates).
    """
    floor, ceil = math.floor, math.ceil
    out: list[Combination | None] = [None] * len(tiles)
    parent_compressed, parent_updates = False, 0.0  # the next outer level keeping the tensor
    for li in range(len(tiles) - 1, -1, -1):
        tile = tiles[li]
        if not tile.kept:
            continue
        tf = formats[li]
        reads, fills, updates = tile.reads, tile.fills, tile.updates
        md = _NO_METADATA
        if tf is not None and tf.has_metadata:
            sparsity = 1.0 - tf.expected_density
            reads -= floor(reads * sparsity)
            fills -= floor(fills * sparsity)
            if read_write:
                updates -= floor(updates * sparsity)
            md = (new_counts(OpCounts, (tf.access_bits(tile.reads), 0.0, 0.0)),
                  new_counts(OpCounts, (tf.access_bits(tile.fills), 0.0, 0.0)),
                  new_counts(OpCounts, (tf.access_bits(tile.updates), 0.0, 0.0)))
        reductions = 0.0 if not tile.updates else ceil((tile.reads if read_write else 0.0) * updates / tile.updates
                                                       - 1e-9)
        decompressions = compressions = 0.0
        compressed = tf is not None and tf.compressed
        if parent_compressed and not compressed:
            if read_write:
                compressions += parent_updates
            decompressions += fills
        out[li] = (new_counts(OpCounts, (reads, 0.0, 0.0)), new_counts(OpCounts, (fills, 0.0, 0.0)),
                   new_counts(OpCounts, (updates, 0.0, 0.0)), *md, reductions, decompressions, compressions)
        parent_compressed, parent_updates = compressed, updates
    return out


_NO_METADATA = (OpCounts(), OpCounts(), OpCounts())
