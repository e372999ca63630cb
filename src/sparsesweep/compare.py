"""Compare two results field by field (ours vs a reference tool's), with tolerances.

Used by the conformance tests against Timeloop's outputs and by anyone checking the
engine against a real Timeloop run: every difference is reported as one readable line
naming the level and dataspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from .result import Result

COUNT_FIELDS = ("utilized_instances", "actual_reads_per_instance", "actual_fills_per_instance",
                "actual_updates_per_instance")


@dataclass(frozen=True)
class Tolerance:
    energy_rel: float = 0.005  # relative tolerance of energies (0.005 = 0.5%)
    energy_abs: float = 0.05  # pJ: energies this close always agree (printed values have 2 decimals)
    cycles_rel: float = 0.0  # relative tolerance of cycles (0 = exact)
    counts_exact: bool = True  # computes and per-dataspace counts must match exactly


def _energy_differs(ours: float, ref: float, tol: Tolerance) -> bool:
    return abs(ours - ref) > max(tol.energy_rel * abs(ref), tol.energy_abs)


def _pct(ours: float, ref: float) -> str:
    return f"{(ours - ref) / ref * 100:+.3f}%" if ref else "n/a"


def _energy(label: str, ours: float, ref: float, tol: Tolerance, out: list[str]) -> None:
    """Add a line to ``out`` if the two energies (pJ) disagree beyond ``tol``."""
    if _energy_differs(ours, ref, tol):
        out.append(f"{label}: ours {ours:.2f} vs reference {ref:.2f} ({_pct(ours, ref)})")


def diff_results(ours: Result, ref: Result, tol: Tolerance = Tolerance()) -> list[str]:
    """Lines describing every field where ``ours`` and ``ref`` disagree beyond ``tol``."""
    out: list[str] = []
    if abs(ours.cycles - ref.cycles) > tol.cycles_rel * ref.cycles:
        out.append(f"cycles: ours {ours.cycles} vs reference {ref.cycles} ({_pct(ours.cycles, ref.cycles)})")
    _energy("energy_pj", ours.energy_pj, ref.energy_pj, tol, out)
    if tol.counts_exact:
        for name in ("algorithmic", "actual", "gated", "skipped"):
            a, b = getattr(ours.computes, name), getattr(ref.computes, name)
            if a != b:
                out.append(f"computes.{name}: ours {a} vs reference {b}")
    for level, ref_level in ref.levels.items():
        our_level = ours.levels.get(level)
        if our_level is None:
            out.append(f"{level}: level missing in ours")
            continue
        _energy(f"{level}.energy_pj", our_level.energy_pj, ref_level.energy_pj, tol, out)
        if ref_level.cycles is not None and our_level.cycles is not None and \
                abs(our_level.cycles - ref_level.cycles) > tol.cycles_rel * ref_level.cycles:
            out.append(f"{level}.cycles: ours {our_level.cycles} vs reference {ref_level.cycles}")
        for ds, ref_ds in ref_level.dataspaces.items():
            our_ds = our_level.dataspaces.get(ds)
            if our_ds is None:
                out.append(f"{level}.{ds}: dataspace missing in ours")
                continue
            _energy(f"{level}.{ds}.energy_pj", our_ds.energy_pj, ref_ds.energy_pj, tol, out)
            if tol.counts_exact:
                for name in COUNT_FIELDS:
                    a, b = getattr(our_ds, name), getattr(ref_ds, name)
                    if b is not None and a != b:
                        out.append(f"{level}.{ds}.{name}: ours {a} vs reference {b}")
        for ds in our_level.dataspaces:
            if ds not in ref_level.dataspaces:
                out.append(f"{level}.{ds}: dataspace only in ours")
    return out
