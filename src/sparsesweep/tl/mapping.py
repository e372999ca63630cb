"""Mapping: per-level temporal/spatial factors, loop orders and keep/bypass choices.

Timeloop semantics: the first letter of a permutation is the innermost loop; a spatial
entry's first ``split`` dimensions (of its permutation) go to the X axis, the rest to Y
(default split: all to X); within a level the spatial loops sit inside the temporal ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .arch import Architecture
from ..errors import suggest as suggest_name
from .common import Path, Reader
from .problem import Problem

ENTRY_KEYS = {"target", "type", "factors", "permutation", "split", "keep", "bypass", "stream",
              "no_link_transfer", "no_multicast", "no_temporal_reuse", "rmw_first_update", "no_coalesce"}
_FACTOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*?)\s*=?\s*(\d+)$")


@dataclass(frozen=True)
class Loop:
    """One non-trivial loop of the nest."""

    dim: int  # problem dimension index
    bound: int
    level: int  # storage level index (0 = innermost storage)
    spatial: bool
    axis_x: bool = False  # spatial loops: X (True) or Y (False)


@dataclass(frozen=True)
class LevelMapping:
    temporal: tuple[tuple[int, int], ...]  # (dim, bound) inner -> outer, trivial loops included
    spatial: tuple[tuple[int, int, bool], ...]  # (dim, bound, is_x) inner -> outer
    keep: frozenset[str]
    no_link_transfer: frozenset[str] = frozenset()  # dataspaces not forwarded between neighbours

    def spatial_product(self, x: bool | None = None) -> int:
        out = 1
        for _, bound, is_x in self.spatial:
            if x is None or is_x == x:
                out *= bound
        return out


@dataclass(frozen=True)
class Mapping:
    levels: tuple[LevelMapping, ...]  # per storage level, innermost first

    def loops(self) -> list[Loop]:
        """The nest, innermost loop first, without trivial (bound 1) loops."""
        out: list[Loop] = []
        for li, lvl in enumerate(self.levels):
            out.extend(Loop(d, b, li, True, x) for d, b, x in lvl.spatial if b > 1)
            out.extend(Loop(d, b, li, False) for d, b in lvl.temporal if b > 1)
        return out

    def keeps(self, level: int, ds: str) -> bool:
        return ds in self.levels[level].keep


def parse_mapping(reader: Reader, raw: Any, arch: Architecture, problem: Problem) -> Mapping:
    """Parse the normalised ``mapping`` list (v0.3/v0.4 entry list)."""
    path: Path = ("mapping",)
    if isinstance(raw, MappingABC) and "mapping" in raw:
        raw = raw["mapping"]
        path = ("mapping", "mapping")
    entries = reader.seq(raw, path)
    n = len(arch.storage)
    names = [s.name for s in arch.storage]
    dsnames = [d.name for d in problem.dataspaces]
    temporal: list[dict[int, int] | None] = [None] * n
    t_order: list[list[int]] = [[] for _ in range(n)]
    spatial: list[dict[int, int] | None] = [None] * n
    s_order: list[list[int]] = [[] for _ in range(n)]
    split: list[int] = [len(problem.dims)] * n
    keep = [set(dsnames) for _ in range(n)]
    no_links: list[set[str]] = [set() for _ in range(n)]
    for i, entry in enumerate(entries):
        epath = path + (i,)
        entry = reader.mapping(entry, epath)
        reader.check_keys(entry, epath, ENTRY_KEYS)
        target = reader.string(reader.require(entry, "target", epath), epath + ("target",))
        if target == arch.compute.name:
            raise reader.error(epath + ("target",), f"'{target}' is the compute level",
                               "map loops onto storage levels only")
        if target not in names:
            raise reader.error(epath + ("target",), f"unknown level '{target}'", suggest_name(target, names))
        li = names.index(target)
        kind = reader.choice(reader.require(entry, "type", epath), epath + ("type",),
                             ("temporal", "spatial", "datatype", "bypass"))
        if kind in ("datatype", "bypass"):
            for key, present in (("keep", True), ("bypass", False)):
                for j, ds in enumerate(reader.str_list(entry.get(key), epath + (key,))):
                    if ds not in dsnames:
                        raise reader.error(epath + (key, j), f"unknown dataspace '{ds}'", suggest_name(ds, dsnames))
                    (keep[li].add if present else keep[li].discard)(ds)
            continue
        table, order = (temporal, t_order) if kind == "temporal" else (spatial, s_order)
        if table[li] is not None:
            raise reader.error(epath, f"second {kind} entry for level '{target}'", "merge the two entries")
        table[li] = _factors(reader, entry.get("factors"), epath + ("factors",), problem)
        order[li] = _permutation(reader, entry.get("permutation"), epath + ("permutation",), problem)
        if kind == "spatial" and "split" in entry:
            split[li] = reader.integer(entry["split"], epath + ("split",), 0)
        for j, ds in enumerate(reader.str_list(entry.get("no_link_transfer"), epath + ("no_link_transfer",))):
            if ds not in dsnames:
                raise reader.error(epath + ("no_link_transfer", j), f"unknown dataspace '{ds}'",
                                   suggest_name(ds, dsnames))
            no_links[li].add(ds)
    _infer_zero_factors(reader, temporal, spatial, problem, path)
    levels = []
    for li in range(n):
        t = temporal[li] or {}
        s = spatial[li] or {}
        t_loops = tuple((d, t.get(d, 1)) for d in t_order[li])
        s_perm = s_order[li]
        s_loops = tuple((d, s.get(d, 1), pos < split[li]) for pos, d in enumerate(s_perm))
        levels.append(LevelMapping(temporal=t_loops, spatial=s_loops, keep=frozenset(keep[li]),
                                   no_link_transfer=frozenset(no_links[li])))
    mapping = Mapping(levels=tuple(levels))
    _check_products(reader, mapping, problem, path)
    outer = n - 1
    missing = [d for d in dsnames if d not in keep[outer]]
    if missing:
        raise reader.error(path, f"the outermost level '{names[outer]}' must keep every dataspace; it bypasses "
                           + ", ".join(missing), f"keep {', '.join(missing)} at {names[outer]}")
    return mapping


def _factors(reader: Reader, raw: Any, path: Path, problem: Problem) -> dict[int, int]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        items = raw.replace(",", " ").split()
    elif isinstance(raw, list):
        items = [str(x) for x in raw]
    elif isinstance(raw, MappingABC):
        items = [f"{k}={v}" for k, v in raw.items()]
    else:
        raise reader.error(path, f"cannot read factors {raw!r}", "write e.g. 'M16 N1 K32' or 'M=16 N=1 K=32'")
    out: dict[int, int] = {}
    for item in items:
        match = _FACTOR.match(item.strip())
        if not match:
            raise reader.error(path, f"cannot read factor '{item}'", "write factors as DIM=VALUE or DIMVALUE")
        name, value = match[1], int(match[2])
        if name not in problem.dims:
            raise reader.error(path, f"unknown dimension '{name}' in factors", suggest_name(name, problem.dims))
        out[problem.dims.index(name)] = value  # 0 = "whatever remains" (inferred later)
    return out


def _permutation(reader: Reader, raw: Any, path: Path, problem: Problem) -> list[int]:
    dims = problem.dims
    if raw is None:
        names: Sequence[str] = []
    elif isinstance(raw, list):
        names = [str(x) for x in raw]
    elif isinstance(raw, str):
        text = raw.strip()
        if all(len(d) == 1 for d in dims):
            names = [c for c in text if not c.isspace() and c != ","]
        elif " " in text or "," in text:
            names = text.replace(",", " ").split()
        else:
            names = _greedy_split(text, dims)
    else:
        raise reader.error(path, f"cannot read permutation {raw!r}", "write e.g. 'KMN' (innermost first)")
    order: list[int] = []
    for name in names:
        if name not in dims:
            raise reader.error(path, f"unknown dimension '{name}' in permutation", suggest_name(name, dims))
        if dims.index(name) in order:
            raise reader.error(path, f"dimension '{name}' appears twice in the permutation", "list it once")
        order.append(dims.index(name))
    order.extend(i for i in range(len(dims)) if i not in order)  # unlisted dims go outermost
    return order


def _greedy_split(text: str, dims: Sequence[str]) -> list[str]:
    out, rest = [], text
    by_length = sorted(dims, key=len, reverse=True)
    while rest:
        match = next((d for d in by_length if rest.startswith(d)), None)
        if match is None:
            return [text]
        out.append(match)
        rest = rest[len(match):]
    return out


def _infer_zero_factors(reader: Reader, temporal: list[dict[int, int] | None], spatial: list[dict[int, int] | None],
                        problem: Problem, path: Path) -> None:
    """Replace a factor of 0 by the bound divided by the dimension's other factors."""
    tables = [t for t in temporal + spatial if t is not None]
    for di, dim in enumerate(problem.dims):
        zeros = [t for t in tables if t.get(di) == 0]
        if not zeros:
            continue
        if len(zeros) > 1:
            raise reader.error(path, f"dimension {dim} has more than one factor of 0 (inferred)",
                               "leave at most one factor of each dimension to be inferred")
        known = 1
        for t in tables:
            known *= t.get(di, 1) if t.get(di) != 0 else 1
        if problem.bounds[di] % known:
            raise reader.error(path, f"cannot infer the {dim} factor: {known} does not divide {problem.bounds[di]}",
                               f"give explicit {dim} factors that multiply to {problem.bounds[di]}")
        zeros[0][di] = problem.bounds[di] // known


def _check_products(reader: Reader, mapping: Mapping, problem: Problem, path: Path) -> None:
    for di, dim in enumerate(problem.dims):
        product = 1
        for lvl in mapping.levels:
            product *= dict(lvl.temporal).get(di, 1)
            product *= {d: b for d, b, _ in lvl.spatial}.get(di, 1)
        if product != problem.bounds[di]:
            raise reader.error(path, f"the factors of dimension {dim} multiply to {product}, but the problem "
                               f"bound is {problem.bounds[di]}",
                               f"make the {dim} factors over all levels multiply to {problem.bounds[di]} "
                               "(imperfect factorisation is not supported)")
