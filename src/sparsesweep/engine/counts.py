"""Typed action counts shared by the sparse analysis, energy and cycle models."""

from __future__ import annotations

from typing import NamedTuple

OPS = ("reads", "fills", "updates")
# ``new_counts(OpCounts, (random, gated, skipped))`` builds a counts tuple without the
# NamedTuple's Python-level ``__new__`` (every field given, in order): twice as fast, for the
# hot paths that build several per tensor and evaluation.
new_counts = tuple.__new__


class OpCounts(NamedTuple):
    """Scalar (or metadata-bit) counts of one access type, split by what happens to them."""

    random: float = 0.0  # performed
    gated: float = 0.0  # gated: cost gated energy and bandwidth, no data moved
    skipped: float = 0.0  # skipped: cost skipped energy (falls back to gated), no bandwidth

    @property
    def total(self) -> float:
        return self.random + self.gated + self.skipped


class RankCounts(NamedTuple):
    """Metadata and payload units of one format rank for one access type."""

    metadata: float = 0.0
    payload: float = 0.0


class TensorCounts(NamedTuple):
    """One dataspace kept at one storage level: per-instance counts after sparsity."""

    dataspace: str
    instances: int  # utilized instances (max): energy multiplies by this
    avg_instances: float  # utilized instances (average), for bandwidth scaling
    reads: OpCounts = OpCounts()
    fills: OpCounts = OpCounts()
    updates: OpCounts = OpCounts()
    # metadata bits moved per access type (sum over ranks of word bits x units)
    md_reads: OpCounts = OpCounts()
    md_fills: OpCounts = OpCounts()
    md_updates: OpCounts = OpCounts()
    vector_ratio: float = 1.0  # extra vector accesses for partially filled compressed blocks
    algorithmic: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dense reads, fills, updates
    temporal_reductions: float = 0.0
    decompressions: float = 0.0
    compressions: float = 0.0


class ComputeCounts(NamedTuple):
    algorithmic: int
    random: int  # actual computes
    gated: int = 0
    skipped: int = 0
    avg_instances: float = 1.0  # average utilized compute instances (cycles divide by this)
    max_instances: int = 1
