"""Vectorised dense model of many candidate mappings at once (numpy, no Python per candidate).

It is the closed form of the engine's dense analysis (:mod:`sparsesweep.engine.nest`):
tile sizes from the projections, deliveries from the innermost relevant temporal loop
outward (for sliding-window tensors, the closed form of the engine's delta count, halo reuse
across loops that leave the tile in place included: :mod:`.deliveries`), multicast / spatial reduction, masking
of bypassed levels, partition sizes and first-read elision, then energy (vector accesses x
ERT energies) and bandwidth cycles.
It reproduces the engine's dense nest analysis on every reference mapping; multicast of a
spatial loop pair that shares one coupled rank is counted as if the pair's positions were all
distinct (an over-estimate the exact evaluation of the finalists corrects), and neighbour links
at the compute fanout are counted for the spatial loop order the mapper writes (an input
mapping may order its spatial loops otherwise).
Sparse effects enter as per-(level, tensor) scale factors (:class:`Scales`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tl.spec import Spec
from .constraints import Constraints
from .deliveries import link_savings, sliding_windows
from .tlcheck import LevelOrderRules, order_rules, penalty


@dataclass(frozen=True)
class Batch:
    """Candidate mappings as arrays (C candidates, n storage levels, D dims, T tensors)."""

    temporal: np.ndarray  # (C, n, D) temporal factor per level and dim
    spatial: np.ndarray  # (C, n, D) spatial factor per level and dim
    rank: np.ndarray  # (C, n, D) position of each dim in the level's temporal order (0 = innermost)
    xaxis: np.ndarray  # (C, n, D) spatial dim on the X axis
    keep: np.ndarray  # (C, n, T) tensor kept at the level

    def __len__(self) -> int:
        return int(self.temporal.shape[0])

    def __getitem__(self, sl: slice) -> Batch:
        return Batch(self.temporal[sl], self.spatial[sl], self.rank[sl], self.xaxis[sl], self.keep[sl])

    def take(self, idx: np.ndarray) -> Batch:
        return Batch(self.temporal[idx], self.spatial[idx], self.rank[idx], self.xaxis[idx], self.keep[idx])

    @staticmethod
    def empty(n: int, dims: int, tensors: int) -> Batch:
        z = np.ones((0, n, dims), dtype=np.int64)
        return Batch(z, z.copy(), z.astype(np.int16), z.astype(bool), np.zeros((0, n, tensors), dtype=bool))

    @staticmethod
    def concat(parts: list[Batch]) -> Batch:
        return Batch(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                       ("temporal", "spatial", "rank", "xaxis", "keep")))


@dataclass(frozen=True)
class Tables:
    """Per-point constants of the model."""

    n: int
    dims: int
    rel: np.ndarray  # (T, D) dim appears in the tensor's projection
    ranks: tuple[tuple[tuple[tuple[int, int], ...], ...], ...]  # per tensor, per rank: (dim, coef)
    rw: np.ndarray  # (T,) read-write tensor
    block: np.ndarray  # (n,) words per vector access
    capacity: np.ndarray  # (n,) words (inf = unbounded)
    e_read: np.ndarray  # (n,) pJ per vector access
    e_fill: np.ndarray
    e_update: np.ndarray
    e_compute: float
    read_bw: np.ndarray  # (n,) words/cycle (inf = unlimited)
    write_bw: np.ndarray
    shared_bw: np.ndarray
    macs: int
    occupancy: np.ndarray  # (n, T) fraction of a dense tile a kept tensor occupies (compressed < 1)
    nnz_cap: np.ndarray  # (n, T) words a compressed tile never exceeds (its tensor's nonzeros; inf = none)
    fan_x: np.ndarray  # (n,) spatial X limit per level (relaxed by spatial skipping)
    fan_y: np.ndarray
    fan_total: np.ndarray  # (n,)
    compute_instances: int
    min_utilization: float
    links: np.ndarray  # (T,) neighbour links may carry the tensor at the compute fanout (uncoupled, allowed)
    mesh0: tuple[int, int]  # physical (fanoutX, fanoutY) of the innermost level to the compute units
    spatial0: object  # the innermost level's spatial SlotRule (how candidates order their spatial loops)
    literal: tuple[LevelOrderRules, ...] = ()  # the order rules timeloop-model checks (see .tlcheck)


def tables(spec: Spec, rules: Constraints) -> Tables:
    arch, problem = spec.arch, spec.problem
    assert spec.energies is not None
    n, dims = len(arch.storage), len(problem.dims)
    ds = problem.dataspaces
    rel = np.array([[d.relevant(i) for i in range(dims)] for d in ds], dtype=bool)
    ranks = tuple(tuple(tuple((t.dim, t.coef) for t in rank) for rank in d.ranks) for d in ds)
    energies = [spec.energies.level(s.name) for s in arch.storage]
    inf = float("inf")
    occupancy = np.ones((n, len(ds)))
    nnz_cap = np.full((n, len(ds)), inf)
    fan_x, fan_y, fan_total = np.zeros(n), np.zeros(n), np.zeros(n)
    for li, level in enumerate(arch.storage):
        sparse = spec.sparse.at(level.name)
        for ti, d in enumerate(ds):
            rep = sparse.formats.get(d.name)
            if rep is not None and rep.has_metadata:
                # Capacity is checked at the worst case (confidence 1): a fixed-structured tile holds
                # its density's share, a hypergeometric one up to every nonzero of the tensor.
                density = problem.density_of(d.name)
                if density.distribution == "fixed_structured":
                    occupancy[li, ti] = density.density
                elif density.distribution == "hypergeometric":
                    nnz_cap[li, ti] = np.ceil(density.density * problem.tensor_size(d))
        relax = 1.0
        for saf in sparse.safs:
            if saf.kind in ("skipping_spatial", "spatial_skipping"):
                for _, leaders in saf.options:
                    dens = float(np.prod([problem.density_of(x).density for x in leaders])) if leaders else 1.0
                    relax = max(relax, 1.0 / dens)
        fx, fy = arch.fanout(li)
        fan_x[li], fan_y[li] = np.floor(fx * relax + 1e-9), np.floor(fy * relax + 1e-9)
        fan_total[li] = np.floor(fx * fy * relax + 1e-9)
    return Tables(
        n=n, dims=dims, rel=rel, ranks=ranks, rw=np.array([d.read_write for d in ds]),
        block=np.array([s.block_size for s in arch.storage], dtype=float),
        capacity=np.array([s.size if s.size is not None else inf for s in arch.storage], dtype=float),
        e_read=np.array([e.op("random_read") for e in energies]),
        e_fill=np.array([e.op("random_fill") for e in energies]),
        e_update=np.array([e.op("random_update") for e in energies]),
        e_compute=spec.energies.level(arch.compute.name).op("random_compute"),
        read_bw=np.array([s.read_bw if s.read_bw is not None else inf for s in arch.storage]),
        write_bw=np.array([s.write_bw if s.write_bw is not None else inf for s in arch.storage]),
        shared_bw=np.array([s.shared_bw if s.shared_bw is not None else inf for s in arch.storage]),
        macs=problem.macs, occupancy=occupancy, nnz_cap=nnz_cap, fan_x=fan_x, fan_y=fan_y, fan_total=fan_total,
        compute_instances=arch.compute.instances, min_utilization=rules.min_utilization,
        links=np.array([not any(len(rank) > 1 for rank in d.ranks)
                        and d.name not in rules.levels[0].spatial.options.get("no_link_transfer", ())
                        and d.name not in (spec.mapping.levels[0].no_link_transfer if spec.mapping else ())
                        for d in ds]),
        mesh0=arch.fanout(0), spatial0=rules.levels[0].spatial, literal=order_rules(rules))


def occupancy(tab: Tables, ti: int, size: np.ndarray) -> np.ndarray:
    """Words a tile of ``size`` dense words of tensor ``ti`` occupies at each level (..., n)."""
    return np.minimum(size * tab.occupancy[:, ti], tab.nnz_cap[:, ti])


def tile_size(tab: Tables, ti: int, cum: np.ndarray) -> np.ndarray:
    """Tile size (words) of tensor ``ti`` for per-dim tile extents ``cum`` (..., D)."""
    out = np.ones(cum.shape[:-1], dtype=np.int64)
    for rank in tab.ranks[ti]:
        extent = np.ones(cum.shape[:-1], dtype=np.int64)
        for dim, coef in rank:
            extent = extent + coef * (cum[..., dim] - 1)
        out = out * extent
    return out


@dataclass(frozen=True)
class Dense:
    """Dense per-candidate results (arrays over C candidates)."""

    reads: np.ndarray  # (C, n, T) per instance
    fills: np.ndarray
    updates: np.ndarray
    instances: np.ndarray  # (C, n) utilized instances per level
    energy: np.ndarray  # (C, n, T) pJ, all instances
    compute_energy: np.ndarray  # (C,)
    compute_cycles: np.ndarray  # (C,)
    fits: np.ndarray  # (C,) fits capacity, fanout and utilization (what the engine checks)
    legal: np.ndarray  # (C,) fits and passes timeloop-model's literal order checks (.tlcheck)
    overflow: np.ndarray  # (C,) how far from legal (0 when legal): relative excess summed over limits


def evaluate(tab: Tables, b: Batch) -> Dense:
    n, nt = tab.n, tab.rel.shape[0]
    C = len(b)
    T = b.temporal.astype(np.int64)
    P = b.spatial.astype(np.int64)
    cum = np.cumprod(T * P, axis=1)  # (C, n, D) factors at and below each level
    t_level = T.prod(axis=2)  # (C, n)
    t_above = np.cumprod(t_level[:, ::-1], axis=1)[:, ::-1]  # product of temporal loops at levels >= li
    fan = P.prod(axis=2)  # (C, n)
    inst = np.ones((C, n), dtype=np.int64)
    for li in range(n - 2, -1, -1):
        inst[:, li] = inst[:, li + 1] * fan[:, li + 1]
    spatial_total = inst[:, 0] * fan[:, 0]
    nontrivial = T > 1
    big = np.iinfo(np.int16).max
    reads = np.zeros((C, n, nt))
    fills = np.zeros((C, n, nt))
    updates = np.zeros((C, n, nt))
    energy = np.zeros((C, n, nt))
    occupied = np.zeros((C, n))
    for ti in range(nt):
        rel = tab.rel[ti]
        size = tile_size(tab, ti, cum)  # (C, n)
        # Leading irrelevant temporal loops of each level (reuse), and whether the level
        # has no relevant non-trivial loop at all (reuse then continues outward).
        rel_rank = np.where(nontrivial & rel, b.rank, big).min(axis=2)  # (C, n)
        lead_mask = nontrivial & ~rel & (b.rank < rel_rank[:, :, None])
        lead = np.where(lead_mask, T, 1).prod(axis=2)
        all_irrelevant = rel_rank == big
        reuse = np.ones((C, n + 1))
        for li in range(n - 1, -1, -1):
            reuse[:, li] = lead[:, li] * np.where(all_irrelevant[:, li], reuse[:, li + 1], 1.0)
        per = np.empty((C, n))
        per[:, 0] = t_above[:, 0]
        per[:, 1:] = size[:, :-1] * t_above[:, 1:] / reuse[:, 1:n]
        sliding_windows(tab, ti, b, T, P, cum, size, per)
        distinct = np.where(rel, P, 1).prod(axis=2)
        content = per * distinct
        if tab.links[ti]:
            content[:, 0] -= link_savings(tab, rel, P[:, 0], b.xaxis[:, 0], per[:, 0], reuse[:, 0])
        weighted = per * fan
        partition = np.empty((C, n), dtype=np.int64)
        partition[:, n - 1] = size[:, n - 1]
        for li in range(n - 2, -1, -1):
            denom = tile_size(tab, ti, cum[:, li] * P[:, li + 1])
            partition[:, li] = partition[:, li + 1] * size[:, li] // denom
        parent = np.zeros((C, n))
        parent[:, :-1] = per[:, 1:]
        kept = b.keep[:, :, ti]
        for li in range(n - 1):
            factor = np.where(kept[:, li], 1.0, content[:, li] * fan[:, li + 1] / weighted[:, li + 1])
            content[:, li + 1] *= factor
            weighted[:, li + 1] *= factor
        if tab.rw[ti]:
            upd = np.rint(content)
            rd = np.rint(content - partition)
            fl = np.rint(parent - partition)
        else:
            rd = content
            upd = np.zeros_like(content)
            fl = parent
        fl[:, n - 1] = 0.0
        rd, fl, upd = (np.where(kept, x, 0.0) for x in (rd, fl, upd))
        reads[:, :, ti], fills[:, :, ti], updates[:, :, ti] = rd, fl, upd
        energy[:, :, ti] = (_vectors(rd, tab.block) * tab.e_read + _vectors(fl, tab.block) * tab.e_fill
                            + _vectors(upd, tab.block) * tab.e_update) * inst
        occupied += np.where(kept, occupancy(tab, ti, size), 0.0)
    fits, over = _overflow(tab, b, T, P, fan, spatial_total, occupied)
    cycles = np.ceil(tab.macs / spatial_total - 1e-9)
    return Dense(reads=reads, fills=fills, updates=updates, instances=inst, energy=energy,
                 compute_energy=np.full(C, tab.macs * tab.e_compute), compute_cycles=cycles, fits=fits, legal=over == 0,
                 overflow=over)


def legal(tab: Tables, b: Batch) -> np.ndarray:
    """(C,) the candidates :func:`evaluate` would find legal (``Dense.legal``), computed from their tile
    sizes, fanouts and loop orders alone (much cheaper than their accesses)."""
    return legal_under(tab, limits(tab, b))


@dataclass(frozen=True)
class Limits:
    """What decides a candidate's legality, apart from the buffer capacities (see :func:`legal_under`)."""

    occupied: np.ndarray  # (C, n) words the kept tiles occupy
    fanout: np.ndarray  # (C, n) relative excess over the X fanout
    fanout_y: np.ndarray  # (C, n) ... over the Y fanout
    fanout_total: np.ndarray  # (C, n) ... over the whole fanout
    utilization: np.ndarray | None  # (C,) shortfall below the minimum utilization (None: no minimum)
    penalty: np.ndarray  # (C,) timeloop-model's order checks (0 = passes)


