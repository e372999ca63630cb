"""Energy reference tables (ERT) and area tables of an architecture, from one of three sources.

- ``pinned``: the arch's ``ert:`` file (``dense_ert:`` for dense points), used as it is.
- ``hwcomponents``: every action from the component models (see :mod:`.components`): stores read
  and write at their width and depth, gated accesses cost one cycle of leakage, metadata actions
  come from the separate metadata store at its own word width, the MAC from an integer MAC model.
  Dense points model the same geometry without sparsity support: no metadata store.
- ``scaled``: the pinned energy times the model's ratio between this point's parameters and the
  pinned table's reference parameters (its ``derived_for``, applied to the point's arch); it equals
  ``pinned`` at the reference point and follows sizes and widths elsewhere.  A gated action whose
  reference leakage is zero scales like its access; an action the reference lacks (e.g. RF metadata
  when the reference RF has none) takes the model's own value.

Area (um^2) comes from the models whatever the energy source: per component instance, per
component (x instances) and per design (the sum; dense designs have no metadata stores; DRAM is
off chip and not counted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SparsesweepError, SpecError
from ..specs.arch import ArchSpec, apply_overrides
from ..specs.ert import ert_for_arch, load_ert_cached
from .components import Component, arch_components
from .models import ComponentModels, Estimate

EnergySource = Literal["pinned", "hwcomponents", "scaled"]
SOURCES: tuple[str, ...] = ("pinned", "hwcomponents", "scaled")

# Arch parameters that change a component model's energy: sweeping any of them makes ``scaled`` the
# sweep's default energy source.
ENERGY_PARAMETERS = frozenset({
    "technology", "word_bits", "dram_type", "dram_width_bits", "dram_metadata_width_bits",
    "smem_kib", "smem_width_bits", "smem_metadata_kib", "smem_metadata_width_bits", "smem_banks", "smem_ports",
    "rf_words", "rf_width_bits", "rf_banks", "rf_ports", "rf_metadata_bits", "rf_metadata_width_bits",
    "lrf_words", "lrf_width_bits", "lrf_metadata_bits", "lrf_metadata_width_bits",
})
_STORE_LEVELS = ("SMEM", "RF", "LRF")
_RANGE = re.compile(r"\[[^\]]*\]")
# A gated action scales like this access when its own reference energy is zero.
_FALLBACK = {"gated_read": "read", "gated_write": "write", "gated_metadata_read": "metadata_read",
             "gated_metadata_write": "metadata_write", "mac_gated": "mac_random", "mac_skipped": "mac_random"}


@dataclass(frozen=True)
class AreaRow:
    component: str  # e.g. SMEM.data
    model_class: str
    attributes: str
    model: str
    instances: int
    area_um2: float  # one instance


@dataclass(frozen=True)
class Energies:
    """An arch's ERT (as Timeloop's ``ERT:`` document) from one source, and its area."""

    source: EnergySource
    ert: dict[str, Any]  # {"ERT": {"version": 0.3, "tables": [...]}}
    area: tuple[AreaRow, ...]
    design_area_um2: float
    note: str  # where the energies come from, for file headers and reports
    warnings: tuple[str, ...] = ()

    def level_actions(self) -> dict[str, dict[str, float]]:
        """``{level: {action: pJ}}`` of the tables."""
        return _tables(self.ert)

    def art(self) -> dict[str, Any]:
        """Accelergy's area reference table (``ART:``, um^2 per instance) plus the design total."""
        return {"ART": {"version": 0.3, "tables": [
            {"name": r.component, "class": r.model_class, "attributes": r.attributes, "model": r.model,
             "instances": r.instances, "area": _round(r.area_um2), "total_area": _round(r.area_um2 * r.instances)}
            for r in self.area], "design_area": _round(self.design_area_um2), "unit": "um^2"}}


