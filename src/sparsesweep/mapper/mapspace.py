"""The mapspace: legal factorizations, loop orders, X/Y splits and bypass choices.

Loop slots: slot ``2*li`` holds the temporal loops of storage level ``li`` (innermost
level first), slot ``2*li+1`` its spatial loops (the fanout to the level below).

Symmetry: only the order of a level's *non-trivial* loops matters, and of those only
what changes reuse: for each tensor, which irrelevant loops sit inside its innermost
relevant loop (and, for sliding-window tensors, which loop is innermost).  Orders with
the same effect are generated once.  (Timeloop's two-iteration extrapolation also makes a
later loop of a sliding-window tensor reuse the tile when its step lands the tile where an
inner loop's step left it; orders that differ only in that are not told apart.)  Spatially, only which dims go to X matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations, permutations

import numpy as np

from ..errors import MappingError
from ..tl.spec import Spec
from .batch import Batch, Tables, occupancy, tile_size
from .constraints import Constraints, SlotRule
from .factors import factor_options


@dataclass(frozen=True)
class MapSpace:
    spec: Spec
    rules: Constraints
    tab: Tables
    low: np.ndarray  # (S, D) minimum factor per slot and dim
    high: np.ndarray  # (S, D) maximum factor
    fixed: np.ndarray  # (S, D) factor fixed by the constraints
    options: tuple[np.ndarray, ...]  # per dim: (K_d, S) factorizations
    complete: bool  # every per-dim option list is complete
    keep_fixed: np.ndarray  # (n, T): 1 keep, 0 bypass, -1 search both
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # order/axis options per pattern

    @property
    def n(self) -> int:
        return self.tab.n

    def factorization_count(self) -> int:
        total = 1
        for opt in self.options:
            total *= len(opt)
        return total

    def slot_rule(self, slot: int) -> SlotRule:
        level = self.rules.levels[slot // 2]
        return level.spatial if slot % 2 else level.temporal


def build(spec: Spec, rules: Constraints, tab: Tables, rng: np.random.Generator) -> MapSpace:
    problem, arch = spec.problem, spec.arch
    n, dims = tab.n, tab.dims
    slots = 2 * n
    low = np.ones((slots, dims), dtype=np.int64)
    high = np.ones((slots, dims), dtype=np.int64)
    fixed: list[list[int | None]] = [[None] * slots for _ in range(dims)]
    for s in range(slots):
        li, spatial = s // 2, bool(s % 2)
        rule = rules.levels[li].spatial if spatial else rules.levels[li].temporal
        for d in range(dims):
            bound = problem.bounds[d]
            lo, hi, exact = rule.bounds(d, bound)
            if spatial:
                hi = min(hi, int(max(tab.fan_x[li], tab.fan_y[li])))
            low[s, d], high[s, d] = lo, hi
            if exact is not None:
                if spatial and exact > hi:
                    fx, fy = arch.fanout(li)
                    raise _error(spec, rules, d, f"the spatial factor {problem.dims[d]}={exact} at "
                                 f"'{arch.storage[li].name}' exceeds its fanout {fx} x {fy}",
                                 "lower the spatial factor or enlarge the fanout")
                fixed[d][s] = exact
                high[s, d] = max(hi, exact)
    options = []
    complete = True
    for d in range(dims):
        opts, full = factor_options(problem.bounds[d], list(low[:, d]), list(high[:, d]), fixed[d], rng)
        if len(opts) == 0:
            raise _error(spec, rules, d, f"no factorization of {problem.dims[d]}={problem.bounds[d]} satisfies "
                         f"the constraints ({_describe(rules, arch, d, problem.dims[d])})",
                         f"relax the {problem.dims[d]} factors (their product must divide {problem.bounds[d]}; "
                         "imperfect factorization is not supported)")
        options.append(opts)
        complete &= full
    names = [ds.name for ds in problem.dataspaces]
    keep_fixed = np.full((n, len(names)), -1, dtype=np.int8)
    for li in range(n):
        for ti, ds in enumerate(names):
            choice = rules.keep_choice(li, ds, li == n - 1)
            if choice is not None:
                keep_fixed[li, ti] = int(choice)
    fixed_mask = np.array([[fixed[d][s] is not None for d in range(dims)] for s in range(slots)], dtype=bool)
    return MapSpace(spec=spec, rules=rules, tab=tab, low=low, high=high, fixed=fixed_mask, options=tuple(options),
                    complete=complete, keep_fixed=keep_fixed)


def _error(spec: Spec, rules: Constraints, dim: int, what: str, fix: str) -> MappingError:
    path = rules.factor_path(dim)
    if path is None:
        return MappingError(what, file=spec.bundle.doc_for("architecture").path, key="architecture", fix=fix)
    located = spec.reader.error(path, what, fix)
    return MappingError(located.what, file=located.file, line=located.line, key=located.key, fix=fix)


def _describe(rules: Constraints, arch, d: int, name: str) -> str:
    parts = []
    for li, level in enumerate(rules.levels):
        for kind, rule in (("temporal", level.temporal), ("spatial", level.spatial)):
            for table, op in ((rule.exact, "="), (rule.maximum, "<="), (rule.minimum, ">=")):
                if d in table:
                    parts.append(f"{arch.storage[li].name} {kind} {name}{op}{table[d]}")
    return ", ".join(parts) or "fanout limits"


# ---- factorizations: join the per-dim options, pruning on fanout and capacity ----------------

def join(space: MapSpace, limit: int, work: int = 1_000_000) -> np.ndarray | None:
    """All legal-looking factorizations (F, S, D), or None when more than ``limit`` remain
    or more than ``work`` partial combinations would have to be examined."""
    tab = space.tab
    must_keep = space.keep_fixed == 1
    part = np.ones((1, 2 * tab.n, tab.dims), dtype=np.int64)
    examined = 0
    for d in np.argsort([len(o) for o in space.options], kind="stable"):
        opts = space.options[d]
        examined += len(part) * len(opts)
        if examined > work:
            return None
        kept = []
        total = 0
        step = max(1, 200_000 // len(opts))
        for start in range(0, len(part), step):
            grid = np.repeat(part[start:start + step], len(opts), axis=0)
            grid[:, :, d] = np.tile(opts, (min(step, len(part) - start), 1))
            grid = grid[prefilter(tab, grid, must_keep)]
            total += len(grid)
            if total > limit:
                return None
            kept.append(grid)
        part = np.concatenate(kept) if kept else part[:0]
    return part


def prefilter(tab: Tables, f: np.ndarray, must_keep: np.ndarray) -> np.ndarray:
    """Candidates whose fanout and minimum occupancy (tensors that must be kept) fit."""
    spatial = f[:, 1::2, :]
    ok = (spatial.prod(axis=2) <= tab.fan_total).all(axis=1)
    cum = np.cumprod(f[:, 0::2, :] * spatial, axis=1)
    used = np.zeros((len(f), tab.n))
    for ti in range(tab.rel.shape[0]):
        used += np.where(must_keep[:, ti], occupancy(tab, ti, tile_size(tab, ti, cum)), 0.0)
    return ok & (used <= tab.capacity + 1e-9).all(axis=1)


# ---- orders, axes and bypass per non-trivial pattern -----------------------------------------

def temporal_orders(space: MapSpace, li: int, active: Sequence[int]) -> list[np.ndarray]:
    """Distinct temporal orders (rank per dim) of level ``li``'s non-trivial dims ``active``."""
    key = ("t", li, tuple(int(d) for d in active))
    if key not in space.memo:
        space.memo[key] = _temporal_orders(space, *key[1:])
    return space.memo[key]


