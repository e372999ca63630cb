"""Cycles: compute cycles, and each storage level's bandwidth-limited cycles.

Compute takes ``ceil((actual + gated computes) / average utilized instances)`` cycles.
A storage level slows the run down when its per-instance read or write demand (words
per compute cycle; metadata counted in data words, truncated) exceeds its bandwidth.
The slowest level sets the total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..tl.arch import StorageLevel
from .counts import ComputeCounts, TensorCounts


def compute_cycles(c: ComputeCounts) -> int:
    work = c.random + c.gated
    if work <= 0:
        return 0
    return math.ceil(work / c.avg_instances - 1e-9)


def level_cycles(tensors: Sequence[TensorCounts], level: StorageLevel, cycles: int) -> int:
    """Cycles of one storage level given the compute cycles.

    As Timeloop's ``BufferLevel::ComputePerformance``: per dataspace, whole accesses (data plus
    metadata bits in whole data words) divided by the ratio of its utilized instances (max / average)
    and rounded up, then words per compute cycle summed over dataspaces; the slowdown is the tightest
    bandwidth over demand ratio, and the level takes ``ceil(compute cycles / slowdown)`` cycles.
    """
    if cycles <= 0:
        return cycles
    read = write = 0.0
    for t in tensors:
        if not t.avg_instances:  # Timeloop divides by max / 0 = infinity: no demand
            continue
        scale = t.instances / t.avg_instances
        r = int(t.reads.random + t.reads.gated) + int(t.md_reads.random + t.md_reads.gated) // level.word_bits
        md_write = int(t.md_fills.random + t.md_fills.gated + t.md_updates.random + t.md_updates.gated)
        w = int(t.fills.random + t.fills.gated + t.updates.random + t.updates.gated) + md_write // level.word_bits
        read += math.ceil(r / scale) / cycles
        write += math.ceil(w / scale) / cycles
    slowdown = 1.0
    if level.read_bw is not None and level.read_bw < read:
        slowdown = min(slowdown, level.read_bw / read)
    if level.write_bw is not None and level.write_bw < write:
        slowdown = min(slowdown, level.write_bw / write)
    if level.shared_bw is not None and level.shared_bw < read + write:
        slowdown = min(slowdown, level.shared_bw / (read + write))
    return math.ceil(cycles / slowdown)
