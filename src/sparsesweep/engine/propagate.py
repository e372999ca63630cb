"""Combine representation formats and SAFs into fine-grained access counts.

Mirrors Sparseloop's storage-optimization combiner: (1) tensors with metadata at a
level only touch nonzeros; (2) a SAF moves a share of the target's reads and updates at
its level to gated/skipped, and removes the same share of every access of the inner
levels (down to the next level with its own SAF) and, for read-only operands that reach
the compute level, of the computes; (3) decompression/compression counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .compute_saf import round6
from .counts import OpCounts, new_counts

SPATIAL = ("spatial", "spatial+temporal")
Rank = list[float]  # [metadata units, payload units]
Ranks = Sequence[Sequence[float]]  # per rank (rank 0 innermost); tuples until first changed


def _zero_ranks(n: int) -> list[Rank]:
    return [[0.0, 0.0] for _ in range(n)]


def _mutable(ranks: Ranks) -> list[Rank]:
    return ranks if isinstance(ranks, list) else [list(r) for r in ranks]  # type: ignore[return-value]


@dataclass(slots=True)
class Fine:
    """Working fine-grained counts of one dataspace at one storage level (per instance).

    Metadata counts stay the (shared, immutable) per-rank tuples of the combiner input until a
    SAF changes them: :meth:`own_metadata` makes them lists first.
    """

    reads: float = 0.0
    fills: float = 0.0
    updates: float = 0.0
    gated_reads: float = 0.0
    skipped_reads: float = 0.0
    gated_updates: float = 0.0
    skipped_updates: float = 0.0
    md_reads: Ranks = ()  # random, per rank (rank 0 innermost)
    md_fills: Ranks = ()
    md_updates: Ranks = ()
    gated_md_reads: Ranks = ()  # all zeros until ``optimized``
    skipped_md_reads: Ranks = ()
    gated_md_updates: Ranks = ()
    skipped_md_updates: Ranks = ()
    temporal_reductions: float = 0.0
    decompressions: float = 0.0
    compressions: float = 0.0
    optimized: bool = False  # a SAF moved some metadata accesses here to gated/skipped

    def own_metadata(self) -> None:
        """Make the metadata counts this level's own, changeable lists."""
        self.md_reads = _mutable(self.md_reads)
        self.md_fills = _mutable(self.md_fills)
        self.md_updates = _mutable(self.md_updates)
        if not self.optimized:
            n = len(self.md_reads)
            self.gated_md_reads, self.skipped_md_reads = _zero_ranks(n), _zero_ranks(n)
            self.gated_md_updates, self.skipped_md_updates = _zero_ranks(n), _zero_ranks(n)

    def metadata_bits(self, bits: tuple[tuple[int, int], ...]) -> tuple[OpCounts, OpCounts, OpCounts]:
        """Metadata reads, fills and updates in bits, given each rank's (metadata, payload) word bits."""
        reads = _bits(self.md_reads, bits)
        fills = new_counts(OpCounts, (_bits(self.md_fills, bits), 0.0, 0.0))
        updates = _bits(self.md_updates, bits)
        if not self.optimized:  # the gated/skipped lists are all zeros
            return new_counts(OpCounts, (reads, 0.0, 0.0)), fills, new_counts(OpCounts, (updates, 0.0, 0.0))
        return (new_counts(OpCounts, (reads, _bits(self.gated_md_reads, bits), _bits(self.skipped_md_reads, bits))),
                fills,
                new_counts(OpCounts, (updates, _bits(self.gated_md_updates, bits),
                                      _bits(self.skipped_md_updates, bits))))


def _bits(ranks: Ranks, bits: tuple[tuple[int, int], ...]) -> float:
    total = 0
    for (md, pl), (md_bits, pl_bits) in zip(ranks, bits):
        total += md * md_bits + pl * pl_bits
    return float(total)


class LevelInput(NamedTuple):
    """What the combiner needs of one (level, dataspace)."""

    kept: bool
    read_write: bool
    reads: float  # dense (algorithmic) per instance
    fills: float
    updates: float
    has_metadata: bool
    compressed: bool
    expected_density: float  # expected tile density at this level
    md_reads: tuple[tuple[float, float], ...] = ()  # per rank, rank 0 innermost
    md_fills: tuple[tuple[float, float], ...] = ()
    md_updates: tuple[tuple[float, float], ...] = ()
    temporal_reductions: float = 0.0


@dataclass(frozen=True)
class SafPlan:
    """Per (level, dataspace): the SAF applied there, if any."""

    # "gated" | "skipped" | "spatial" | "spatial+temporal" (a spatial SAF with a temporal one that never
    # applies on the same tile: as "spatial", but Sparseloop leaves that level's temporal reductions unscaled)
    kind: dict[tuple[int, str], str]
    prob: dict[tuple[int, str], float]


@dataclass
class Combined:
    fine: dict[tuple[int, str], Fine]
    computes: float
    reach_compute: dict[str, float]  # RO dataspace -> rounded SAF probability that reached compute