def _temporal_orders(space: MapSpace, li: int, active: tuple[int, ...]) -> list[np.ndarray]:
    rule = space.rules.levels[li].temporal
    dims = space.tab.dims
    pre = [d for d in rule.prefix if d in active]
    suf = [d for d in rule.suffix if d in active and d not in pre]
    free = [d for d in active if d not in pre and d not in suf]
    seen: dict[tuple, np.ndarray] = {}
    for middle in permutations(free):
        order = pre + list(middle) + suf
        sig = _signature(space.tab, order)
        if sig not in seen:
            rank = np.arange(dims, 2 * dims, dtype=np.int16)
            for pos, d in enumerate(order):
                rank[d] = pos
            seen[sig] = rank
    return list(seen.values())


def _signature(tab: Tables, order: Sequence[int]) -> tuple:
    out = []
    for ti in range(tab.rel.shape[0]):
        lead = []
        first = None
        for d in order:
            if tab.rel[ti, d]:
                first = d
                break
            lead.append(d)
        coupled = any(len(rank) > 1 and any(dim == first for dim, _ in rank) for rank in tab.ranks[ti])
        out.append((frozenset(lead), first if coupled else None, first is None))
    return tuple(out)


def spatial_axes(space: MapSpace, li: int, active: Sequence[int]) -> list[np.ndarray]:
    """Distinct X-axis sets (bool per dim) for level ``li``'s non-trivial spatial dims."""
    key = ("s", li, tuple(int(d) for d in active))
    if key not in space.memo:
        space.memo[key] = _spatial_axes(space, *key[1:])
    return space.memo[key]


