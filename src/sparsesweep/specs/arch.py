"""The user-facing architecture spec: a flat set of named parameters with units in the names.

An arch file (``arch/stc.yaml``, ``arch/dstc.yaml``) lists every size, width, bandwidth and count a
researcher may vary, so that a sweep can override them by name (``--set smem_kib=128``).  The
renderer turns it into a Timeloop v0.3 tree architecture (DRAM > SMEM > cores with an RF > PEs
with an LRF and a MAC); ``topology`` picks the tree shape (see the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ..errors import SpecError, suggest
from ..fsio import not_a_file
from ..validation import validate
from ..yamlio import YamlDoc, load_yaml
from .base import Spec

Topology = Literal["stc", "dstc"]
BITS_PER_KIB = 8 * 1024

# Parameters that identify the file rather than describe hardware: not overridable by name.
_IDENTITY = ("name", "description", "topology", "derived")
# Parameters an arch file may list under 'derived:', with the parameters they are computed from.
DERIVED_FROM: dict[str, tuple[str, ...]] = {"pes_per_core": ("pe_mesh_x", "pe_mesh_y")}
Derivable = Literal["pes_per_core"]
_NONE_WORDS = ("none", "null", "unlimited", "")
_FILES = ("ert", "dense_ert")  # parameters that name a file


def _pos(description: str, default: int) -> Any:
    return Field(default, ge=1, description=description)


class ArchSpec(Spec):
    """A DNN accelerator: DRAM, a shared SMEM with metadata storage, cores with an RF, PEs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Name of this architecture (shown in results).")
    description: str = Field("", description="Free text.")
    topology: Topology = Field(
        description="Tree shape: 'stc' = per-PE LRF + MAC (STC / STC_flexible / dualCompress designs); "
        "'dstc' = one LRF per core feeding its MAC array (DSTC design)."
    )
    ert: str = Field(description="Pinned energy reference table (Timeloop ERT YAML), relative to this file.")
    dense_ert: str | None = Field(
        None, description="Energy table for dense points: the same geometry without sparsity support (fig15 "
        "normalises to its dense TC design this way); relative to this file; default: 'ert'.")
    technology: str = Field("45nm", pattern=r"^[0-9]+nm$", description="Process node, e.g. 45nm.")
    word_bits: int = _pos("Data word width of every level and of the MACs (bits).", 8)

    dram_type: str = Field("LPDDR4", pattern=r"^[A-Za-z0-9_]+$", description="DRAM type (Accelergy).")
    dram_width_bits: int = _pos("DRAM interface width (bits per access).", 64)
    dram_read_bandwidth: float = Field(32, gt=0, description="DRAM read bandwidth (words/cycle).")
    dram_write_bandwidth: float = Field(32, gt=0, description="DRAM write bandwidth (words/cycle).")
    dram_metadata_width_bits: int = _pos("DRAM metadata access width (bits).", 64)

    smem_kib: int = _pos("Shared SMEM data capacity (KiB).", 256)
    smem_width_bits: int = _pos("SMEM data access width (bits per row).", 256)
    smem_metadata_kib: int = Field(64, ge=0, description="SMEM metadata capacity (KiB; 0 = none).")
    smem_metadata_width_bits: int = _pos("SMEM metadata access width (bits per row).", 64)
    smem_banks: int = _pos("SMEM banks (count).", 2)
    smem_ports: int = _pos("SMEM read/write ports (count; Accelergy).", 2)
    smem_read_bandwidth: float = Field(42, gt=0, description="SMEM read bandwidth (words/cycle).")
    smem_write_bandwidth: float = Field(42, gt=0, description="SMEM write bandwidth (words/cycle).")

    cores: int = _pos("Cores (subpartitions) sharing the SMEM (count).", 4)
    rf_words: int = _pos("Register file capacity per core (words).", 2048)
    rf_width_bits: int = _pos("RF access width (bits per row).", 8)
    rf_banks: int = _pos("RF banks per core (count).", 16)
    rf_ports: int = _pos("RF read/write ports (count; Accelergy).", 2)
    rf_read_bandwidth: float | None = Field(None, gt=0, description="RF read bandwidth (words/cycle; null = unlimited).")
    rf_write_bandwidth: float | None = Field(None, gt=0, description="RF write bandwidth (words/cycle; null = unlimited).")
    rf_metadata_bits: int = Field(0, ge=0, description="RF metadata capacity per core (bits; 0 = none).")
    rf_metadata_width_bits: int = _pos("RF metadata access width (bits).", 16)

    derived: tuple[Derivable, ...] = Field(
        (), description="Parameters computed from their sources instead of given: pes_per_core = pe_mesh_x * "
        "pe_mesh_y. A sweep that sets a source (--set pe_mesh_x=8,16) changes them with it.")
    pes_per_core: int = _pos("PEs (MACs) per core (count); must equal pe_mesh_x * pe_mesh_y (or list it under "
                             "'derived').", 256)
    pe_mesh_x: int = _pos("PE array width per core (count); the RF spatial K fanout.", 16)
    pe_mesh_y: int = _pos("PE array height per core (count); the RF spatial M fanout.", 16)
    lrf_words: int = _pos("LRF capacity (words): per PE for 'stc', per core for 'dstc'.", 1)
    lrf_width_bits: int = _pos("LRF access width (bits per row).", 8)
    lrf_metadata_bits: int = Field(8, ge=0, description="LRF metadata capacity (bits; 0 = none).")
    lrf_metadata_width_bits: int | None = Field(
        None, ge=1, description="LRF metadata access width (bits; null = lrf_metadata_bits, one entry)."
    )

    _base_dir: Path | None = PrivateAttr(default=None)
    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _derive(self) -> ArchSpec:
        """Compute the parameters listed under ``derived`` from their sources."""
        if "pes_per_core" in self.derived:
            object.__setattr__(self, "pes_per_core", self.pe_mesh_x * self.pe_mesh_y)  # frozen model: set once
        return self

    # ---- derived geometry ------------------------------------------------------------------
    @classmethod
    def parameter_names(cls) -> list[str]:
        """Names that :func:`apply_overrides` (and a sweep's ``--set``) accept."""
        return [n for n in cls.model_fields if n not in _IDENTITY]

    @property
    def smem_depth(self) -> int:
        return self.smem_kib * BITS_PER_KIB // self.smem_width_bits

    @property
    def smem_metadata_depth(self) -> int:
        return self.smem_metadata_kib * BITS_PER_KIB // self.smem_metadata_width_bits

    @property
    def rf_depth(self) -> int:
        return self.rf_words * self.word_bits // self.rf_width_bits

    @property
    def rf_metadata_depth(self) -> int:
        return self.rf_metadata_bits // self.rf_metadata_width_bits

    @property
    def lrf_depth(self) -> int:
        return self.lrf_words * self.word_bits // self.lrf_width_bits

    @property
    def lrf_md_width_bits(self) -> int:
        return self.lrf_metadata_width_bits or self.lrf_metadata_bits

    @property
    def lrf_metadata_depth(self) -> int:
        width = self.lrf_md_width_bits
        return self.lrf_metadata_bits // width if width else 0

    @property
    def macs(self) -> int:
        return self.cores * self.pes_per_core

    def block_words(self, level: str) -> int:
        """Words per access (Timeloop's block size) of a storage level."""
        width = {"DRAM": self.dram_width_bits, "SMEM": self.smem_width_bits,
                 "RF": self.rf_width_bits, "LRF": self.lrf_width_bits}[level]
        return width // self.word_bits

    def metadata_width(self, level: str) -> int:
        """Metadata access width (bits) of a storage level; 0 when it has no metadata storage."""
        if level == "DRAM":
            return self.dram_metadata_width_bits
        if level == "SMEM":
            return self.smem_metadata_width_bits if self.smem_metadata_kib else 0
        if level == "RF":
            return self.rf_metadata_width_bits if self.rf_metadata_bits else 0
        return self.lrf_md_width_bits if self.lrf_metadata_bits else 0

    def level_paths(self) -> dict[str, str]:
        """Level name -> dotted path of the rendered tree (ERT table names)."""
        core = f"system.SM.Subpartition[0..{self.cores - 1}]"
        pes = f"[0..{self.pes_per_core - 1}]"
        paths = {"DRAM": "system.DRAM", "SMEM": "system.SM.SMEM", "RF": f"{core}.RF"}
        if self.topology == "stc":
            paths.update(LRF=f"{core}.PE{pes}.LRF", MAC=f"{core}.PE{pes}.MAC")
        else:
            paths.update(LRF=f"{core}.LRF", MAC=f"{core}.MAC{pes}")
        return paths

    def ert_path(self, dense: bool = False) -> Path:
        """The pinned ERT file (``dense``: the dense points' table), resolved against the arch file's folder."""
        path = Path(self.dense_ert if dense and self.dense_ert else self.ert).expanduser()
        if not path.is_absolute() and self._base_dir is not None:
            path = self._base_dir / path
        return path

    @property
    def source(self) -> Path | None:
        """The file this spec was loaded from (None when built in memory)."""
        return self._source

    def geometry_problem(self) -> tuple[str, str, str] | None:
        """The first inconsistent parameter as ``(key, what, fix)``, or None."""
        w = self.word_bits
        checks: list[tuple[bool, str, str, str]] = [
            (self.dram_width_bits % w == 0, "dram_width_bits", "is not a multiple of word_bits",
             f"use a multiple of {w}"),
            (self.smem_width_bits % w == 0, "smem_width_bits", "is not a multiple of word_bits",
             f"use a multiple of {w}"),
            ((self.smem_kib * BITS_PER_KIB) % self.smem_width_bits == 0, "smem_kib",
             f"{self.smem_kib} KiB is not a whole number of {self.smem_width_bits}-bit rows",
             "pick sizes whose bits divide by smem_width_bits"),
            ((self.smem_metadata_kib * BITS_PER_KIB) % self.smem_metadata_width_bits == 0,
             "smem_metadata_kib", "is not a whole number of smem_metadata_width_bits rows",
             "pick sizes whose bits divide by smem_metadata_width_bits"),
            (self.rf_width_bits % w == 0, "rf_width_bits", "is not a multiple of word_bits",
             f"use a multiple of {w}"),
            ((self.rf_words * w) % self.rf_width_bits == 0, "rf_words",
             "is not a whole number of rf_width_bits rows", "use a multiple of the words per row"),
            (self.rf_metadata_bits % self.rf_metadata_width_bits == 0, "rf_metadata_bits",
             "is not a multiple of rf_metadata_width_bits", "use a multiple of the metadata width"),
            (self.pes_per_core == self.pe_mesh_x * self.pe_mesh_y, "pes_per_core",
             f"{self.pes_per_core} != pe_mesh_x * pe_mesh_y = {self.pe_mesh_x * self.pe_mesh_y}",
             "make pes_per_core equal pe_mesh_x * pe_mesh_y, or list it under 'derived: [pes_per_core]'"),
            (self.lrf_width_bits % w == 0, "lrf_width_bits", "is not a multiple of word_bits",
             f"use a multiple of {w}"),
            ((self.lrf_words * w) % self.lrf_width_bits == 0, "lrf_words",
             "is not a whole number of lrf_width_bits rows", "use a multiple of the words per row"),
            (self.lrf_md_width_bits == 0 or self.lrf_metadata_bits % self.lrf_md_width_bits == 0,
             "lrf_metadata_bits", "is not a multiple of lrf_metadata_width_bits",
             "use a multiple of the metadata width"),
        ]
        for ok, key, what, fix in checks:
            if not ok:
                return key, what, fix
        return None


