"""Read Timeloop's text statistics (``timeloop-model.stats.txt`` / ``timeloop-mapper.stats.txt``).

The text report is the one output every Timeloop build writes in the same shape, from the
2022 Sparseloop artifact build to current master, so it is what this module reads.  No
maintained Python package parses it (Timeloop's own scripts read the XML dump, which not
every build writes), hence this small table-driven reader:

* the report is split into sections by their title lines (``SECTIONS`` in :mod:`.stats_format`);
* every ``label : value`` line is looked up in one table per scope (``TABLES``): a
  level's ``SPECS`` or ``STATS`` lines, a dataspace block inside a level or a network,
  and the summary lines; a label that is in no table is ignored;
* values are converted by kind: integer counts, energies with their unit (fJ/pJ/nJ/uJ/mJ/J,
  converted to pJ) and utilization printed as a fraction (``1.00``) or a percentage
  (``100.00%``).

Energies are summed exactly (as decimals) from the per-line ``(total)`` figures, which
Timeloop prints to 0.01 pJ: a dataspace's energy is its ``Energy``, ``Temporal Reduction
Energy`` and ``Address Generation Energy``; a level adds its leakage, a compute level has
its own ``Energy (total)``, and a network's energy is charged to its outer level.  The total
is then checked against the summary's rounded ``Energy: X uJ`` (and the older builds'
``Total topology energy``), so a report this reader misunderstands is refused instead of
giving wrong numbers.  Dataspaces printed as ``A (Streamed)`` count toward their level's
energy but are not listed as dataspaces of that level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..errors import BackendError
from ..result import Computes, DataspaceResult, LevelResult, Result
from .stats_format import (
    BLOCK_TITLE,
    CONVERT,
    DATASPACE_ENERGY_FIELDS,
    LEVEL_TITLE,
    LINE,
    NETWORK_ENERGY_FIELDS,
    NETWORK_NAME,
    SECTIONS,
    SUBSECTIONS,
    TABLES,
    precision_pj,
)


@dataclass
class _Block:
    """One dataspace block (of a level or a network)."""

    name: str
    streamed: bool = False
    values: dict[str, Decimal] = field(default_factory=dict)

    def energy(self, fields: tuple[str, ...]) -> Decimal:
        return sum((self.values.get(f, Decimal(0)) for f in fields), Decimal(0))


@dataclass
class _Level:
    name: str
    values: dict[str, Decimal] = field(default_factory=dict)
    blocks: list[_Block] = field(default_factory=list)
    network_energy: Decimal = Decimal(0)


@dataclass
class _Network:
    outer: str | None = None
    blocks: list[_Block] = field(default_factory=list)


@dataclass(frozen=True)
class StatsReport:
    """A parsed stats file: the :class:`Result` plus the summary figures it was checked against."""

    result: Result
    summary_energy_pj: float | None  # the summary's rounded "Energy:" line (pJ)
    utilization: float | None  # summary "Utilization" as a fraction (0..1)
    network_energy_pj: float  # energy of the interconnect networks (pJ, included in the total)


class _Reader:
    """A line-by-line state machine filling levels, networks and summary values."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.section = ""
        self.subsection = ""
        self.levels: list[_Level] = []
        self.networks: list[_Network] = []
        self.summary: dict[str, Decimal] = {}
        self.summary_text: dict[str, str] = {}
        self.block: _Block | None = None

    def fail(self, lineno: int, what: str, fix: str) -> BackendError:
        return BackendError(what, file=self.origin, line=lineno, fix=fix)

    def feed(self, lineno: int, line: str) -> None:
        stripped = line.strip()
        if not stripped or set(stripped) == {"-"}:
            return
        if line == stripped and stripped in SECTIONS:
            self.section, self.subsection, self.block = SECTIONS[stripped], "", None
            return
        if self.section == "levels":
            self._level_line(lineno, line, stripped)
        elif self.section == "networks":
            self._network_line(lineno, line, stripped)
        if self.section in ("networks", "summary") and not line.startswith(" "):
            self._store(lineno, line, "summary", self.summary)

    def _level_line(self, lineno: int, line: str, stripped: str) -> None:
        title = LEVEL_TITLE.match(stripped)
        if title and not line.startswith(" "):
            self.levels.append(_Level(title.group("name")))
            self.subsection, self.block = "", None
            return
        if not self.levels:
            return
        level = self.levels[-1]
        if stripped in SUBSECTIONS:
            self.subsection, self.block = stripped, None
            return
        if self.subsection == "SPECS":
            self._store(lineno, line, "level_specs", level.values)
        elif self.subsection == "STATS":
            block = BLOCK_TITLE.match(line)
            if block and len(block.group("indent")) == 4:
                self.block = _Block(block.group("name"), streamed=block.group("tag") == "Streamed")
                level.blocks.append(self.block)
            elif self.block is None or _indent(line) <= 4:
                self._store(lineno, line, "level_stats", level.values)
            else:
                self._store(lineno, line, "dataspace", self.block.values)

    def _network_line(self, lineno: int, line: str, stripped: str) -> None:
        if re.fullmatch(r"Network \d+", stripped):
            self.networks.append(_Network())
            self.subsection, self.block = "", None
            return
        if not self.networks:
            return
        network = self.networks[-1]
        names = NETWORK_NAME.match(stripped)
        if names and network.outer is None and not line.startswith(" "):
            network.outer = names.group("outer")
            return
        if stripped in SUBSECTIONS:
            self.subsection, self.block = stripped, None
            return
        if self.subsection != "STATS":
            return
        block = BLOCK_TITLE.match(line)
        if block and len(block.group("indent")) == 4:
            self.block = _Block(block.group("name"))
            network.blocks.append(self.block)
        elif self.block is not None and _indent(line) > 4:
            self._store(lineno, line, "network_dataspace", self.block.values)

    def _store(self, lineno: int, line: str, scope: str, into: dict[str, Decimal]) -> None:
        match = LINE.match(line)
        if not match:
            return
        entry = TABLES[scope].get(match.group("label"))
        if entry is None:
            return
        name, kind = entry
        value = match.group("value")
        try:
            into[name] = CONVERT[kind](value)
        except ValueError as exc:
            raise self.fail(
                lineno,
                f"cannot read '{match.group('label')}': {exc}",
                "the stats file is damaged or from an unknown Timeloop build; re-run Timeloop",
            ) from None
        if scope == "summary":
            self.summary_text[name] = value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _as_int(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def _computes(reader: _Reader) -> Computes:
    compute = next(
        (lv.values for lv in reader.levels if {"algorithmic", "actual", "computes"} & lv.values.keys()),
        reader.summary,
    )
    dense = compute.get("computes", reader.summary.get("computes"))
    algorithmic = compute.get("algorithmic", reader.summary.get("algorithmic", dense))
    actual = compute.get("actual", reader.summary.get("actual", dense))
    if algorithmic is None or actual is None:
        raise BackendError(
            "no compute counts (neither 'Computes' nor 'Algorithmic/Actual Computes')",
            file=reader.origin,
            fix="the stats file is incomplete; re-run Timeloop",
        )
    return Computes(
        algorithmic=int(algorithmic),
        actual=int(actual),
        gated=int(compute.get("gated", 0)),
        skipped=int(compute.get("skipped", 0)),
    )


def _build(reader: _Reader, source: str) -> StatsReport:
    if not reader.levels:
        raise BackendError(
            "not a Timeloop stats report (no 'Buffer and Arithmetic Levels' section with levels)",
            file=reader.origin,
            fix="point at a timeloop-model.stats.txt or timeloop-mapper.stats.txt; "
            "re-run Timeloop if it is truncated",
        )
    by_name = {level.name: level for level in reader.levels}
    unassigned = Decimal(0)
    network_total = Decimal(0)
    for network in reader.networks:
        energy = sum((b.energy(NETWORK_ENERGY_FIELDS) for b in network.blocks), Decimal(0))
        network_total += energy
        if network.outer in by_name:
            by_name[network.outer].network_energy += energy
        else:
            unassigned += energy

    levels: dict[str, LevelResult] = {}
    total = unassigned
    lines = 0
    for level in reader.levels:
        energy = level.values.get("energy", Decimal(0)) + level.values.get("leakage", Decimal(0))
        energy += level.network_energy
        dataspaces: dict[str, DataspaceResult] = {}
        for block in level.blocks:
            block_energy = block.energy(DATASPACE_ENERGY_FIELDS)
            energy += block_energy
            lines += len(DATASPACE_ENERGY_FIELDS)
            if block.streamed:
                continue
            dataspaces[block.name] = DataspaceResult(
                energy_pj=float(block_energy),
                utilized_instances=_as_int(block.values.get("utilized_instances")),
                actual_reads_per_instance=_as_int(block.values.get("reads")),
                actual_fills_per_instance=_as_int(block.values.get("fills")),
                actual_updates_per_instance=_as_int(block.values.get("updates")),
            )
        total += energy
        lines += 2
        levels[level.name] = LevelResult(
            energy_pj=float(energy), cycles=_as_int(level.values.get("cycles")), dataspaces=dataspaces
        )

    required = (("cycles", "Cycles"), ("energy", "Energy"))
    missing = [label for name, label in required if name not in reader.summary]
    if missing:
        raise BackendError(
            f"incomplete stats report: no summary '{missing[0]}:' line",
            file=reader.origin,
            fix="the run did not finish writing its report; re-run Timeloop",
        )
    _cross_check(reader, total, lines)
    cycles = reader.summary["cycles"]
    result = Result(
        source=source,
        energy_pj=float(total),
        cycles=int(cycles),
        computes=_computes(reader),
        levels=levels,
    )
    summary_energy = reader.summary.get("energy")
    utilization = reader.summary.get("utilization")
    return StatsReport(
        result=result,
        summary_energy_pj=None if summary_energy is None else float(summary_energy),
        utilization=None if utilization is None else float(utilization),
        network_energy_pj=float(network_total),
    )


def _cross_check(reader: _Reader, total: Decimal, lines: int) -> None:
    """The per-line sum must agree with the printed totals within their rounding."""
    line_slack = Decimal("0.005") * (lines + 1)  # each summed line was rounded to 0.01 pJ
    for name, label in (("energy", "Energy"), ("topology_energy", "Total topology energy")):
        printed = reader.summary.get(name)
        if printed is None:
            continue
        tolerance = precision_pj(reader.summary_text[name]) + line_slack + abs(printed) * Decimal("1e-12")
        if abs(total - printed) > tolerance:
            raise BackendError(
                f"the per-level energies add up to {total:.2f} pJ but the summary line "
                f"'{label}: {reader.summary_text[name]}' differs by more than its rounding",
                file=reader.origin,
                fix="the report has lines this reader does not know; use --backend native, "
                "and report the stats file",
            )


def parse_stats_report(text: str, *, source: str, origin: str | Path = "<stats>") -> StatsReport:
    """Parse the text of a Timeloop stats report (see the module docstring)."""
    reader = _Reader(str(origin))
    for lineno, line in enumerate(text.splitlines(), start=1):
        reader.feed(lineno, line.rstrip("\r\n"))
    return _build(reader, source)


def parse_stats(text: str, *, source: str, origin: str | Path = "<stats>") -> Result:
    """The :class:`Result` of a Timeloop stats report given as text."""
    return parse_stats_report(text, source=source, origin=origin).result


def read_stats(path: str | Path, *, source: str | None = None) -> Result:
    """The :class:`Result` of a stats file; ``source`` defaults to the tool named by the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BackendError(
            f"cannot read the stats file: {exc.strerror or exc}", file=path, fix="check the path"
        ) from None
    tool = path.name.split(".stats")[0] if ".stats" in path.name else "timeloop"
    return parse_stats(text, source=source or tool, origin=path)
