"""The physical components of a rendered architecture, as component models see them.

Every level of the tree (DRAM, SMEM, RF, LRF, MAC) is one or two components: a data store and,
where the level keeps metadata, a separate metadata store (the ``SRAM_MD`` compound class of
``templates/compound_components.yaml.j2``).  Each component has a model class name and the
attributes a model needs (widths and depths in bits and rows, ports, banks, technology), so the
same arch parameters that size the Timeloop tree also size the energy and area models.

Which model class a store gets:

- a store of one row (the STC arch's per-PE LRF and its metadata register) is a ``register``;
- every other store is an ``sram`` (CACTI);
- DRAM is its ``dram_type`` (e.g. ``LPDDR4``), the MAC an ``intmac`` of ``word_bits`` operands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import SpecError
from ..specs.arch import ArchSpec

# Technology range (nm) in which the memory models interpolate their own tables (CACTI: 22..90 nm);
# outside it they would extrapolate, which sparsesweep refuses.
TECH_RANGE_NM = (22, 90)


@dataclass(frozen=True)
class Component:
    """One modelled part of a level."""

    level: str  # DRAM, SMEM, RF, LRF, MAC
    part: str  # data, metadata or compute
    model_class: str  # the component class a model must support (sram, register, intmac, LPDDR4, ...)
    attributes: tuple[tuple[str, Any], ...]  # sorted (name, value) pairs given to the model
    instances: int  # copies of this component in the design (area counts each)

    @property
    def name(self) -> str:
        return f"{self.level}.{self.part}"

    def attrs(self) -> dict[str, Any]:
        return dict(self.attributes)

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.attributes if k != "tech_node")
        return f"{self.model_class}({shown})"


def technology_nm(arch: ArchSpec) -> int:
    """The arch's technology in nm, checked against the models' range."""
    nm = int(arch.technology.removesuffix("nm"))
    lo, hi = TECH_RANGE_NM
    if not lo <= nm <= hi:
        raise SpecError(f"technology {arch.technology} is outside the component models' range {lo}..{hi} nm "
                        f"(every component: SMEM, RF, LRF, MAC)", key="technology",
                        fix=f"use a technology between {lo}nm and {hi}nm, or --energy pinned")
    return nm


def arch_components(arch: ArchSpec) -> list[Component]:
    """Every component of ``arch``, data stores before metadata stores, in tree order."""
    tech = technology_nm(arch) * 1e-9
    lrf_count = arch.cores * (arch.pes_per_core if arch.topology == "stc" else 1)
    out = [_dram(arch)]
    out += _store("SMEM", tech, arch.smem_width_bits, arch.smem_depth, arch.smem_ports, arch.smem_banks, 1)
    if arch.smem_metadata_kib:
        out += _store("SMEM", tech, arch.smem_metadata_width_bits, arch.smem_metadata_depth, 1, 1, 1, "metadata")
    out += _store("RF", tech, arch.rf_width_bits, arch.rf_depth, arch.rf_ports, arch.rf_banks, arch.cores)
    if arch.rf_metadata_bits:
        out += _store("RF", tech, arch.rf_metadata_width_bits, arch.rf_metadata_depth, 1, 1, arch.cores, "metadata")
    out += _store("LRF", tech, arch.lrf_width_bits, arch.lrf_depth, 1, 1, lrf_count)
    if arch.lrf_metadata_bits:
        out += _store("LRF", tech, arch.lrf_md_width_bits, arch.lrf_metadata_depth, 1, 1, lrf_count, "metadata")
    out.append(Component("MAC", "compute", "intmac",
                         _sorted(tech_node=tech, adder_width=arch.word_bits, multiplier_width=arch.word_bits),
                         arch.macs))
    return out


def _dram(arch: ArchSpec) -> Component:
    return Component("DRAM", "data", arch.dram_type, _sorted(width=arch.dram_width_bits), 1)


def _store(level: str, tech: float, width: int, depth: int, ports: int, banks: int, instances: int,
           part: str = "data") -> list[Component]:
    if depth <= 1:
        attrs = _sorted(tech_node=tech, width=width, size=width)
        return [Component(level, part, "register", attrs, instances)]
    attrs = _sorted(tech_node=tech, width=width, depth=depth, size=width * depth, n_rw_ports=ports, n_banks=banks)
    return [Component(level, part, "sram", attrs, instances)]


def _sorted(**attrs: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(attrs.items()))