def load_arch(path: str | Path) -> ArchSpec:
    """Load and check an arch file (errors name the file, line and key)."""
    return arch_from_doc(load_yaml(path))


def _attach(arch: ArchSpec, source: Path | None) -> ArchSpec:
    if source is not None:
        arch._source = Path(source)
        arch._base_dir = Path(source).resolve().parent
    return arch


def apply_overrides(arch: ArchSpec, overrides: Mapping[str, Any], *, source: str = "--set") -> ArchSpec:
    """A copy of ``arch`` with parameters replaced by name, validated like the file.

    Values may be strings (``"128"``) as they come from a command line; ``"none"`` clears an
    optional parameter.  Unknown names suggest the closest parameter name.
    """
    names = ArchSpec.parameter_names()
    data = arch.model_dump()
    for name in arch.derived:
        data.pop(name, None)  # recomputed from its (possibly overridden) sources
    for name, value in overrides.items():
        if name not in names:
            raise SpecError(f"unknown architecture parameter '{name}'", key=f"{source} {name}",
                            fix=suggest(name, names))
        if name in arch.derived:
            continue  # checked below: it must agree with what its sources give
        optional = ArchSpec.model_fields[name].default is None
        if optional and isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
            value = None
        if name in _FILES and isinstance(value, str):
            value = _override_file(arch, name, value, source)
        data[name] = value
    try:
        new = ArchSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        raise SpecError(f"{err['msg']} (got {err.get('input')!r})", key=f"{source} {key}",
                        fix=f"expected {ArchSpec.model_fields[key].description}" if key in ArchSpec.model_fields
                        else "correct the value") from exc
    for name in (n for n in arch.derived if n in overrides):
        if str(overrides[name]).strip() != str(getattr(new, name)):
            sources = DERIVED_FROM[name]
            raise SpecError(f"{name} is derived from {' and '.join(sources)} in arch '{arch.name}' (here "
                            f"{getattr(new, name)}, not {overrides[name]})", key=f"{source} {name}",
                            fix=f"set {' or '.join(sources)} instead")
    problem = new.geometry_problem()
    if problem:
        key, what, fix = problem
        raise SpecError(f"{key} {what}", key=f"{source} {key}", fix=fix)
    new._source = arch.source
    new._base_dir = arch._base_dir
    return new


