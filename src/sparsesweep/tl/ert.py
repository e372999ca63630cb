"""Energy reference table (Accelergy ERT) -> per-level action energies.

A table named ``system.SM.Subpartition[0..3].RF`` belongs to the level whose name is the
last dotted component without its instance range (``RF``).  An action's energy is the
maximum over its argument entries.  Timeloop's operations look their action up in a
priority list (e.g. a skipped read falls back to ``gated_read``); see ``OP_ACTIONS``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .common import Path, Reader

# 1 J per action: far above any real component, low enough that no total overflows a float.
MAX_ACTION_ENERGY_PJ = 1e12

# Timeloop operation -> ERT action names tried in order.  A trailing None means "fall
# back to the level's vector access energy" (random accesses); otherwise 0.
OP_ACTIONS: dict[str, tuple[str | None, ...]] = {
    "random_read": ("random_read", "read", None),
    "random_fill": ("random_fill", "random_write", "fill", "write", None),
    "random_update": ("random_update", "random_write", "update", "write", None),
    "gated_read": ("gated_read",),
    "gated_fill": ("gated_fill", "gated_write"),
    "gated_update": ("gated_update", "gated_write"),
    "skipped_read": ("skipped_read", "gated_read"),
    "skipped_fill": ("skipped_fill", "skipped_write", "gated_fill", "gated_write"),
    "skipped_update": ("skipped_update", "skipped_write", "gated_update", "gated_write"),
    "random_metadata_read": ("random_metadata_read", "metadata_read"),
    "random_metadata_fill": ("random_metadata_fill", "random_metadata_write", "metadata_fill", "metadata_write"),
    "random_metadata_update": ("random_metadata_update", "random_metadata_write", "metadata_update",
                               "metadata_write"),
    "gated_metadata_read": ("gated_metadata_read",),
    "gated_metadata_fill": ("gated_metadata_fill", "gated_metadata_write"),
    "gated_metadata_update": ("gated_metadata_update", "gated_metadata_write"),
    "skipped_metadata_read": ("skipped_metadata_read", "gated_metadata_read"),
    "skipped_metadata_fill": ("skipped_metadata_fill", "skipped_metadata_write", "gated_metadata_fill",
                              "gated_metadata_write"),
    "skipped_metadata_update": ("skipped_metadata_update", "skipped_metadata_write", "gated_metadata_update",
                                "gated_metadata_write"),
    "decompression_count": ("decompression_count",),
    "compression_count": ("compression_count",),
    "random_compute": ("mac_random", "mult_random", "mac", "mult", "compute"),
    "gated_compute": ("mac_gated", "mult_gated", "compute_gated", "mac", "mult", "compute"),
    "skipped_compute": ("mac_skipped", "mult_skipped", "compute_skipped", "mac_gated", "mult_gated",
                        "compute_gated", "mac", "mult", "compute"),
}


@dataclass(frozen=True)
class LevelEnergies:
    """Action energies (pJ) of one level."""

    actions: Mapping[str, float] = field(default_factory=dict)
    cluster_size: int = 1

    @property
    def vector_access_energy(self) -> float:
        return (max(self.actions.values()) if self.actions else 0.0) / self.cluster_size

    def op(self, op: str) -> float:
        """Energy of one Timeloop operation (pJ), with Timeloop's fallbacks."""
        for name in OP_ACTIONS[op]:
            if name is None:
                return self.vector_access_energy
            if name in self.actions:
                return self.actions[name]
        return 0.0

    def has(self, op: str) -> bool:
        return any(name in self.actions for name in OP_ACTIONS[op] if name is not None)


@dataclass(frozen=True)
class EnergyTable:
    levels: Mapping[str, LevelEnergies] = field(default_factory=dict)
    wire_energy: float = 0.0

    def level(self, name: str) -> LevelEnergies:
        return self.levels.get(name, LevelEnergies())


def parse_ert(reader: Reader, raw: Any) -> dict[str, dict[str, float]]:
    """Parse a normalised ``ERT`` document into ``{level name: {action: energy pJ}}``."""
    path: Path = ("ERT",)
    ert = reader.mapping(raw, path)
    reader.check_keys(ert, path, {"version", "tables"})
    out: dict[str, dict[str, float]] = {}
    for i, table in enumerate(reader.seq(reader.require(ert, "tables", path), path + ("tables",))):
        tpath = path + ("tables", i)
        table = reader.mapping(table, tpath)
        reader.check_keys(table, tpath, {"name", "actions"})
        full = reader.string(reader.require(table, "name", tpath), tpath + ("name",))
        level = re.sub(r"\[[^\]]*\]", "", full).split(".")[-1].strip()
        actions = out.setdefault(level, {})
        for j, action in enumerate(reader.seq(table.get("actions"), tpath + ("actions",))):
            apath = tpath + ("actions", j)
            action = reader.mapping(action, apath)
            reader.check_keys(action, apath, {"name", "arguments", "energy"})
            name = reader.string(reader.require(action, "name", apath), apath + ("name",))
            energy = reader.number(reader.require(action, "energy", apath), apath + ("energy",), minimum=0.0,
                                   maximum=MAX_ACTION_ENERGY_PJ)
            actions[name] = max(actions.get(name, energy), energy)
    return out


def energy_table(tables: Mapping[str, Mapping[str, float]], cluster_sizes: Mapping[str, int]) -> EnergyTable:
    levels = {name: LevelEnergies(actions=dict(acts), cluster_size=cluster_sizes.get(name, 1))
              for name, acts in tables.items()}
    wire = max((acts.get("transfer", 0.0) for name, acts in tables.items() if name.lower() == "wire"), default=0.0)
    return EnergyTable(levels=levels, wire_energy=wire)
