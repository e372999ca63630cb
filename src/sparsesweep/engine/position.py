"""Position-skipping, as the 2022 Sparseloop artifact build modelled it (DSTC).

No Timeloop release has ``position-skipping``; the MICRO'22 artifact's build used it for
the dual-side unstructured design (DSTC), where each innermost storage instance feeds a
grid of MAC lanes and the nonzeros of both operand fibers are packed onto the lanes.  The
rules below were inferred from the artifact's outputs (see the reference MODEL_NOTES):

* computes = algorithmic x dA x dB (expected densities), none gated or skipped;
* per step, an operand fiber of ``a`` nonzeros fills ``ceil(a / lanes)`` lane groups; each
  value of one operand is read once per lane group of the other:
  reads_A = ceil(steps x E[a] x E[ceil(b / lanes_B)]) and symmetrically for B;
* the average lane utilisation ``u = E[a / (lanes ceil(a / lanes))]`` sets the MAC
  instances in use (compute instances x u_A x u_B) and so the compute cycles.
Fills and format accesses are not position-skipped.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from ..tl.spec import Spec
from .counts import ComputeCounts, OpCounts, TensorCounts
from .density import DensityModel, expected_occupancy, occupancy_distribution
from .nest import NestResult
from .oracle import SparseModels

Levels = tuple[tuple[TensorCounts, ...], ...]


def _unsupported(what: str) -> SpecError:
    return SpecError(f"position-skipping: {what}", key="sparse_optimizations",
                     fix="use position-skipping on both read-only operands at the innermost storage level, "
                         "whose spatial loops feed the MACs (as in the DSTC design)")


def apply_position_skipping(spec: Spec, nest: NestResult, models: SparseModels, levels: Levels,
                            compute: ComputeCounts, targets: list[tuple[int, str]]) -> tuple[Levels, ComputeCounts]:
    """Replace the innermost level's operand reads and the compute counts (see module doc).

    A target without metadata at the level cannot find its nonzeros: its position-skipping
    is ineffective and it counts as dense, as in the artifact.
    """
    level_ids = {li for li, _ in targets}
    operands = [d for d in spec.problem.dataspaces if not d.read_write]
    names = {d.name for d in operands}
    if len(level_ids) != 1 or len(operands) != 2 or not {t for _, t in targets} <= names:
        raise _unsupported("it must target read-only operands (two of them in the problem) at one level")
    li = level_ids.pop()
    if li != 0:
        raise _unsupported(f"level '{spec.arch.storage[li].name}' is not the innermost storage level")
    if spec.mapping is None:
        raise _unsupported("a mapping is needed")
    effective = {t for _, t in targets if models.has_metadata(li, t)}
    if not effective:
        return levels, compute
    spatial = [(d, b) for d, b, _ in spec.mapping.levels[0].spatial if b > 1]
    stats = {}
    for ds in operands:
        lanes = math.prod(b for d, b in spatial if ds.relevant(d))
        tile = nest.tiles[ds.name][li]
        if not tile.kept:
            raise _unsupported(f"'{ds.name}' must be kept at '{spec.arch.storage[li].name}'")
        if ds.name in effective:
            mean, groups, use, density = _lane_stats(models.model(ds.name), tile.extents, len(ds.ranks), lanes)
        else:
            mean, groups, use, density = _dense_lane_stats(tile.size, lanes)
        stats[ds.name] = {"lanes": lanes, "points": tile.size, "reads": tile.reads, "mean": mean,
                          "groups": groups, "use": use, "density": density}
    a, b = (stats[d.name] for d in operands)
    steps = a["reads"] / (a["points"] * b["points"] / b["lanes"])
    reads = {operands[0].name: math.ceil(steps * a["mean"] * b["groups"] - 1e-9),
             operands[1].name: math.ceil(steps * b["mean"] * a["groups"] - 1e-9)}
    new_level = tuple(t._replace(reads=OpCounts(reads[t.dataspace])) if t.dataspace in reads else t
                      for t in levels[li])
    actual = compute.algorithmic - math.floor(compute.algorithmic * (1.0 - a["density"] * b["density"]))
    avg = nest.compute_instances * a["use"] * b["use"]
    new_compute = ComputeCounts(algorithmic=compute.algorithmic, random=actual, gated=0, skipped=0,
                                avg_instances=avg, max_instances=compute.max_instances)
    return levels[:li] + (new_level,) + levels[li + 1:], new_compute


@lru_cache(maxsize=1024)
def _lane_stats(model: DensityModel, extents: tuple[int, ...], ranks: int, lanes: int
                ) -> tuple[float, float, float, float]:
    """(E[a], E[ceil(a / lanes)], lane utilisation, scalar density) of a fiber of this tile's occupancy."""
    dist = occupancy_distribution(model, extents)
    k, p = np.asarray(dist.values, dtype=float), np.asarray(dist.probs, dtype=float)
    density = float(expected_occupancy(model, (1,) * ranks))
    return (*_moments(k, p, lanes), density)


@lru_cache(maxsize=1024)
def _dense_lane_stats(points: int, lanes: int) -> tuple[float, float, float, float]:
    """The same for an operand without metadata (it counts as dense)."""
    return (*_moments(np.array([float(points)]), np.array([1.0]), lanes), 1.0)


def _moments(k: np.ndarray, p: np.ndarray, lanes: int) -> tuple[float, float, float]:
    groups = np.ceil(k / lanes)
    use = np.where(k > 0, k / (lanes * np.maximum(groups, 1.0)), 0.0)
    return float(np.dot(k, p)), float(np.dot(groups, p)), float(np.dot(use, p))