def _override_file(arch: ArchSpec, name: str, value: str, source: str) -> str:
    """An ERT given on the command line: relative to the working directory (else to the arch file); its
    content is checked now, whether or not a point of the sweep uses it."""
    given = Path(value).expanduser()
    base = arch._base_dir
    for candidate in (given, *((base / given,) if not given.is_absolute() and base is not None else ())):
        if candidate.is_file():
            _check_ert(candidate.resolve())
            return str(candidate.resolve())
    what = not_a_file(given) or "not found"
    raise SpecError(f"energy reference table '{value}' {what}", key=f"{source} {name}",
                    fix="give an ERT YAML relative to the working directory, e.g. arch/ert/stc_45nm.yaml")


def _check_ert(path: Path) -> None:
    """Load and validate an ERT file (one located error if it is bad)."""
    from .ert import load_ert_cached  # (ert.py imports this module)

    load_ert_cached(path)


def parse_assignment(text: str, *, source: str = "--set") -> tuple[str, str]:
    """``"smem_kib=128"`` -> ``("smem_kib", "128")``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SpecError(f"'{text}' is not NAME=VALUE", key=source, fix="write e.g. --set smem_kib=128")
    return name.strip(), value.strip()


def arch_from_doc(doc: YamlDoc) -> ArchSpec:
    """Validate an already-loaded arch document."""
    if not isinstance(doc.data, dict):
        raise doc.error("an arch file must be a mapping of named parameters",
                        fix="write 'name: value' lines, see arch/stc.yaml")
    derived = doc.data.get("derived") or ()
    for name in derived if isinstance(derived, list) else ():
        if isinstance(name, str) and name in doc.data:
            raise doc.error(f"{name} is listed under 'derived' and also given", (name,),
                            fix=f"remove '{name}:' (it is computed from {', '.join(DERIVED_FROM.get(name, ()))}) "
                                "or drop it from 'derived'")
    arch = validate(ArchSpec, doc)
    problem = arch.geometry_problem()
    if problem:
        key, what, fix = problem
        raise doc.error(f"{key} {what}", (key,), fix)
    arch = _attach(arch, doc.path)
    for key, value, dense in (("ert", arch.ert, False), ("dense_ert", arch.dense_ert, True)):
        path = arch.ert_path(dense)
        if value is not None and not path.is_file():
            what = not_a_file(path) or "not found"
            what = f"not found (looked in {path.parent})" if what == "not found" else what
            raise doc.error(f"energy reference table '{value}' {what}",
                            (key,), fix=f"point '{key}:' at an ERT YAML relative to this file, e.g. ert/stc_45nm.yaml")
        if value is not None:
            _check_ert(path)  # used by some points only: checked now, before any point runs
    return arch
