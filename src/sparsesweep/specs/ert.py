"""Pinned energy reference tables (``arch/ert/*.yaml``).

An ERT file is Timeloop's ``ERT:`` document (per-action energies in pJ, one table per
architecture level) plus an optional ``derived_for:`` mapping of the arch parameters the energies
were derived for.  The renderer renames every table to the level's path in the rendered tree (the
last dotted component, ``[a..b]`` stripped, names the level), so the table names follow changes of
``cores`` or ``pes_per_core``.  Energies are used as they are: changing a width or size does not
rescale them, so the renderer warns when a point's parameters differ from ``derived_for``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from ..errors import SpecError, suggest
from ..validation import validate
from ..yamlio import YamlDoc, load_yaml
from .arch import ArchSpec
from ..tl.ert import MAX_ACTION_ENERGY_PJ
from .base import Spec

_RANGE = re.compile(r"\[[^\]]*\]")


class ErtAction(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Action name, e.g. read, write, gated_read, metadata_read, mac_random.")
    arguments: dict[str, Any] | None = Field(None, description="Action arguments (null for none).")
    energy: float = Field(ge=0, le=MAX_ACTION_ENERGY_PJ, description="Energy per action (pJ).")


class ErtTable(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Dotted component path; its last part names the level.")
    actions: list[ErtAction] = Field(min_length=1, description="Per-action energies.")

    @property
    def level(self) -> str:
        return _RANGE.sub("", self.name).rsplit(".", 1)[-1]


class ErtBody(Spec):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: float | str = Field(0.3, description="Timeloop ERT version.")
    tables: list[ErtTable] = Field(min_length=1, description="One table per level.")


class ErtFile(Spec):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    derived_for: dict[str, int | float | str] = Field(
        default_factory=dict, description="Arch parameters the energies were derived for.")
    ERT: ErtBody = Field(description="Timeloop energy reference table.")


def ert_from_doc(doc: YamlDoc) -> ErtFile:
    """Validate a loaded ERT document (table levels must be unique)."""
    if not isinstance(doc.data, dict):
        raise doc.error("an ERT file must be a mapping with an 'ERT' key", fix="see arch/ert/stc_45nm.yaml")
    ert = validate(ErtFile, doc)
    seen: set[str] = set()
    for i, table in enumerate(ert.ERT.tables):
        if table.level in seen:
            raise doc.error(f"two tables for level '{table.level}'", ("ERT", "tables", i, "name"),
                            fix="keep one table per level")
        seen.add(table.level)
    for key in ert.derived_for:
        if key not in ArchSpec.model_fields:
            raise doc.error(f"unknown architecture parameter '{key}'", ("derived_for", key),
                            fix=suggest(key, ArchSpec.parameter_names()))
    return ert


def load_ert(path: str | Path) -> tuple[ErtFile, YamlDoc]:
    doc = load_yaml(path)
    return ert_from_doc(doc), doc


@lru_cache(maxsize=16)
def _load_ert_at(path: str, mtime_ns: int) -> tuple[ErtFile, YamlDoc]:
    return load_ert(path)


def load_ert_cached(path: Path) -> tuple[ErtFile, YamlDoc]:
    """:func:`load_ert`, cached per file version (a sweep renders many points with one ERT)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise SpecError("energy reference table not found", file=path, key="ert",
                        fix="set 'ert:' in the arch file to an existing ERT YAML (e.g. ert/stc_45nm.yaml)") from exc
    return _load_ert_at(str(path), mtime)


def ert_for_arch(ert: ErtFile, doc: YamlDoc, arch: ArchSpec) -> tuple[dict[str, Any], list[str]]:
    """The ``ERT:`` document for ``arch`` (tables renamed to its level paths) and warnings."""
    paths = arch.level_paths()
    tables = []
    for i, table in enumerate(ert.ERT.tables):
        if table.level not in paths:
            raise doc.error(f"table '{table.name}' names level '{table.level}', which the architecture lacks",
                            ("ERT", "tables", i, "name"), fix=suggest(table.level, paths))
        tables.append({"name": paths[table.level],
                       "actions": [a.model_dump() for a in table.actions]})
    covered = {t.level for t in ert.ERT.tables}
    missing = [level for level in paths if level not in covered]
    if missing:
        raise doc.error(f"no energies for level(s) {', '.join(missing)}", ("ERT", "tables"),
                        fix=f"add a table named e.g. '{paths[missing[0]]}'")
    warnings = []
    for key, value in ert.derived_for.items():
        actual = getattr(arch, key)
        if actual != value:
            warnings.append(f"{doc.path}: energies were derived for {key}={value}; this point has "
                            f"{key}={actual} and uses them unchanged")
    return {"ERT": {"version": ert.ERT.version, "tables": tables}}, warnings