def arch_energies(arch: ArchSpec, source: EnergySource, models: ComponentModels | None, *,
                  dense: bool = False) -> Energies:
    """The ERT of ``arch`` (its dense table when ``dense``) from ``source``; models give the area.

    ``models`` may be None only for ``pinned``, and then the area is not computed (empty, 0); with
    ``pinned``, a component no model can estimate only leaves the area out (with a warning).
    """
    if source not in SOURCES:
        raise SpecError(f"unknown energy source '{source}'", key="--energy", fix=f"use one of {', '.join(SOURCES)}")
    ert_path = arch.ert_path(dense=dense)
    pinned_file, pinned_doc = load_ert_cached(ert_path)
    pinned, warnings = ert_for_arch(pinned_file, pinned_doc, arch)
    if models is None:
        if source != "pinned":
            raise ValueError("component models are needed for energy source " + source)
        return Energies("pinned", pinned, (), 0.0, f"pinned ERT {ert_path.name}", tuple(warnings))
    try:
        estimates = [(c, models.estimate(c)) for c in arch_components(arch)]
    except SparsesweepError as exc:
        if source != "pinned":
            raise
        warnings.append(f"no area for arch '{arch.name}': {exc.one_line()}")
        return Energies("pinned", pinned, (), 0.0, f"pinned ERT {ert_path.name}", tuple(warnings))
    area = tuple(AreaRow(c.name, c.model_class, c.describe(), e.model, c.instances, e.area_um2)
                 for c, e in estimates if not (dense and c.part == "metadata"))
    design_area = _round(sum(r.area_um2 * r.instances for r in area if not r.component.startswith("DRAM")))
    if source == "pinned":
        return Energies("pinned", pinned, area, design_area, f"pinned ERT {ert_path.name}", tuple(warnings))
    raw = _model_tables(arch, estimates, dense)
    if source == "hwcomponents":
        return Energies(source, _as_ert(arch, raw), area, design_area,
                        "hwcomponents models (" + ", ".join(sorted({e.model for _, e in estimates})) + ")")
    reference = reference_arch(arch, pinned_file.derived_for)
    ref_raw = _model_tables(reference, [(c, models.estimate(c)) for c in arch_components(reference)], dense)
    scaled = _scaled(_tables(pinned), raw, ref_raw)
    return Energies(source, _as_ert(arch, scaled), area, design_area,
                    f"pinned ERT {ert_path.name} x hwcomponents ratio to its reference parameters")


def reference_arch(arch: ArchSpec, derived_for: Mapping[str, Any]) -> ArchSpec:
    """``arch`` at the parameters its pinned table was derived for."""
    return apply_overrides(arch, dict(derived_for), source="derived_for") if derived_for else arch


def default_source(swept: set[str] | frozenset[str]) -> EnergySource:
    """``scaled`` when a swept parameter changes component energies, else ``pinned``."""
    return "scaled" if set(swept) & ENERGY_PARAMETERS else "pinned"


# ---- internals ---------------------------------------------------------------------------------

def _model_tables(arch: ArchSpec, estimates: list[tuple[Component, Estimate]], dense: bool) -> dict[str, dict[str, float]]:
    by_name = {c.name: e for c, e in estimates}
    tables: dict[str, dict[str, float]] = {}
    dram = by_name["DRAM.data"]
    per_bit = dram.actions["read"] / arch.dram_width_bits
    tables["DRAM"] = {"read": dram.actions["read"], "write": dram.actions["write"], "idle": 0.0}
    if not dense:
        md = per_bit * arch.dram_metadata_width_bits
        tables["DRAM"].update(metadata_read=md, metadata_write=md)
    for level in _STORE_LEVELS:
        data, md = by_name[f"{level}.data"], None if dense else by_name.get(f"{level}.metadata")
        tables[level] = {"write": data.actions["write"], "read": data.actions["read"],
                         "gated_write": data.idle_pj, "gated_read": data.idle_pj,
                         "metadata_read": md.actions["read"] if md else 0.0,
                         "metadata_write": md.actions["write"] if md else 0.0,
                         "gated_metadata_read": md.idle_pj if md else 0.0,
                         "gated_metadata_write": md.idle_pj if md else 0.0}
    mac = by_name["MAC.compute"]
    tables["MAC"] = {"mac_random": mac.actions["mac"], "mac_gated": mac.idle_pj, "mac_skipped": mac.idle_pj}
    return tables


def _tables(ert: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    return {_RANGE.sub("", t["name"]).rsplit(".", 1)[-1]: {a["name"]: float(a["energy"]) for a in t["actions"]}
            for t in ert["ERT"]["tables"]}


def _scaled(pinned: dict[str, dict[str, float]], new: dict[str, dict[str, float]],
            ref: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for level, actions in pinned.items():
        out[level] = {}
        for action, energy in actions.items():
            n, r = new.get(level, {}).get(action), ref.get(level, {}).get(action)
            if n is None or r is None:
                out[level][action] = energy  # no model counterpart (e.g. DRAM idle): pinned as it is
            elif r > 0:
                out[level][action] = energy * (n / r)  # exactly the pinned value when n == r
            elif n > 0 and energy == 0:
                out[level][action] = n  # the reference lacks this component; the point has it
            elif action in _FALLBACK:
                fb = _FALLBACK[action]
                rn, rr = new[level].get(fb, 0.0), ref[level].get(fb, 0.0)
                out[level][action] = energy * (rn / rr) if rr > 0 else energy
            else:
                out[level][action] = energy
    return out


def _as_ert(arch: ArchSpec, tables: dict[str, dict[str, float]]) -> dict[str, Any]:
    paths = arch.level_paths()
    return {"ERT": {"version": 0.3, "tables": [
        {"name": paths[level], "actions": [{"name": a, "arguments": None, "energy": _round(e)}
                                           for a, e in actions.items()]}
        for level, actions in tables.items() if level in paths]}}


def _round(value: float) -> float:
    return float(f"{value:.10g}")
