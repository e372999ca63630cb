"""Per-action energies and areas of an architecture's components (pinned tables or component models)."""

from .components import Component, arch_components
from .ert import ENERGY_PARAMETERS, SOURCES, Energies, EnergySource, arch_energies, default_source
from .models import CachedModels, ComponentModels, Estimate, Hwcomponents, ModelError

__all__ = ["Component", "arch_components", "ENERGY_PARAMETERS", "SOURCES", "Energies", "EnergySource",
           "arch_energies", "default_source", "CachedModels", "ComponentModels", "Estimate", "Hwcomponents",
           "ModelError"]