def limits(tab: Tables, b: Batch) -> Limits:
    """The capacity-independent parts of :func:`legal` (shared by points that differ only in capacities)."""
    T = b.temporal.astype(np.int64)
    P = b.spatial.astype(np.int64)
    cum = np.cumprod(T * P, axis=1)
    fan = P.prod(axis=2)
    occupied = np.zeros((len(b), tab.n))
    for ti in range(tab.rel.shape[0]):
        occupied += np.where(b.keep[:, :, ti], occupancy(tab, ti, tile_size(tab, ti, cum)), 0.0)
    return _limits(tab, b, T, P, fan, fan.prod(axis=1), occupied)


def _limits(tab: Tables, b: Batch, T: np.ndarray, P: np.ndarray, fan: np.ndarray, spatial_total: np.ndarray,
            occupied: np.ndarray) -> Limits:
    px = np.where(b.xaxis, P, 1).prod(axis=2)
    py = np.where(b.xaxis, 1, P).prod(axis=2)
    util = (np.maximum(tab.min_utilization - spatial_total / tab.compute_instances, 0.0)
            if tab.min_utilization > 0 else None)
    return Limits(occupied, _excess(px, tab.fan_x), _excess(py, tab.fan_y), _excess(fan, tab.fan_total), util,
                  penalty(tab.literal, T, P, b.rank, b.xaxis))


