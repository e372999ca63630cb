"""The evaluation result schema shared by every backend.

It is exactly the ``expected.json`` schema of the reference corpus:
``Result.to_json_dict()`` prints the same keys in the same nesting, so results from
the native engine, from real Timeloop and from the reference files compare 1:1.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


COUNT_LIMIT = 2**63  # cycles and compute counts must fit a signed 64-bit counter (tables, Timeloop)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataspaceResult(_Strict):
    """One tensor (dataspace) at one storage level."""

    energy_pj: float = Field(description="Energy of this tensor at this level, all instances (pJ).")
    utilized_instances: int | None = Field(
        default=None, description="Instances of the level that hold a non-empty tile of the tensor."
    )
    actual_reads_per_instance: int | None = Field(default=None, description="Actual scalar reads per instance.")
    actual_fills_per_instance: int | None = Field(default=None, description="Actual scalar fills per instance.")
    actual_updates_per_instance: int | None = Field(
        default=None, description="Actual scalar updates per instance."
    )


class LevelResult(_Strict):
    """One architecture level (storage or compute)."""

    energy_pj: float = Field(description="Energy of the level, all tensors and instances (pJ).")
    cycles: int | None = Field(default=None, description="Cycles this level needs (its bandwidth bound).")
    dataspaces: dict[str, DataspaceResult] = Field(default_factory=dict)


class Computes(_Strict):
    """Compute counts at the arithmetic level (MACs)."""

    algorithmic: int = Field(description="Dense MAC count of the problem.")
    actual: int = Field(description="MACs actually performed.")
    gated: int = Field(default=0, description="MACs gated (cost gated energy, take cycles).")
    skipped: int = Field(default=0, description="MACs skipped (cost skipped energy, no cycles).")


class Result(_Strict):
    """Energy, cycles and computes of one evaluated (architecture, problem, mapping) point."""

    source: str = Field(description="Which backend or tool produced the numbers.")
    energy_pj: float = Field(description="Total energy (pJ).")
    cycles: int = Field(description="Total cycles (the slowest level).")
    computes: Computes
    levels: dict[str, LevelResult] = Field(
        description="Per-level results, innermost (compute) first, as Timeloop prints them."
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The ``expected.json`` layout."""
        return self.model_dump(mode="json")

    def to_dict(self) -> dict[str, Any]:
        """The ``expected.json`` layout (what ``sparsesweep evaluate --json`` prints)."""
        return self.to_json_dict()

    def to_frame(self) -> Any:
        """A pandas DataFrame with one row per level (innermost first): ``level``, ``energy_pj``,
        ``share`` (of the total energy), ``cycles`` and ``energy_pj.<dataspace>`` per tensor.

        >>> result.to_frame().plot.bar(x="level", y="energy_pj")  # doctest: +SKIP
        """
        import pandas as pd

        rows = []
        for name, level in self.levels.items():
            row: dict[str, Any] = {"level": name, "energy_pj": level.energy_pj,
                                   "share": level.energy_pj / self.energy_pj if self.energy_pj else 0.0,
                                   "cycles": level.cycles}
            row.update({f"energy_pj.{ds}": d.energy_pj for ds, d in level.dataspaces.items()})
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame["cycles"] = frame["cycles"].astype("Int64")
        return frame

    def physical_problem(self, macs: int | None = None) -> str | None:
        """The first physically impossible or inconsistent number, or None: non-finite or negative energy,
        negative cycles or counts, counts beyond a 64-bit counter, more actual (+ gated + skipped) than
        algorithmic computes, level energies that do not add up to the total, a level's tensors costing
        more than the level, and (given the arch's ``macs``) fewer cycles than actual computes / MACs."""
        c = self.computes
        energies = [("energy_pj", self.energy_pj)] + [(f"levels.{n}.energy_pj", lv.energy_pj)
                                                       for n, lv in self.levels.items()]
        for name, value in energies:
            if not math.isfinite(value) or value < 0:
                return f"{name} is {value!r}"
        for name, count in (("cycles", self.cycles), ("computes.actual", c.actual), ("computes.gated", c.gated),
                            ("computes.skipped", c.skipped), ("computes.algorithmic", c.algorithmic)):
            if count < 0:
                return f"{name} is {count}"
            if count >= COUNT_LIMIT:
                return (f"{name} is {count:.3g}, beyond a 64-bit counter (2^63): a bandwidth, size or "
                        "dimension is out of range")
        if c.actual > c.algorithmic:
            return f"computes.actual {c.actual} > computes.algorithmic {c.algorithmic}"
        if c.actual + c.gated + c.skipped > c.algorithmic:
            return (f"computes.actual + gated + skipped ({c.actual} + {c.gated} + {c.skipped}) > computes.algorithmic "
                    f"{c.algorithmic}")
        return self._consistency_problem(macs)

    def _consistency_problem(self, macs: int | None) -> str | None:
        # Tolerances: rounding of a sum in another order, and Timeloop's stats printed to 0.01 pJ per line.
        levels = sum(lv.energy_pj for lv in self.levels.values())
        if self.levels and abs(levels - self.energy_pj) > 1e-6 * self.energy_pj + 0.01 * len(self.levels):
            return f"the levels' energies add up to {levels:.6g} pJ, not the total energy_pj {self.energy_pj:.6g}"
        for name, lv in self.levels.items():
            tensors = sum(d.energy_pj for d in lv.dataspaces.values())
            if tensors > lv.energy_pj * (1 + 1e-6) + 0.01 * len(lv.dataspaces):
                return f"levels.{name}: its tensors' energies ({tensors:.6g} pJ) exceed the level's ({lv.energy_pj:.6g})"
        if macs and self.cycles < math.ceil(self.computes.actual / macs):
            return f"cycles {self.cycles} < computes.actual {self.computes.actual} / {macs} MACs"
        return None
