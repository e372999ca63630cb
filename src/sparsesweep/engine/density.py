"""Tensor density models: occupancy distributions of tiles, as Timeloop computes them.

A density model describes where the nonzeros of one whole tensor (``N`` points) are.
For a *tile* (an axis-aligned box of the tensor, given by its per-rank extents) it yields
the occupancy distribution ``P(k)`` = probability that the tile holds ``k`` nonzeros.

* ``fixed_structured``: every tile of ``n`` points holds ``x = n*d`` nonzeros; when ``x`` is
  not an integer, ``floor(x)`` with probability ``1-(x-floor x)`` and ``ceil(x)`` otherwise
  (so the mean is exact).  This is how N:M structured sparsity is expressed.
* ``hypergeometric``: ``r = ceil(d*N)`` nonzeros placed uniformly at random in the tensor;
  ``P(k) = C(r,k) C(N-r,n-k) / C(N,n)``, bit for bit as Timeloop's Boost pdf computes it
  (:mod:`.hypergeom`): its rounding noise decides on which side of an integer a count
  like ``total * P(empty)`` lands.
* ``banded``: a square 2-D tensor of side ``s`` whose point ``(i, j)`` is nonzero iff
  ``|i-j| <= w``.  The distribution of an ``a x b`` tile is the histogram of the band
  counts over the aligned grid of ``a x b`` tiles (``s`` must be divisible by ``a`` and ``b``).

All functions take a frozen :class:`DensityModel` and per-rank tile extents (a tuple; a
bare point count is accepted where the model only needs that) and are cached, since a
mapper calls them thousands of times.  Returned numpy arrays are read-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ..errors import SpecError
from ..tl.problem import Density
try:
    from . import hypergeom
except RuntimeError:  # no x87 long double here: Boost's exact rounding cannot be repeated
    from . import hypergeom_portable as hypergeom  # type: ignore[no-redef]

Extents = tuple[int, ...]
_CACHE = 4096


@dataclass(frozen=True)
class DensityModel:
    """The density model of one tensor, bound to that tensor's size (hashable: a cache key).

    ``nnz`` is the number of nonzeros of the whole tensor for the models that fix it
    (hypergeometric: ``ceil(d*N)``; banded: the band size); 0 for fixed_structured.
    """

    kind: str  # fixed_structured | hypergeometric | banded
    density: float  # nonzero fraction in (0, 1] (banded: nnz / N)
    tensor_size: int  # N: points of the whole tensor (workload tensor size)
    nnz: int = 0
    band_width: int = 0  # banded only
    side: int = 0  # banded only: side of the square tensor

    @property
    def name(self) -> str:
        """The name Timeloop prints as "Tile density distribution"."""
        return f"banded-{self.band_width}" if self.kind == "banded" else self.kind

    @property
    def dense(self) -> bool:
        return self.density >= 1.0

    def __hash__(self) -> int:  # a key of many caches, asked many times per evaluation: hash once
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.kind, self.density, self.tensor_size, self.nnz, self.band_width, self.side))

    def __getstate__(self) -> dict:  # string hashes differ between processes: never pickle the cached one
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}


@dataclass(frozen=True)
class Occupancy:
    """Occupancy distribution of one tile: the occupancies with nonzero probability.

    ``values`` ascend; ``probs`` are the matching probabilities (they sum to ~1).
    """

    values: np.ndarray  # int64, nonzeros per tile
    probs: np.ndarray  # float64
    support_min: int = 0  # smallest possible occupancy (its probability may underflow to 0)

    @property
    def expected(self) -> float:
        """Expected occupancy (nonzeros per tile), summed in ascending order like Timeloop."""
        return _seq_sum(self.probs * self.values)

    @property
    def p_empty(self) -> float:
        """Probability that the tile holds no nonzero."""
        return float(self.probs[0]) if self.values.size and self.values[0] == 0 else 0.0

    @property
    def max(self) -> int:
        return int(self.values[-1]) if self.values.size else 0


def model_for(density: Density, tensor_size: int, extents: Extents = ()) -> DensityModel:
    """Bind a parsed :class:`Density` to a tensor of ``tensor_size`` points.

    ``extents`` (the tensor's per-rank sizes) are needed for ``banded`` only, which
    requires a square 2-D tensor.
    """
    kind = density.distribution
    if kind == "fixed":
        kind = "fixed_structured"
    if kind == "diagonal":
        kind = "banded"
    if kind == "fixed_structured":
        return DensityModel("fixed_structured", float(density.density), int(tensor_size))
    if kind == "hypergeometric":
        nnz = int(math.ceil(density.density * tensor_size))
        return DensityModel("hypergeometric", float(density.density), int(tensor_size), nnz=nnz)
    if kind == "banded":
        if len(extents) != 2 or extents[0] != extents[1]:
            raise SpecError(f"banded density needs a square 2-D tensor, got extents {tuple(extents)}",
                            fix="use banded only for square matrices, or another distribution")
        side, width = int(extents[0]), int(density.band_width)
        nnz = side + 2 * sum(max(side - u, 0) for u in range(1, width + 1))
        return DensityModel("banded", nnz / (side * side), side * side, nnz=nnz, band_width=width, side=side)
    raise SpecError(f"unknown density distribution '{density.distribution}'",
                    fix="use fixed_structured, hypergeometric or banded")


def _points(tile: Extents | int) -> int:
    if isinstance(tile, int):
        return tile
    return math.prod(tile)


def _key(tile: Extents | int) -> Extents:
    return (tile,) if isinstance(tile, int) else tuple(int(t) for t in tile)


def _seq_sum(values: np.ndarray) -> float:
    """Left-to-right double sum (numpy's sum is pairwise and rounds differently)."""
    if values.size == 0:
        return 0.0
    return float(np.cumsum(values)[-1])


def _frozen(values: np.ndarray, probs: np.ndarray, support_min: int | None = None) -> Occupancy:
    values = np.ascontiguousarray(values, dtype=np.int64)
    probs = np.ascontiguousarray(probs, dtype=np.float64)
    values.setflags(write=False)
    probs.setflags(write=False)
    low = int(values[0]) if support_min is None and values.size else int(support_min or 0)
    return Occupancy(values, probs, low)


# -- distributions ----------------------------------------------------------------------


def occupancy_distribution(model: DensityModel, tile: Extents | int) -> Occupancy:
    """``P(k)`` of a tile with the given extents (or point count), zero entries dropped."""
    return _distribution(model, _key(tile))


@lru_cache(maxsize=_CACHE)
def _distribution(model: DensityModel, tile: Extents) -> Occupancy:
    n = _points(tile)
    if n == 0:
        return _frozen(np.array([0]), np.array([1.0]))
    if model.kind == "fixed_structured":
        x = n * model.density
        low = math.floor(x)
        p_high = x - low
        if p_high == 0.0:
            return _frozen(np.array([low]), np.array([1.0]))
        return _frozen(np.array([low, math.ceil(x)]), np.array([1.0 - p_high, p_high]))
    if model.kind == "hypergeometric":
        ks, ps = _hypergeom_support(model.nnz, n, model.tensor_size)
        return _frozen(ks, ps, max(0, n + model.nnz - model.tensor_size))
    return _banded_distribution(model, tile)


def _hypergeom_support(r: int, n: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Occupancies with a nonzero probability (draw ``n`` of ``total`` with ``r`` marked),
    each probability bit for bit as Timeloop gets it (see :mod:`.hypergeom`)."""
    ks, probs = hypergeom.support(r, n, total)
    keep = probs > 0.0
    return ks[keep], probs[keep]


def _hypergeom_p_empty(n: int, total: int, k: np.ndarray) -> np.ndarray:
    """P(a draw of ``n`` of ``total`` points misses all ``k`` marked ones), per ``k``: the
    pmf at 0 with ``k`` marked points, as Timeloop evaluates it for a conditioned tile."""
    return hypergeom.p_empty(n, total, k)


def _band_count(model: DensityModel, rows: np.ndarray, cols: np.ndarray, a: int, b: int) -> np.ndarray:
    """Band points in the ``a x b`` tiles whose top-left corners are ``(rows, cols)``."""
    w = model.band_width
    out = np.zeros(np.broadcast(rows, cols).shape, dtype=np.int64)
    for i in range(a):
        r = rows + i
        lo = np.maximum(cols, r - w)
        hi = np.minimum(cols + b, r + w + 1)
        out += np.maximum(hi - lo, 0)
    return out


def _divides(model: DensityModel, tile: Extents) -> None:
    a, b = tile
    s = model.side
    if s % a or s % b:
        raise SpecError(f"banded density: tile {a}x{b} does not divide the {s}x{s} tensor, where Timeloop master "
                        f"aborts (an assertion) on a tile conditioned on its parent",
                        fix="use tile sizes that divide the matrix side")


def _banded_histogram(model: DensityModel, tile: Extents) -> tuple[np.ndarray, np.ndarray]:
    """Timeloop's banded histogram: (occupancies, tile counts) over a ``side // a`` x ``side // b`` grid
    (a tile that does not divide the side leaves the remainder out).  Only the first
    ``ceil(band_width / a) + 1`` row groups are counted: the warm-up rows twice (for the mirrored
    bottom rows; once when they are all the rows), the next one for every steady-state row."""
    a, b = tile
    w = model.band_width
    rows_n, cols_n = model.side // a, model.side // b
    if not rows_n or not cols_n:
        raise SpecError(f"banded density: a {a}x{b} tile is larger than the {model.side}x{model.side} tensor, "
                        f"which leaves Timeloop's banded model no whole tile to count (it aborts or prints "
                        f"impossible numbers)", fix="use tiles that fit the matrix, or another distribution")
    warm = math.ceil(w / a)
    steady = max(rows_n - 2 * warm, 0)
    groups = np.arange(min(warm + 1, rows_n), dtype=np.int64)
    mult = np.where(groups >= warm, steady, 2 if warm != rows_n else 1)
    counts = _band_count(model, (groups * a)[:, None], (np.arange(cols_n, dtype=np.int64) * b)[None, :], a, b)
    values, inverse = np.unique(np.concatenate([[0], counts.ravel()]), return_inverse=True)
    weights = np.concatenate([[0], np.repeat(mult, cols_n)])
    return values, np.bincount(inverse, weights=weights, minlength=values.size)


def _banded_distribution(model: DensityModel, tile: Extents) -> Occupancy:
    if len(tile) != 2:
        raise SpecError(f"banded density needs 2-D tiles, got extents {tile}",
                        fix="use banded only for 2-D tensors")
    values, counts = _banded_histogram(model, tile)
    probs = counts / ((model.side // tile[0]) * (model.side // tile[1]))
    keep = probs > 0.0
    # Timeloop's histogram always holds occupancy 0, so a tile's smallest occupancy is 0 for it
    return _frozen(values[keep], probs[keep], 0)


# -- scalar summaries ---------------------------------------------------------------------


def expected_occupancy(model: DensityModel, tile: Extents | int) -> float:
    """Expected nonzeros per tile (sum of ``k P(k)`` in ascending ``k``)."""
    return occupancy_distribution(model, tile).expected


def expected_density(model: DensityModel, tile: Extents | int) -> float:
    """Expected nonzero fraction of the tile (expected occupancy / tile points)."""
    n = _points(tile)
    return expected_occupancy(model, tile) / n if n else 0.0


def prob_empty(model: DensityModel, tile: Extents | int) -> float:
    """Probability that the tile holds no nonzero."""
    return occupancy_distribution(model, tile).p_empty


def min_occupancy(model: DensityModel, tile: Extents | int) -> int:
    """Smallest possible occupancy of the tile (hypergeometric: ``max(0, n + r - N)``)."""
    return occupancy_distribution(model, tile).support_min


def occupancy_by_confidence(model: DensityModel, tile: Extents | int, confidence: float = 1.0) -> int:
    """Nonzeros the tile holds with probability ``confidence`` (1.0 = worst case), in words.

    fixed_structured: ``floor(n*d)`` if ``confidence <= P(floor)`` else ``ceil(n*d)``;
    hypergeometric: ``min(n, r)`` at 1.0, else the hypergeometric quantile;
    banded: the largest occupancy at 1.0, else walking down the histogram from the top.
    """
    return _by_confidence(model, _key(tile), float(confidence))


@lru_cache(maxsize=_CACHE)
def _by_confidence(model: DensityModel, tile: Extents, confidence: float) -> int:
    n = _points(tile)
    if model.kind == "fixed_structured":
        x = n * model.density
        p_high = x - math.floor(x)
        return int(math.floor(x) if confidence <= 1.0 - p_high else math.ceil(x))
    if model.kind == "hypergeometric":
        if confidence == 1.0:
            return min(n, model.nnz)
        from scipy import stats  # only here: importing it takes about half a second

        return int(stats.hypergeom.ppf(confidence, model.tensor_size, model.nnz, n))
    if n == 0:
        return 0
    dist = _distribution(model, tile)
    values = [0] + [int(v) for v in dist.values if v != 0]  # the histogram always lists 0
    probs = dict(zip((int(v) for v in dist.values), (float(p) for p in dist.probs)))
    i, acc = len(values) - 1, 1.0
    while i > 0 and acc > confidence:
        i -= 1
        acc -= probs.get(values[i], 0.0)
    return values[i]


def representation_window(model: DensityModel, tile: Extents | int) -> Occupancy:
    """The occupancies Timeloop's representation analysis walks for a tile: from its
    ``GetMinDataTileOccupancy`` (``support_min``) up, as master computes that minimum in doubles.

    fixed_structured: ``floor(floor(n d) / n * n)``; banded: 0 (its histogram always lists 0);
    hypergeometric: ``(n - N + nnz) / n`` with ``n - N`` in unsigned 64-bit arithmetic: when the
    tile is smaller than the tensor but cannot be empty this wraps around, and the minimum comes out
    as 0 (a product of 2**64 or more converts to 0 on x86-64) or as a huge count above every
    occupancy (no occupancy is walked: expected occupancy 0).
    """
    dist = occupancy_distribution(model, tile)
    low = _timeloop_min_occupancy(model, _points(tile))
    if low == dist.support_min:
        return dist
    keep = dist.values >= low
    return _frozen(dist.values[keep], dist.probs[keep], low)


def _timeloop_min_occupancy(model: DensityModel, n: int) -> int:
    if n == 0 or model.kind == "banded":
        return 0
    if model.kind == "fixed_structured":
        density = float(math.floor(n * model.density)) / n
    else:
        nnz, total = float(model.nnz), model.tensor_size
        if n <= total - nnz:
            return 0
        density = (float((n - total) % 2**64) + nnz) / n
    low = math.floor(density * n)
    return 0 if low >= 2**64 else int(low)


# -- conditioning ---------------------------------------------------------------------


def conditional_prob_empty(model: DensityModel, sub: Extents | int, parent: Extents | int,
                           parent_occupancies: np.ndarray) -> np.ndarray:
    """P(a sub-tile is empty | the parent tile holds ``k`` nonzeros), per ``k`` given.

    fixed_structured: the sub-tile holds ``n_sub * (k / n_parent)`` nonzeros (fixed model);
    hypergeometric: draw ``n_sub`` of the ``n_parent`` points with ``k`` marked;
    banded: the aligned sub-tiles of the first grid tile that holds ``k`` band points.
    """
    ks = np.ascontiguousarray(parent_occupancies, dtype=np.int64)
    return _conditional(model, _key(sub), _key(parent), ks.ravel().tobytes()).reshape(ks.shape)


@lru_cache(maxsize=_CACHE)
def _conditional(model: DensityModel, sub: Extents, parent: Extents, raw: bytes) -> np.ndarray:
    k = np.frombuffer(raw, dtype=np.int64)
    n, total = _points(sub), _points(parent)
    if model.kind == "fixed_structured":
        x = n * (k.astype(np.float64) / total)
        low = np.floor(x)
        out = np.where(low == 0, 1.0 - (x - low), 0.0)
    elif model.kind == "hypergeometric":
        out = _hypergeom_p_empty(n, total, k)
    else:
        out = np.array([_banded_empty_given(model, sub, parent, int(v)) for v in k], dtype=np.float64)
    out.setflags(write=False)
    return out


def _banded_empty_given(model: DensityModel, sub: Extents, parent: Extents, k: int) -> float:
    """Timeloop's conditional for banded: the sub-tiles of a representative parent tile holding ``k``
    band points (the first found in the counted row groups of :func:`_banded_histogram`).  Its
    sub-tiles start at twice the representative's offset and end at the offset plus the sub-tile
    steps, as master computes them (exact for a representative at the origin)."""
    if _points(sub) == 0:
        return 1.0
    _divides(model, parent)
    _divides(model, sub)
    pa, pb = parent
    warm = math.ceil(model.band_width / pa)
    groups = np.arange(min(warm + 1, model.side // pa), dtype=np.int64)
    counts = _band_count(model, (groups * pa)[:, None], (np.arange(model.side // pb, dtype=np.int64) * pb)[None, :],
                         pa, pb)
    where = np.argwhere(counts == k)
    if where.size == 0:
        return 0.0
    r0, c0 = int(where[0][0]) * pa, int(where[0][1]) * pb
    a, b = sub
    rows = (2 * r0 + np.arange(pa // a, dtype=np.int64) * a)[:, None]
    cols = (2 * c0 + np.arange(pb // b, dtype=np.int64) * b)[None, :]
    inner = _band_count(model, rows, cols, a - r0, b - c0)
    return float(np.count_nonzero(inner == 0) / inner.size)


@dataclass(frozen=True)
class NonEmpty:
    """A distribution renormalised to non-empty tiles (parent level holds metadata)."""

    occupancy: Occupancy  # the first listed occupancy keeps probability 0
    kept_fraction: float  # 1 - P(first listed occupancy): scales average utilized instances


def condition_nonempty(dist: Occupancy) -> NonEmpty:
    """Drop empty tiles, as Timeloop does when the parent level keeps metadata.

    Applies only when the tile can be empty (its smallest possible occupancy is 0); Timeloop
    then removes the first listed (nonzero-probability) occupancy -- the empty one unless its
    probability underflowed --, divides the others by ``1 - p_first`` and multiplies the
    child's average utilized instances by that factor.
    """
    if not dist.values.size or dist.support_min != 0:
        return NonEmpty(dist, 1.0)
    scale = 1.0 - float(dist.probs[0])
    probs = dist.probs / scale if scale else np.full(dist.probs.shape, np.inf)
    probs[0] = 0.0
    return NonEmpty(_frozen(dist.values, probs, 0), scale)