def _spatial_axes(space: MapSpace, li: int, active: tuple[int, ...]) -> list[np.ndarray]:
    rule = space.rules.levels[li].spatial
    dims = space.tab.dims
    found: dict[frozenset, None] = {}
    if rule.split is not None:
        head = list(rule.prefix)
        if len(head) >= rule.split:
            found[frozenset(d for d in head[:rule.split] if d in active)] = None
        else:
            rest = [d for d in range(dims) if d not in head]
            for extra in combinations(rest, min(rule.split - len(head), len(rest))):
                found[frozenset(d for d in head + list(extra) if d in active)] = None
    else:
        pre = [d for d in rule.prefix if d in active]
        rest = [d for d in active if d not in pre]
        for j in range(len(pre) + 1):
            found[frozenset(pre[:j])] = None
        for r in range(1, len(rest) + 1):
            for extra in combinations(rest, r):
                found[frozenset(pre + list(extra))] = None
    out = []
    for xs in found:
        mask = np.zeros(dims, dtype=bool)
        mask[list(xs)] = True
        out.append(mask)
    return out


KEEP_LIMIT = 4096  # bypass combinations listed at most (more: sampled, see random_keeps)


def keep_options(space: MapSpace) -> np.ndarray:
    """(K, n, T) keep masks: the fixed choices with every combination of the free ones; when
    there are more than ``KEEP_LIMIT`` combinations, a seeded sample of them."""
    if "keeps" not in space.memo:
        free = np.argwhere(space.keep_fixed < 0)
        if 2 ** len(free) <= KEEP_LIMIT:
            codes = np.arange(2 ** len(free))
        else:
            codes = np.random.default_rng(len(free)).integers(0, 2 ** len(free), size=KEEP_LIMIT)
        space.memo["keeps"] = _keeps_from_codes(space, codes)
    return space.memo["keeps"]


