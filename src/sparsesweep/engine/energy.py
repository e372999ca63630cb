"""Energy: action counts x ERT energies, as Timeloop charges them.

Per storage tensor and instance, each data operation costs
``ceil(scalar count / block size) * ratio`` vector accesses at its action energy; each
metadata operation costs ``ceil(metadata bits / metadata storage width)`` accesses.
The level-tensor energy is the per-instance energy times the utilized instances.
"""

from __future__ import annotations

import math

from ..tl.arch import StorageLevel
from ..tl.ert import LevelEnergies
from .counts import ComputeCounts, OpCounts, TensorCounts

_DATA_OPS = (("reads", "read"), ("fills", "fill"), ("updates", "update"))


def _vectors(count: float, block: int) -> float:
    return float(math.ceil(count / block - 1e-9)) if count > 0 else 0.0


def _md_vectors(bits: float, width: int) -> float:
    if width <= 0 or bits <= 0:
        return 0.0
    return float(math.ceil(bits / width - 1e-9))


def tensor_energy(t: TensorCounts, level: StorageLevel, e: LevelEnergies) -> float:
    """Total energy (pJ) of one tensor at one storage level: per instance x average utilized instances."""
    per_instance = 0.0
    for attr, op in _DATA_OPS:
        counts: OpCounts = getattr(t, attr)
        per_instance += _vectors(counts.random, level.block_size) * t.vector_ratio * e.op(f"random_{op}")
        per_instance += _vectors(counts.gated, level.block_size) * t.vector_ratio * e.op(f"gated_{op}")
        per_instance += _vectors(counts.skipped, level.block_size) * t.vector_ratio * e.op(f"skipped_{op}")
        md: OpCounts = getattr(t, f"md_{attr}")
        width = level.md_storage_width
        per_instance += _md_vectors(md.random, width) * e.op(f"random_metadata_{op}")
        per_instance += _md_vectors(md.gated, width) * e.op(f"gated_metadata_{op}")
        per_instance += _md_vectors(md.skipped, width) * e.op(f"skipped_metadata_{op}")
    per_instance += t.decompressions * e.op("decompression_count")
    per_instance += t.compressions * e.op("compression_count")
    return per_instance * t.avg_instances + address_generation_energy(t, level)


def address_generation_energy(t: TensorCounts, level: StorageLevel) -> float:
    """Only when the architecture gives ``addr_gen_energy`` (pJ per address)."""
    energy = level.attributes.get("addr_gen_energy")
    if not energy:
        return 0.0
    reads, fills, updates = t.reads.total, t.fills.total, t.updates.total
    generations = (updates + fills) if updates else (reads + fills)
    return float(energy) * generations * t.instances


def compute_energy(c: ComputeCounts, e: LevelEnergies) -> float:
    """Energy (pJ) of the arithmetic level."""
    return (c.random * e.op("random_compute") + c.gated * e.op("gated_compute")
            + c.skipped * e.op("skipped_compute"))
