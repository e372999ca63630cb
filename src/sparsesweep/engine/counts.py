"""Typed action counts shared by the sparse analysis, energy and cycle models."""

from __future__ import annotations

from dataclasses import dataclass, field

OPS = ("reads", "fills", "updates")


@dataclass(frozen=True)
class OpCounts:
    """Scalar (or metadata-bit) counts of one access type, split by what happens to them."""

    random: float = 0.0  # performed
    gated: float = 0.0  # gated: cost gated energy and bandwidth, no data moved
    skipped: float = 0.0  # skipped: cost skipped energy (falls back to gated), no bandwidth

    @property
    def total(self) -> float:
        return self.random + self.gated + self.skipped


@dataclass(frozen=True)
class RankCounts:
    """Metadata and payload units of one format rank for one access type."""

    metadata: float = 0.0
    payload: float = 0.0


@dataclass(frozen=True)
class TensorCounts:
    """One dataspace kept at one storage level: per-instance counts after sparsity."""

    dataspace: str
    instances: int  # utilized instances (max): energy multiplies by this
    avg_instances: float  # utilized instances (average), for bandwidth scaling
    reads: OpCounts = field(default_factory=OpCounts)
    fills: OpCounts = field(default_factory=OpCounts)
    updates: OpCounts = field(default_factory=OpCounts)
    # metadata bits moved per access type (sum over ranks of word bits x units)
    md_reads: OpCounts = field(default_factory=OpCounts)
    md_fills: OpCounts = field(default_factory=OpCounts)
    md_updates: OpCounts = field(default_factory=OpCounts)
    vector_ratio: float = 1.0  # extra vector accesses for partially filled compressed blocks
    algorithmic: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dense reads, fills, updates
    temporal_reductions: float = 0.0
    decompressions: float = 0.0
    compressions: float = 0.0


@dataclass(frozen=True)
class ComputeCounts:
    algorithmic: int
    random: int  # actual computes
    gated: int = 0
    skipped: int = 0
    avg_instances: float = 1.0  # average utilized compute instances (cycles divide by this)
    max_instances: int = 1