def random_keeps(space: MapSpace, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, n, T) random keep masks over every free choice."""
    free = int((space.keep_fixed < 0).sum())
    codes = rng.integers(0, 2, size=(count, free)) @ (1 << np.arange(free)) if free else np.zeros(count, np.int64)
    return _keeps_from_codes(space, codes)


def _keeps_from_codes(space: MapSpace, codes: np.ndarray) -> np.ndarray:
    free = np.argwhere(space.keep_fixed < 0)
    out = np.repeat((space.keep_fixed == 1)[None], len(codes), axis=0)
    for j, (li, ti) in enumerate(free):
        out[:, li, ti] = (codes >> j) & 1 == 1
    return out


def _level_codes(space: MapSpace, f: np.ndarray) -> np.ndarray:
    """(F, 2n) per-level codes of which loops are non-trivial: temporal levels, then spatial ones.

    Dim ``d`` has weight ``2 ** (dims - 1 - d)``, so codes compare like the boolean rows they encode
    (rows of codes sort in the order of the rows of flags)."""
    dims = space.tab.dims
    weights = 1 << np.arange(dims - 1, -1, -1, dtype=np.int64)
    temporal, spatial = f[:, 0::2, :], f[:, 1::2, :]
    return np.concatenate([((temporal > 1) * weights).sum(axis=2), ((spatial > 1) * weights).sum(axis=2)], axis=1)


def _options(space: MapSpace, kind: int, li: int, code: int) -> np.ndarray:
    """Level ``li``'s temporal orders (``kind`` 0) or X-axis sets (1) for the non-trivial dims of ``code``,
    stacked (see :func:`_level_codes`)."""
    key = ("stack", kind, li, code)
    if key not in space.memo:
        dims = space.tab.dims
        active = [d for d in range(dims) if (code >> (dims - 1 - d)) & 1]
        space.memo[key] = np.stack((temporal_orders if kind == 0 else spatial_axes)(space, li, active))
    return space.memo[key]


def _combinations(space: MapSpace, sizes: tuple[int, ...]) -> np.ndarray:
    """Every combination of option indices, in itertools.product order."""
    key = ("grid", sizes)
    if key not in space.memo:
        space.memo[key] = np.indices(sizes).reshape(len(sizes), -1).T
    return space.memo[key]


def expand(space: MapSpace, f: np.ndarray, keeps: np.ndarray) -> Batch:
    """Every order / axis / bypass variant of the factorizations ``f`` (F, S, D)."""
    return expand_indexed(space, f, keeps)[0]


def expand_indexed(space: MapSpace, f: np.ndarray, keeps: np.ndarray) -> tuple[Batch, np.ndarray, np.ndarray]:
    """:func:`expand`, with each candidate's factorization (its row of ``f``) and variant number.

    Candidates come grouped by pattern of non-trivial loops (patterns in sorted order), then by row
    of ``f``, then variant."""
    n, dims = space.n, space.tab.dims
    none = np.zeros(0, dtype=np.int64)
    if len(f) == 0:
        return Batch.empty(n, dims, len(space.tab.rw)), none, none
    temporal, spatial = f[:, 0::2, :], f[:, 1::2, :]
    patterns, inverse = np.unique(_level_codes(space, f), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    groups = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[groups], np.arange(len(patterns) + 1))
    parts, which, variant = [], [], []
    for p, pattern in enumerate(patterns):
        idx = groups[bounds[p]:bounds[p + 1]]
        order_opts = [_options(space, 0, li, int(pattern[li])) for li in range(n)]
        axis_opts = [_options(space, 1, li, int(pattern[n + li])) for li in range(n)]
        sizes = tuple(len(o) for o in order_opts) + tuple(len(a) for a in axis_opts) + (len(keeps),)
        grid = _combinations(space, sizes)
        ranks = np.stack([order_opts[li][grid[:, li]] for li in range(n)], axis=1)
        axes = np.stack([axis_opts[li][grid[:, n + li]] for li in range(n)], axis=1)
        kidx = grid[:, 2 * n]
        m = len(grid)
        rows = np.repeat(idx, m)
        sel = np.tile(np.arange(m), len(idx))
        parts.append(Batch(temporal[rows], spatial[rows], ranks[sel], axes[sel], keeps[kidx[sel]]))
        which.append(rows)
        variant.append(sel)
    return Batch.concat(parts), np.concatenate(which), np.concatenate(variant)


def pattern_ids(space: MapSpace, f: np.ndarray) -> np.ndarray:
    """(F,) each factorization's pattern of non-trivial loops, numbered in :func:`expand`'s order."""
    return np.unique(_level_codes(space, f), axis=0, return_inverse=True)[1].reshape(-1)


def expansion_size(space: MapSpace, f: np.ndarray, keeps: np.ndarray) -> int:
    """How many candidates :func:`expand` would make (without making them)."""
    return int(expansion_sizes(space, f, keeps).sum())


def expansion_sizes(space: MapSpace, f: np.ndarray, keeps: np.ndarray) -> np.ndarray:
    """(F,) how many candidates :func:`expand` makes of each factorization."""
    n = space.n
    if len(f) == 0:
        return np.zeros(0, dtype=np.int64)
    codes = _level_codes(space, f)
    total = np.full(len(f), len(keeps), dtype=np.int64)
    for col in range(2 * n):
        kind, li = divmod(col, n)
        values, inverse = np.unique(codes[:, col], return_inverse=True)
        sizes = np.array([len(_options(space, kind, li, int(v))) for v in values], dtype=np.int64)
        total *= sizes[inverse.reshape(-1)]
    return total
