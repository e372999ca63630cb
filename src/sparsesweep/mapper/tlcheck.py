"""The constraint check ``timeloop-model`` applies to a mapping, literally.

Before it evaluates a mapping, Timeloop master rebuilds a "constraints object" from the
mapping and compares it with the parsed ``architecture_constraints``.  What it compares,
and how, is narrower and in places stricter than the mapspace semantics the mapper searches
(:mod:`.constraints`); a mapping the mapper writes must pass both.  Per level:

* **The mapping's loop order.**  Timeloop drops every loop of factor 1 from the loop nest, so
  a level's order is its non-trivial loops in the mapping's order (innermost first), followed
  by every factor-1 dimension in the problem's dimension order; the order written for
  factor-1 loops is lost.  Spatially, the non-trivial X loops come first, then the Y loops,
  and the *split* is the number of non-trivial X loops.
* **Factors.**  An exact factor must match, a maximum must hold (minimum factors are not
  checked).  An exact factor larger than the dimension is ignored.
* **Permutation.**  Walking the constraint's prefix and the mapping's order together, a
  mismatch is skipped only when the mapping's loop at the *constraint's* position has factor
  1.  In effect, the mapping's innermost non-trivial loops must be exactly the leading
  dimensions of the constraint, in order, until either runs out: with ``permutation: NMK``,
  a level whose only non-trivial loop is M violates it (the loop at position 0 is M, not N),
  although N and K have factor 1 there.  The ``...`` suffix is not checked.
* **Split.**  Equal to the number of non-trivial X loops.
* **A spatial level with a factor, permutation or split constraint but no non-trivial spatial
  loop in the mapping** makes Timeloop abort (an assertion in its constraint check).

Keep/bypass, minimum factors, utilization and mapspace-only switches are not checked.
:func:`model_violations` checks one parsed mapping this way, step by step as Timeloop does;
:func:`penalty` is the closed form of the same rules over a batch of candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..tl.mapping import Mapping
from .constraints import Constraints, SlotRule


@dataclass(frozen=True)
class LevelOrderRules:
    """What the literal check needs of one level's constraints."""

    t_prefix: tuple[int, ...] = ()
    s_prefix: tuple[int, ...] = ()
    split: int | None = None
    s_checked: bool = False  # the spatial slot has a factor, permutation or split constraint


def order_rules(rules: Constraints) -> tuple[LevelOrderRules, ...]:
    return tuple(LevelOrderRules(t_prefix=tuple(level.temporal.prefix), s_prefix=tuple(level.spatial.prefix),
                                 split=level.spatial.split, s_checked=_checked(level.spatial))
                 for level in rules.levels)


def _checked(rule: SlotRule) -> bool:
    return bool(rule.exact or rule.maximum or rule.prefix or rule.suffix or rule.split is not None)


def permutation_ok(prefix: Sequence[int], order: Sequence[int], factors: Sequence[int]) -> bool:
    """Timeloop's walk of a permutation constraint over a level's generated loop order."""
    i = j = 0
    while i < len(prefix) and j < len(order):
        if prefix[i] == order[j]:
            i += 1
            j += 1
        elif factors[order[i]] == 1:  # Timeloop tests the loop at the constraint's position
            j += 1
        else:
            return False
    return True


