"""Energy: action counts x ERT energies, as Timeloop charges them.

Per storage tensor and instance, each data operation costs
``ceil(scalar count / block size) * ratio`` vector accesses at its action energy; each
metadata operation costs ``ceil(metadata bits / metadata storage width)`` accesses.
The level-tensor energy is the per-instance energy times the utilized instances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..tl.arch import StorageLevel
from ..tl.ert import LevelEnergies
from .counts import ComputeCounts, TensorCounts

_OPS = ("read", "fill", "update")
_SPLITS = ("random", "gated", "skipped")
Split = tuple[float, float, float]  # energy (pJ) of a random, gated and skipped access


@dataclass(frozen=True)
class LevelCosts:
    """A storage level's access energies (pJ), resolved once per spec."""

    block_size: int  # words per vector access
    md_width: int  # bits per metadata storage access (0: no metadata storage)
    data: tuple[Split, Split, Split]  # reads, fills, updates
    metadata: tuple[Split, Split, Split]  # metadata reads, fills, updates
    decompression: float
    compression: float
    addr_gen: float  # pJ per generated address (0: not modelled)


def level_costs(level: StorageLevel, e: LevelEnergies) -> LevelCosts:
    """Look every operation of ``level`` up in its energy table (Timeloop's fallbacks)."""
    data = tuple(tuple(e.op(f"{split}_{op}") for split in _SPLITS) for op in _OPS)
    metadata = tuple(tuple(e.op(f"{split}_metadata_{op}") for split in _SPLITS) for op in _OPS)
    addr_gen = level.attributes.get("addr_gen_energy")
    return LevelCosts(level.block_size, level.md_storage_width, data, metadata,
                      e.op("decompression_count"), e.op("compression_count"), float(addr_gen) if addr_gen else 0.0)


def compute_costs(e: LevelEnergies) -> Split:
    """Energy (pJ) of a random, gated and skipped compute."""
    return e.op("random_compute"), e.op("gated_compute"), e.op("skipped_compute")


def _vectors(count: float, block: int) -> float:
    return float(math.ceil(count / block - 1e-9)) if count > 0 else 0.0


def _md_vectors(bits: float, width: int) -> float:
    if width <= 0 or bits <= 0:
        return 0.0
    return float(math.ceil(bits / width - 1e-9))


def tensor_energy(t: TensorCounts, costs: LevelCosts) -> float:
    """Total energy (pJ) of one tensor at one storage level: per instance x average utilized instances.

    Terms are added in a fixed order (data then metadata, per operation: random, gated,
    skipped); zero counts add nothing, so they are skipped.
    """
    per_instance = 0.0
    block, width, ratio = costs.block_size, costs.md_width, t.vector_ratio
    for counts, md, energy, md_energy in ((t.reads, t.md_reads, costs.data[0], costs.metadata[0]),
                                          (t.fills, t.md_fills, costs.data[1], costs.metadata[1]),
                                          (t.updates, t.md_updates, costs.data[2], costs.metadata[2])):
        if counts.random:
            per_instance += _vectors(counts.random, block) * ratio * energy[0]
        if counts.gated:
            per_instance += _vectors(counts.gated, block) * ratio * energy[1]
        if counts.skipped:
            per_instance += _vectors(counts.skipped, block) * ratio * energy[2]
        if md.random:
            per_instance += _md_vectors(md.random, width) * md_energy[0]
        if md.gated:
            per_instance += _md_vectors(md.gated, width) * md_energy[1]
        if md.skipped:
            per_instance += _md_vectors(md.skipped, width) * md_energy[2]
    if t.decompressions:
        per_instance += t.decompressions * costs.decompression
    if t.compressions:
        per_instance += t.compressions * costs.compression
    return per_instance * t.avg_instances + address_generation_energy(t, costs.addr_gen)


def metadata_energy(t: TensorCounts, costs: LevelCosts) -> float:
    """The metadata part (pJ) of :func:`tensor_energy`: metadata reads, fills and updates only."""
    per_instance = 0.0
    width = costs.md_width
    for md, md_energy in ((t.md_reads, costs.metadata[0]), (t.md_fills, costs.metadata[1]),
                          (t.md_updates, costs.metadata[2])):
        for count, energy in ((md.random, md_energy[0]), (md.gated, md_energy[1]), (md.skipped, md_energy[2])):
            if count:
                per_instance += _md_vectors(count, width) * energy
    return per_instance * t.avg_instances


def address_generation_energy(t: TensorCounts, energy: float) -> float:
    """Only when the architecture gives ``addr_gen_energy`` (pJ per address)."""
    if not energy:
        return 0.0
    reads, fills, updates = t.reads.total, t.fills.total, t.updates.total
    generations = (updates + fills) if updates else (reads + fills)
    return energy * generations * t.instances


def compute_energy(c: ComputeCounts, costs: Split) -> float:
    """Energy (pJ) of the arithmetic level."""
    return c.random * costs[0] + c.gated * costs[1] + c.skipped * costs[2]

