"""Densities, representation formats and SAFs of the random differential-testing inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from .options import GenOptions
from .problems import Problem

DENSITY_VALUES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.8, 1.0)
Slot = tuple[int, str]


@dataclass(frozen=True)
class Layout:
    """The drawn problem, levels (outermost first), fanouts, mapping factors and kept dataspaces."""

    prob: Problem
    names: tuple[str, ...]
    fanouts: tuple[int, ...]
    factors: dict[Slot, dict[str, int]]
    keep: dict[str, set[str]]

    def loops(self, ds: str, start: int, stop: int) -> int:
        """Loops (factor > 1) of levels ``start..stop-1`` over dimensions that index ``ds``."""
        count = 0
        for (i, _kind), fac in self.factors.items():
            if start <= i < stop:
                count += sum(1 for d, f in fac.items() if f > 1 and d in self.prob.relevant[ds])
        return count

    def keeping(self, ds: str) -> list[int]:
        return [i for i, name in enumerate(self.names) if ds in self.keep[name]]


@dataclass
class SparseDraw:
    targets: list[dict[str, Any]] = field(default_factory=list)
    metadata_levels: set[str] = field(default_factory=set)  # levels that need metadata storage
    decompress_levels: set[str] = field(default_factory=set)  # levels given decompression_supported
    wild: bool = False  # formats not at every keeping level of a tensor


def draw_densities(draw: st.DrawFn, prob: Problem, opts: GenOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ds in prob.operands:
        if not opts.densities or draw(st.integers(0, 2)) == 0:
            continue
        models = list(opts.densities)
        dims = [d for d in prob.dims if d in prob.relevant[ds]]
        square = len(dims) == 2 and prob.sizes[dims[0]] == prob.sizes[dims[1]] and prob.kind == "gemm"
        if "banded" in models and not square:
            models.remove("banded")
        if not models:
            continue
        model = draw(st.sampled_from(models))
        if model == "banded":
            out[ds] = {"distribution": "banded", "band_width": draw(st.integers(0, 2))}
        else:
            out[ds] = {"distribution": model, "density": draw(st.sampled_from(DENSITY_VALUES))}
    return out


def _rank(draw: st.DrawFn, fmt: str, opts: GenOptions) -> dict[str, Any]:
    rank: dict[str, Any] = {"format": fmt}
    if fmt == "UOP":
        if opts.payload_bits and draw(st.booleans()):
            rank["payload-word-bits"] = draw(st.integers(0, 8))
    elif draw(st.integers(0, 3)) > 0:
        rank["metadata-word-bits"] = draw(st.integers(1, 8))
    return rank


def _outer(draw: st.DrawFn, count: int, below: str, opts: GenOptions) -> list[dict[str, Any]]:
    """``count`` ranks to put above a rank of format ``below``: some of its format, then UOP on top
    (a compressed rank above an uncompressed one is refused by Timeloop, so mostly not drawn)."""
    if count <= 0:
        return []
    uop = draw(st.integers(0, count)) if "UOP" in opts.formats and below != "UOP" else count
    if "UOP" not in opts.formats:
        uop = 0
    return [_rank(draw, "UOP" if k < uop else below, opts) for k in range(count)]


def _ranks_for(draw: st.DrawFn, layout: Layout, ds: str, opts: GenOptions,
               wild: bool) -> dict[int, list[dict[str, Any]]]:
    """Rank lists per keeping level that holds ``ds`` with a format (outermost rank first)."""
    keeping = layout.keeping(ds)
    n = len(layout.names)
    inner_fmt = draw(st.sampled_from(opts.formats))
    with_format = {i: (draw(st.integers(0, 2)) > 0 if wild else True) for i in keeping}
    out: dict[int, list[dict[str, Any]]] = {}
    child: list[dict[str, Any]] | None = None
    for pos in range(len(keeping) - 1, -1, -1):
        i = keeping[pos]
        if not with_format[i]:
            child = None
            continue
        slack = draw(st.sampled_from((0, 0, 1, -1) if wild else (0, 0, 1)))
        if child is None:
            count = max(1, layout.loops(ds, i, n) + slack)
            ranks = _outer(draw, count - 1, inner_fmt, opts) + [_rank(draw, inner_fmt, opts)]
        else:
            own = max(0, layout.loops(ds, i, keeping[pos + 1]) + slack)
            ranks = _outer(draw, own, child[0]["format"], opts) + [dict(r) for r in child]
        out[i] = ranks
        child = ranks
    return out


def _safs(draw: st.DrawFn, layout: Layout, i: int, opts: GenOptions) -> list[dict[str, Any]]:
    types = [t for t in opts.safs if t != "skipping-spatial" or layout.fanouts[i] > 1]
    if not types or draw(st.integers(0, 1)) == 0:
        return []
    dataspaces = layout.prob.dataspaces
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(types))
        target = draw(st.sampled_from(dataspaces))
        others = [ds for ds in dataspaces if ds != target]
        cond = [ds for ds in others if draw(st.booleans())] or [draw(st.sampled_from(others))]
        if (kind, target) in seen:
            continue
        seen.add((kind, target))
        out.append({"type": kind, "target": target, "condition-on": cond})
    return out


def draw_sparse(draw: st.DrawFn, layout: Layout, densities: dict[str, Any], opts: GenOptions) -> SparseDraw:
    result = SparseDraw()
    formats: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(layout.names))}
    if opts.formats:
        for ds in layout.prob.dataspaces:
            sparse = ds in densities
            chance = 0 if ds == layout.prob.output else (2 if sparse else 1)
            if draw(st.integers(0, 5)) >= chance + (1 if ds == layout.prob.output else 0):
                continue
            wild = opts.wild_placement and draw(st.integers(0, 3)) == 0
            per_level = _ranks_for(draw, layout, ds, opts, wild)
            if wild and per_level and set(per_level) != set(layout.keeping(ds)):
                result.wild = True
            for i, ranks in per_level.items():
                formats[i].append({"name": ds, "ranks": ranks})
    for i, name in enumerate(layout.names):
        target: dict[str, Any] = {"name": name}
        if formats[i]:
            target["representation-format"] = {"data-spaces": formats[i]}
            result.metadata_levels.add(name)
        elif result.wild and i > 0 and draw(st.booleans()):
            result.decompress_levels.add(name)
        safs = _safs(draw, layout, i, opts)
        if safs:
            target["action-optimization"] = safs
        if len(target) > 1:
            result.targets.append(target)
    if opts.compute_safs and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(("gating", "skipping")))
        result.targets.append({"name": "MAC", "compute-optimization": [{"type": kind}]})
    return result