def combine(levels: int, inputs: dict[tuple[int, str], LevelInput], plan: SafPlan, total_computes: float,
            dataspaces: list[str]) -> Combined:
    fine: dict[tuple[int, str], Fine] = {}
    for key, inp in inputs.items():
        reads, fills, updates = inp.reads, inp.fills, inp.updates
        if inp.has_metadata:
            sparsity = 1.0 - inp.expected_density
            reads = inp.reads - math.floor(inp.reads * sparsity)
            fills = inp.fills - math.floor(inp.fills * sparsity)
            if inp.read_write:
                updates = inp.updates - math.floor(inp.updates * sparsity)
        fine[key] = Fine(reads, fills, updates, 0.0, 0.0, 0.0, 0.0, inp.md_reads, inp.md_fills, inp.md_updates,
                         temporal_reductions=inp.temporal_reductions)
    computes = total_computes
    reach: dict[str, float] = {}
    for ds in dataspaces:
        finalized = [False] * levels
        rw = inputs[(0, ds)].read_write
        for lvl in range(levels - 1, -1, -1):
            kind = plan.kind.get((lvl, ds))
            if kind is None:
                continue
            p = plan.prob[(lvl, ds)]
            impacted = lvl - 1
            while impacted >= 0:
                f = fine[(impacted, ds)]
                f.fills -= math.floor(f.fills * p)
                f.reads -= math.floor(f.reads * p)
                f.updates -= math.floor(f.updates * p)
                if inputs[(impacted, ds)].has_metadata:
                    upper = len(fine[(lvl, ds)].md_reads) - 1
                    if upper >= 0 and min(len(f.md_fills), upper) == 0 and f.md_fills:
                        f.own_metadata()
                        _scale_rank0(f.md_fills, p)
                    if upper >= 0 and min(len(f.md_reads), upper) == 0 and f.md_reads:
                        f.own_metadata()
                        _scale_rank0(f.md_reads, p)
                local = plan.kind.get((impacted, ds))
                if local is not None:
                    # Sparseloop quirk: the level's random metadata reads become its metadata updates
                    # (undone at a level with only a spatial SAF: Sparseloop's last pass resets every
                    # level without a gating or skipping SAF to its propagated counts).
                    if local != "spatial":
                        f.own_metadata()
                        f.md_reads = [list(r) for r in f.md_updates]
                    if local not in SPATIAL:
                        effective = 1.0 - (1.0 - plan.prob[(impacted, ds)]) / (1.0 - p) if p < 1.0 else 1.0
                        _apply_local(f, inputs, fine, impacted, ds, effective, local)
                    finalized[impacted] = True
                    break
                impacted -= 1
            if not finalized[lvl]:
                finalized[lvl] = True
                if kind not in SPATIAL:
                    _apply_local(fine[(lvl, ds)], inputs, fine, lvl, ds, p, kind)
            if impacted < 0 and not rw:
                computes -= math.floor(computes * p)
                reach[ds] = round6(p)
        for lvl in range(levels):
            if plan.kind.get((lvl, ds)) in (None, "spatial"):
                f = fine[(lvl, ds)]
                inp = inputs[(lvl, ds)]
                f.temporal_reductions = 0.0 if inp.updates == 0 else math.ceil(
                    inp.temporal_reductions * f.updates / inp.updates - 1e-9)
    _de_compression(levels, inputs, fine, dataspaces)
    return Combined(fine=fine, computes=computes, reach_compute=reach)


def _scale_rank0(ranks: Ranks, p: float) -> None:
    ranks[0][0] -= math.floor(ranks[0][0] * p)
    ranks[0][1] -= math.floor(ranks[0][1] * p)


def _child(inputs: dict[tuple[int, str], LevelInput], lvl: int, ds: str) -> int | None:
    for li in range(lvl - 1, -1, -1):
        if inputs[(li, ds)].kept:
            return li
    return None


def _apply_local(f: Fine, inputs: dict[tuple[int, str], LevelInput], fine: dict[tuple[int, str], Fine],
                 lvl: int, ds: str, p: float, kind: str) -> None:
    inp = inputs[(lvl, ds)]
    delta = math.ceil(f.reads * p) if inp.read_write else math.floor(f.reads * p)
    if kind == "gated":
        f.gated_reads += delta
    else:
        f.skipped_reads += delta
    f.reads -= delta
    du = math.floor(f.updates * p)
    if kind == "gated":
        f.gated_updates += du
    else:
        f.skipped_updates += du
    f.updates -= du
    child = _child(inputs, lvl, ds)
    ranks = len(fine[(child, ds)].md_reads) if child is not None else len(f.md_reads)
    ranks = min(ranks, len(f.md_reads))
    f.own_metadata()
    md_r = f.gated_md_reads if kind == "gated" else f.skipped_md_reads
    md_u = f.gated_md_updates if kind == "gated" else f.skipped_md_updates
    f.optimized = f.optimized or ranks > 0
    for r in range(ranks):
        for t in (0, 1):
            d = math.floor(f.md_reads[r][t] * p)
            f.md_reads[r][t] -= d
            md_r[r][t] += d
            if r < len(f.md_updates):
                d = math.floor(f.md_updates[r][t] * p)
                f.md_updates[r][t] -= d
                md_u[r][t] += d
    if inp.kept and inp.read_write and inp.updates:
        f.temporal_reductions = math.ceil(f.temporal_reductions * f.updates / inp.updates - 1e-9)


def _de_compression(levels: int, inputs: dict[tuple[int, str], LevelInput], fine: dict[tuple[int, str], Fine],
                    dataspaces: list[str]) -> None:
    for ds in dataspaces:
        kept = [li for li in range(levels) if inputs[(li, ds)].kept]  # innermost first
        for i in range(len(kept) - 1, -1, -1):
            lvl = kept[i]
            inp = inputs[(lvl, ds)]
            if inp.compressed:
                continue
            if i + 1 < len(kept) and inputs[(kept[i + 1], ds)].compressed:  # the parent decompresses
                if inp.read_write:
                    fine[(lvl, ds)].compressions += fine[(kept[i + 1], ds)].updates
                fine[(lvl, ds)].decompressions += fine[(lvl, ds)].fills
