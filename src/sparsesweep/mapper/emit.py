"""Candidates <-> Timeloop ``mapping:`` entries <-> the engine's parsed mappings.

:func:`entries` writes one candidate as Timeloop mapping entries (permutations innermost
first, ``split`` on spatial entries: the non-trivial X loops, then the Y loops); :func:`to_mapping`
parses them back with the project's own Timeloop parser, so what is evaluated is exactly
what is written.  :func:`violations` checks any parsed mapping against the constraints
(independently of how the search generated it): the mapspace's semantics and, literally,
the check timeloop-model makes before it evaluates a mapping (:mod:`.tlcheck`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tl.mapping import Mapping, parse_mapping
from ..tl.spec import Spec
from .batch import Batch
from .constraints import Constraints, SlotRule
from .tlcheck import model_violations, spatial_order


def entries(spec: Spec, rules: Constraints, b: Batch, i: int) -> list[dict[str, Any]]:
    """Timeloop mapping entries for candidate ``i`` of ``b``."""
    arch, problem = spec.arch, spec.problem
    dims = problem.dims
    names = [d.name for d in problem.dataspaces]
    out: list[dict[str, Any]] = []
    for li, level in enumerate(arch.storage):
        kept = [names[t] for t in range(len(names)) if b.keep[i, li, t]]
        out.append({"target": level.name, "type": "datatype", "keep": kept,
                    "bypass": [x for x in names if x not in kept]})
    for li, level in enumerate(arch.storage):
        rule = rules.levels[li]
        fx, fy = arch.fanout(li)
        spatial = [int(v) for v in b.spatial[i, li]]
        if fx * fy > 1 or any(v > 1 for v in spatial):
            perm, split = spatial_order(rule.spatial.prefix, spatial, list(b.xaxis[i, li]))
            entry = {"target": level.name, "type": "spatial", "factors": _factors(dims, spatial),
                     "permutation": _perm(dims, perm), "split": split}
            entry.update({k: list(v) for k, v in rule.spatial.options.items() if k != "no_reduction"})
            out.append(entry)
        temporal = [int(v) for v in b.temporal[i, li]]
        active = sorted((d for d in range(len(dims)) if temporal[d] > 1), key=lambda d: int(b.rank[i, li, d]))
        rest = [d for d in rule.temporal.prefix if d not in active]
        rest += [d for d in range(len(dims)) if d not in active and d not in rest]
        entry = {"target": level.name, "type": "temporal", "factors": _factors(dims, temporal),
                 "permutation": _perm(dims, active + rest)}
        entry.update({k: list(v) for k, v in rule.temporal.options.items() if k != "no_reduction"})
        out.append(entry)
    return out


def _factors(dims: tuple[str, ...], values: list[int]) -> str:
    return " ".join(f"{d}{v}" for d, v in zip(dims, values))


def _perm(dims: tuple[str, ...], order: list[int]) -> str:
    sep = "" if all(len(d) == 1 for d in dims) else " "
    return sep.join(dims[d] for d in order)


def to_mapping(spec: Spec, mapping_entries: list[dict[str, Any]]) -> Mapping:
    return parse_mapping(spec.reader, mapping_entries, spec.arch, spec.problem)


def from_mapping(spec: Spec, mapping: Mapping) -> Batch:
    """A one-candidate batch for a parsed mapping."""
    n, dims = len(spec.arch.storage), len(spec.problem.dims)
    names = [d.name for d in spec.problem.dataspaces]
    temporal = np.ones((1, n, dims), dtype=np.int64)
    spatial = np.ones((1, n, dims), dtype=np.int64)
    rank = np.tile(np.arange(dims, 2 * dims, dtype=np.int16), (1, n, 1))
    xaxis = np.zeros((1, n, dims), dtype=bool)
    keep = np.zeros((1, n, len(names)), dtype=bool)
    for li, lvl in enumerate(mapping.levels):
        for pos, (d, bound) in enumerate(lvl.temporal):
            temporal[0, li, d] = bound
            rank[0, li, d] = pos
        for d, bound, is_x in lvl.spatial:
            spatial[0, li, d] = bound
            xaxis[0, li, d] = is_x
        for t, name in enumerate(names):
            keep[0, li, t] = name in lvl.keep
    return Batch(temporal, spatial, rank, xaxis, keep)


def violations(spec: Spec, rules: Constraints, mapping: Mapping, literal: bool = True) -> list[str]:
    """Every way ``mapping`` breaks the constraints (empty: it complies); ``literal=False`` leaves
    out timeloop-model's own check (:mod:`.tlcheck`), keeping the mapspace's semantics only."""
    out: list[str] = []
    dims = spec.problem.dims
    names = [d.name for d in spec.problem.dataspaces]
    total_spatial = 1
    for li, (lvl, rule) in enumerate(zip(mapping.levels, rules.levels)):
        where = spec.arch.storage[li].name
        t = dict(lvl.temporal)
        s = {d: b for d, b, _ in lvl.spatial}
        for d in s.values():
            total_spatial *= d
        for kind, r, factors in (("temporal", rule.temporal, t), ("spatial", rule.spatial, s)):
            for d in range(len(dims)):
                value = factors.get(d, 1)
                low, high, exact = r.bounds(d, spec.problem.bounds[d])
                if exact is not None and value != exact:
                    out.append(f"{where} {kind} {dims[d]}={value}, constrained to {exact}")
                if not low <= value <= high:
                    out.append(f"{where} {kind} {dims[d]}={value} outside [{low}, {high}]")
        order = [d for d, b in lvl.temporal if b > 1]
        out += _order_violations(where, "temporal", rule.temporal, order, dims)
        s_order = [d for d, b, x in lvl.spatial if b > 1 and x] + [d for d, b, x in lvl.spatial if b > 1 and not x]
        out += _order_violations(where, "spatial", rule.spatial, s_order, dims)
        for ds in names:
            if ds in rule.keep and ds not in lvl.keep:
                out.append(f"{where} bypasses {ds}, constrained to keep it")
            if ds in rule.bypass and ds in lvl.keep:
                out.append(f"{where} keeps {ds}, constrained to bypass it")
    if literal:
        levels = [s.name for s in spec.arch.storage]
        out += [v for v in model_violations(rules, mapping, dims, spec.problem.bounds, levels) if v not in out]
    if total_spatial < rules.min_utilization * spec.arch.compute.instances - 1e-9:
        out.append(f"utilization {total_spatial}/{spec.arch.compute.instances} below {rules.min_utilization}")
    return out


def _order_violations(where: str, kind: str, rule: SlotRule, order: list[int], dims: tuple[str, ...]) -> list[str]:
    pre = [d for d in rule.prefix if d in order]
    suf = [d for d in rule.suffix if d in order]
    bad = []
    if order[: len(pre)] != pre:
        bad.append(f"{where} {kind} loop order {''.join(dims[d] for d in order)} breaks the constrained "
                   f"innermost order {''.join(dims[d] for d in pre)}")
    if suf and order[len(order) - len(suf):] != suf:
        bad.append(f"{where} {kind} loop order {''.join(dims[d] for d in order)} breaks the constrained "
                   f"outermost order {''.join(dims[d] for d in suf)}")
    return bad
