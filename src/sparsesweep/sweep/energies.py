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

from ..energy.components import arch_components
from ..energy.ert import (ENERGY_PARAMETERS, SOURCES, Energies, EnergySource, arch_energies, default_source,
                          reference_arch)
from ..energy.models import CachedModels, ComponentModels, Hwcomponents
from ..errors import SparsesweepError, SpecError
from ..specs.ert import load_ert_cached
from ..specs.arch import ArchSpec
from .grid import FACTOR_SUFFIX, Grid, PlannedPoint


@dataclass(frozen=True)
class EnergyPlan:
    source: EnergySource
    reason: str  # why this source: "--energy" or which swept parameter made it the default
    tables: dict[tuple[str, bool], Energies] = field(default_factory=dict)  # (arch json, dense) -> tables
    _keys: dict[int, tuple[ArchSpec, str]] = field(default_factory=dict, compare=False, repr=False)  # id -> json

    def for_point(self, point: PlannedPoint) -> Energies:
        arch = point.arch  # points share their arch objects: encode each once (it is held, so its id stays its)
        known = self._keys.get(id(arch))
        if known is None or known[0] is not arch:
            known = self._keys[id(arch)] = (arch, _arch_key(arch))
        return self.tables[(known[1], point.variant.dense)]

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
    if isinstance(models, CachedModels):  # every distinct component at once: CACTI runs overlap
        archs = {_arch_key(p.arch): p.arch for p in grid.points}.values()
        wanted = [c for arch in archs for c in _components_with_reference(arch, source)]
        try:
            models.prefetch(wanted)
        except SparsesweepError:
            if source != "pinned":
                raise  # with pinned energies a component without a model only leaves the area out (below)
    tables: dict[tuple[str, bool], Energies] = {}
    for point in grid.points:
        key = (_arch_key(point.arch), point.variant.dense)
        if key not in tables:
            tables[key] = arch_energies(point.arch, source, models, dense=point.variant.dense)  # type: ignore[arg-type]
    return EnergyPlan(source, reason, tables)  # type: ignore[arg-type]


def _components_with_reference(arch: ArchSpec, source: str) -> list:
    """The components of ``arch`` and, for ``scaled``, of its reference; none when they cannot be listed
    (the tables then report the problem in one line)."""
    try:
        out = arch_components(arch)
        if source == "scaled":
            for dense in (False, True):
                derived = load_ert_cached(arch.ert_path(dense=dense))[0].derived_for
                out += arch_components(reference_arch(arch, derived))
        return out
    except SparsesweepError:
        return []


def _arch_key(arch: ArchSpec) -> str:
    return arch.model_dump_json()