def _fit_excess(capacity: np.ndarray, lim: Limits) -> np.ndarray:
    """(C,) how far from fitting capacity, fanout and utilization (0 when it fits)."""
    over = (_excess(lim.occupied, capacity) + lim.fanout + lim.fanout_y + lim.fanout_total).sum(axis=1)
    if lim.utilization is not None:
        over += lim.utilization
    return np.where(over > 1e-9, over, 0.0)


def legal_under(tab: Tables, lim: Limits) -> np.ndarray:
    """(C,) legal under ``tab``'s capacities (the rest of ``tab`` as the one ``lim`` was made with)."""
    return (_fit_excess(tab.capacity, lim) + lim.penalty) == 0


def _overflow(tab: Tables, b: Batch, T: np.ndarray, P: np.ndarray, fan: np.ndarray, spatial_total: np.ndarray,
              occupied: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fits capacity, fanout and utilization; how far from legal, 0 when legal) per candidate."""
    lim = _limits(tab, b, T, P, fan, spatial_total, occupied)
    over = _fit_excess(tab.capacity, lim)
    return over == 0, over + lim.penalty


def vectors(tab: Tables, d: Dense) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(C, n, T) vector reads, fills and updates of ``d`` (what :func:`evaluate` prices)."""
    block = tab.block[:, None]
    return _vectors(d.reads, block), _vectors(d.fills, block), _vectors(d.updates, block)


