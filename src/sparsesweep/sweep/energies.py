"""The energy tables of a sweep: one source for the whole sweep, one ERT per arch x memory setting.

The source is ``--energy`` when given, else ``scaled`` when a ``--set`` axis changes a component's
energy (memory sizes and widths, metadata sizes and word bits, technology) and ``pinned`` otherwise,
so the default study stays comparable with Timeloop's outputs.  Dense and sparse points of one
setting use the same source (each its own design's table).  Every table is built before any point
runs, so a component no model can estimate stops the sweep at once with one line (exit code 2);
points already in the cache stay there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..energy.ert import ENERGY_PARAMETERS, SOURCES, Energies, EnergySource, arch_energies, default_source
from ..energy.models import CachedModels, ComponentModels, Hwcomponents
from ..errors import SpecError
from ..specs.arch import ArchSpec
from .grid import FACTOR_SUFFIX, Grid, PlannedPoint


@dataclass(frozen=True)
class EnergyPlan:
    source: EnergySource
    reason: str  # why this source: "--energy" or which swept parameter made it the default
    tables: dict[tuple[str, bool], Energies] = field(default_factory=dict)  # (arch json, dense) -> tables

    def for_point(self, point: PlannedPoint) -> Energies:
        return self.tables[(_arch_key(point.arch), point.variant.dense)]

    def describe(self) -> str:
        return f"{self.source} ({self.reason})"


def plan_energies(grid: Grid, requested: str | None = None, models: ComponentModels | None = None) -> EnergyPlan:
    """Every table the grid's points need (see the module docs)."""
    if requested is not None and requested not in SOURCES:
        raise SpecError(f"unknown energy source '{requested}'", key="--energy", fix=f"use one of {', '.join(SOURCES)}")
    swept = {axis.removesuffix(FACTOR_SUFFIX) for axis in grid.axes}
    if requested:
        source, reason = requested, "--energy"
    else:
        source = default_source(swept)
        energetic = sorted(swept & ENERGY_PARAMETERS)
        reason = (f"default: --set {', '.join(energetic)} changes component energies" if energetic
                  else "default: no energy-relevant parameter is swept")
    models = models or CachedModels(Hwcomponents())
    tables: dict[tuple[str, bool], Energies] = {}
    for point in grid.points:
        key = (_arch_key(point.arch), point.variant.dense)
        if key not in tables:
            tables[key] = arch_energies(point.arch, source, models, dense=point.variant.dense)  # type: ignore[arg-type]
    return EnergyPlan(source, reason, tables)  # type: ignore[arg-type]


def _arch_key(arch: ArchSpec) -> str:
    return arch.model_dump_json()
