"""One evaluation point, parsed: architecture, problem, mapping, sparse opts, energies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import suggest
from ..inputs import SpecBundle
from .arch import Architecture, parse_architecture
from .common import Reader, normalize
from .ert import EnergyTable, energy_table, parse_ert
from .mapping import Mapping as LoopMapping
from .mapping import parse_mapping
from .problem import Problem, parse_problem
from .sparse import SparseOpts, parse_sparse

# Top-level keys Timeloop inputs may carry; the engine reads the first five.
KNOWN_TOP = ("architecture", "problem", "mapping", "sparse_optimizations", "ERT", "compound_components",
             "architecture_constraints", "mapspace_constraints", "mapspace", "mapper", "model", "ART",
             "globals", "variables", "components", "constraints", "output", "version", "accelergy")


@dataclass(frozen=True)
class Spec:
    """Everything the engine needs for one point."""

    bundle: SpecBundle
    arch: Architecture
    problem: Problem
    mapping: LoopMapping | None
    sparse: SparseOpts
    energies: EnergyTable | None

    @property
    def reader(self) -> Reader:
        return Reader(self.bundle)


def load_spec(bundle: SpecBundle, *, need_mapping: bool = True, need_energy: bool = True) -> Spec:
    """Parse and validate a bundle; raises located SpecErrors on bad input."""
    reader = Reader(bundle)
    for key in bundle.data:
        if key not in KNOWN_TOP:
            raise bundle.error(f"unknown top-level key '{key}'", (key,), suggest(key, KNOWN_TOP))
    data: Mapping[str, Any] = {k: normalize(v) for k, v in bundle.data.items() if k != "compound_components"}
    for key in ("architecture", "problem"):
        if key not in data:
            raise bundle.error(f"no '{key}' in the inputs", (key,), f"add a file with a top-level '{key}:' key")
    arch = parse_architecture(reader, data["architecture"])
    problem = parse_problem(reader, data["problem"])
    mapping = None
    if "mapping" in data:
        mapping = parse_mapping(reader, data["mapping"], arch, problem)
    elif need_mapping:
        raise bundle.error("no 'mapping' in the inputs", ("mapping",),
                           "add a mapping, or search for one with 'sparsesweep map'")
    sparse = SparseOpts()
    if "sparse_optimizations" in data and data["sparse_optimizations"] is not None:
        sparse = parse_sparse(reader, data["sparse_optimizations"], arch, problem)
    energies = None
    if "ERT" in data:
        tables = parse_ert(reader, data["ERT"])
        energies = energy_table(tables, {s.name: s.cluster_size for s in arch.storage})
        if energies.wire_energy > 0:
            raise bundle.error("the ERT gives wire (network) energy, which the engine does not model", ("ERT",),
                               "remove the wire table or set its energy to 0 (the engine charges no network energy)")
    elif need_energy:
        raise bundle.error("no energy reference table (ERT) in the inputs", ("ERT",),
                           "pass --ert FILE or put an ERT.yaml (top-level 'ERT:') beside the input")
    return Spec(bundle=bundle, arch=arch, problem=problem, mapping=mapping, sparse=sparse, energies=energies)