def priced(tab: Tables, d: Dense, vec: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> Dense:
    """``d`` (legal candidates, evaluated under other energies and capacities) priced with ``tab``'s
    energies: the accesses do not depend on them (as :func:`evaluate` computes them).  ``vec``: its
    :func:`vectors` (under the same block sizes)."""
    vr, vf, vu = vec if vec is not None else vectors(tab, d)
    energy = (vr * tab.e_read[:, None] + vf * tab.e_fill[:, None] + vu * tab.e_update[:, None]) * d.instances[:, :, None]
    return Dense(reads=d.reads, fills=d.fills, updates=d.updates, instances=d.instances, energy=energy,
                 compute_energy=np.full(len(d.reads), tab.macs * tab.e_compute), compute_cycles=d.compute_cycles,
                 fits=d.fits, legal=d.legal, overflow=d.overflow)


def _excess(used: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Relative excess of ``used`` over ``limit`` (0 when within; a zero limit counts excess words)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(limit > 0, used / limit - 1.0, used)
    return np.maximum(np.nan_to_num(rel, posinf=1e12), 0.0)


def _vectors(count: np.ndarray, block: np.ndarray) -> np.ndarray:
    return np.where(count > 0, np.ceil(count / block - 1e-9), 0.0)


@dataclass(frozen=True)
class Scales:
    """Sparse corrections: exact / dense ratios measured on evaluated mappings."""

    energy: np.ndarray  # (n, T) per level-tensor energy ratio
    reads: np.ndarray  # (n, T) bandwidth words (data + metadata) per dense read
    writes: np.ndarray  # (n, T) per dense fill/update
    compute_energy: float = 1.0
    compute_cycles: float = 1.0

    @staticmethod
    def unit(n: int, nt: int) -> Scales:
        return Scales(np.ones((n, nt)), np.ones((n, nt)), np.ones((n, nt)))


def estimate(tab: Tables, d: Dense, s: Scales) -> tuple[np.ndarray, np.ndarray]:
    """(energy pJ, cycles) per candidate under the scales."""
    energy = (d.energy * s.energy).sum(axis=(1, 2)) + d.compute_energy * s.compute_energy
    cc = np.maximum(np.ceil(d.compute_cycles * s.compute_cycles - 1e-9), 1.0)
    read = (d.reads * s.reads).sum(axis=2) / cc[:, None]
    write = ((d.fills + d.updates) * s.writes).sum(axis=2) / cc[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        slow = np.minimum(1.0, np.minimum(tab.read_bw / read, tab.write_bw / write))
        slow = np.minimum(slow, tab.shared_bw / (read + write))
    slow = np.where(np.isnan(slow), 1.0, slow)
    cycles = np.ceil(cc[:, None] / slow).max(axis=1)
    return energy, np.maximum(cycles, cc)


def objective(kind: str, energy: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    if kind == "energy":
        return energy
    if kind == "cycles":
        return cycles + energy * 1e-18  # ties broken by energy
    return energy * cycles