def model_violations(rules: Constraints, mapping: Mapping, dims: Sequence[str], bounds: Sequence[int],
                     names: Sequence[str]) -> list[str]:
    """Every way ``mapping`` fails timeloop-model's check of ``rules`` (empty: it passes)."""
    out: list[str] = []
    nd = len(dims)
    for li, (lvl, rule) in enumerate(zip(mapping.levels, rules.levels)):
        where = names[li]
        t = [1] * nd
        for d, b in lvl.temporal:
            t[d] = b
        t_order = [d for d, b in lvl.temporal if b > 1]
        t_order += [d for d in range(nd) if t[d] == 1]
        out += _slot(where, "temporal", rule.temporal, t, t_order, dims, bounds)
        s = [1] * nd
        for d, b, _ in lvl.spatial:
            s[d] *= b
        xs = [d for d, b, x in lvl.spatial if b > 1 and x]
        ys = [d for d, b, x in lvl.spatial if b > 1 and not x]
        if not xs and not ys:
            if _checked(rule.spatial):
                out.append(f"{where} has spatial constraints but no spatial loop of factor above 1 "
                           "(timeloop-model aborts on such a mapping)")
            continue
        s_order = xs + ys + [d for d in range(nd) if s[d] == 1]
        out += _slot(where, "spatial", rule.spatial, s, s_order, dims, bounds)
        if rule.spatial.split is not None and rule.spatial.split != len(xs):
            out.append(f"{where} spatial split: {len(xs)} loops of factor above 1 on X, constrained to "
                       f"{rule.spatial.split}")
    return out


def _slot(where: str, kind: str, rule: SlotRule, factors: list[int], order: list[int], dims: Sequence[str],
          bounds: Sequence[int]) -> list[str]:
    out = []
    for d, value in rule.exact.items():
        if factors[d] != value:
            out.append(f"{where} {kind} {dims[d]}={factors[d]}, constrained to {value}")
    for d, value in rule.maximum.items():
        if factors[d] > value:
            out.append(f"{where} {kind} {dims[d]}={factors[d]}, constrained to at most {value}")
    if rule.prefix and not permutation_ok(rule.prefix, order, factors):
        out.append(f"{where} {kind} loop order {''.join(dims[d] for d in order)} (loops of factor above 1 "
                   f"first) breaks the permutation {''.join(dims[d] for d in rule.prefix)} as timeloop-model "
                   "checks it")
    return out


def penalty(levels: tuple[LevelOrderRules, ...], temporal: np.ndarray, spatial: np.ndarray, rank: np.ndarray,
            xaxis: np.ndarray) -> np.ndarray:
    """(C,) number of literal order/split/empty-spatial violations of each candidate.

    Factors are not checked here (the mapspace already enforces them).  The mapper writes
    each level's non-trivial spatial loops X first, each axis in the constraint's order, so a
    candidate fails only if no such order exists.
    """
    C = temporal.shape[0]
    out = np.zeros(C, dtype=np.int64)
    for li, lr in enumerate(levels):
        if lr.t_prefix:
            act = temporal[:, li] > 1
            n_act = act.sum(axis=1)
            big = np.iinfo(np.int64).max
            r = np.where(act, rank[:, li].astype(np.int64), big)
            pos = (r[:, None, :] < r[:, :, None]).sum(axis=2)  # (C, D): active dims inner to each dim
            for j, d in enumerate(lr.t_prefix):
                out += ~((n_act <= j) | (act[:, d] & (pos[:, d] == j)))
        act = spatial[:, li] > 1
        n_act = act.sum(axis=1)
        xs = act & xaxis[:, li]
        n_x = xs.sum(axis=1)
        if lr.s_checked:
            out += n_act == 0
        for j, d in enumerate(lr.s_prefix):
            out += (n_act > 0) & ~((n_act <= j) | (act[:, d] & (xs[:, d] == (j < n_x))))
        if lr.split is not None:
            out += (n_act > 0) & (n_x != lr.split)
    return out


def spatial_order(prefix: Sequence[int], factors: Sequence[int], xaxis: Sequence[bool]) -> tuple[list[int], int]:
    """The spatial permutation the mapper writes and its split: the non-trivial X loops, then the
    non-trivial Y loops (each in the constraint prefix's order first), then the factor-1 dims."""
    nd = len(factors)
    rank = {d: i for i, d in enumerate(prefix)}

    def ordered(ds: list[int]) -> list[int]:
        return sorted(ds, key=lambda d: (rank.get(d, len(prefix)), d))

    xs = ordered([d for d in range(nd) if factors[d] > 1 and xaxis[d]])
    ys = ordered([d for d in range(nd) if factors[d] > 1 and not xaxis[d]])
    rest = ordered([d for d in range(nd) if factors[d] <= 1])
    return xs + ys + rest, len(xs)
