"""The tables behind :mod:`sparsesweep.backends.stats`: section titles, labels, units, value kinds.

Each scope of a Timeloop stats report (a level's ``SPECS`` or ``STATS`` lines, a dataspace
block of a level or of a network, the summary lines) maps the labels it knows to a field
name and a value kind.  Adding support for a new label or build is one table row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

SECTIONS = {
    "Buffer and Arithmetic Levels": "levels",
    "Networks": "networks",
    "Operational Intensity Stats": "ignored",
    "Summary Stats": "summary",
}

ENERGY_UNITS_PJ = {
    "fJ": Decimal("0.001"),
    "pJ": Decimal(1),
    "nJ": Decimal(10) ** 3,
    "uJ": Decimal(10) ** 6,
    "\u00b5J": Decimal(10) ** 6,
    "mJ": Decimal(10) ** 9,
    "J": Decimal(10) ** 12,
}

INT, ENERGY, RATIO = "int", "energy", "ratio"

# scope -> {printed label: (field, kind)}
TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "level_specs": {
        "Leakage energy (total)": ("leakage", ENERGY),
    },
    "level_stats": {
        "Cycles": ("cycles", INT),
        "Energy (total)": ("energy", ENERGY),  # compute level only
        "Computes (total)": ("computes", INT),  # dense-only builds
        "Algorithmic Computes (total)": ("algorithmic", INT),
        "Actual Computes (total)": ("actual", INT),
        "Gated Computes (total)": ("gated", INT),
        "Skipped Computes (total)": ("skipped", INT),
    },
    "dataspace": {
        "Utilized instances (max)": ("utilized_instances", INT),
        "Actual scalar reads (per-instance)": ("reads", INT),
        "Actual scalar fills (per-instance)": ("fills", INT),
        "Actual scalar updates (per-instance)": ("updates", INT),
        "Scalar reads (per-instance)": ("reads", INT),  # dense-only builds
        "Scalar fills (per-instance)": ("fills", INT),
        "Scalar updates (per-instance)": ("updates", INT),
        "Energy (total)": ("energy", ENERGY),
        "Temporal Reduction Energy (total)": ("reduction_energy", ENERGY),
        "Address Generation Energy (total)": ("address_energy", ENERGY),
    },
    "network_dataspace": {
        "Energy (total)": ("energy", ENERGY),
        "Link transfer energy (total)": ("link_energy", ENERGY),
        "Spatial Reduction Energy (total)": ("reduction_energy", ENERGY),
    },
    "summary": {
        "Cycles": ("cycles", INT),
        "Energy": ("energy", ENERGY),
        "Utilization": ("utilization", RATIO),
        "Total topology energy": ("topology_energy", ENERGY),
        "Computes": ("computes", INT),
        "Algorithmic Computes": ("algorithmic", INT),
        "Actual Computes": ("actual", INT),
    },
}

DATASPACE_ENERGY_FIELDS = ("energy", "reduction_energy", "address_energy")
NETWORK_ENERGY_FIELDS = ("energy", "link_energy", "reduction_energy")

LINE = re.compile(r"^(?P<indent> *)(?P<label>[^:=]*?\S)\s*(?P<sep>[:=])\s*(?P<value>.*?)\s*$")
LEVEL_TITLE = re.compile(r"^=== (?P<name>.+?) ===\s*$")
BLOCK_TITLE = re.compile(r"^(?P<indent> +)(?P<name>\S[^:]*?)(?: \((?P<tag>[A-Za-z]+)\))?:\s*$")
NETWORK_NAME = re.compile(r"^(?P<outer>\S.*?) <==> (?P<inner>\S.*?)\s*$")
SUBSECTIONS = ("SPECS", "MAPPING", "STATS")

def _number(text: str) -> Decimal:
    token = text.split()[0] if text.split() else ""
    try:
        value = Decimal(token.rstrip("%"))
    except InvalidOperation:
        raise ValueError(f"'{text}' is not a number") from None
    if not value.is_finite():
        raise ValueError(f"'{text}' is not a finite number")
    return value


def _to_int(text: str) -> Decimal:
    value = _number(text)
    if value != value.to_integral_value():
        raise ValueError(f"'{text}' is not a whole number")
    return value


def _to_energy(text: str) -> Decimal:
    parts = text.split()
    if len(parts) != 2 or parts[1] not in ENERGY_UNITS_PJ:
        raise ValueError(f"'{text}' is not an energy with a unit ({', '.join(ENERGY_UNITS_PJ)})")
    return _number(parts[0]) * ENERGY_UNITS_PJ[parts[1]]


def _to_ratio(text: str) -> Decimal:
    value = _number(text)
    return value / 100 if text.strip().endswith("%") else value


CONVERT: dict[str, Callable[[str], Decimal]] = {INT: _to_int, ENERGY: _to_energy, RATIO: _to_ratio}


def precision_pj(text: str) -> Decimal:
    """Half a unit of the last printed digit of an energy value, in pJ."""
    number, unit = text.split()[:2]
    decimals = len(number.partition(".")[2]) if "." in number else 0
    return Decimal(5) * Decimal(10) ** (-decimals - 1) * ENERGY_UNITS_PJ[unit]
