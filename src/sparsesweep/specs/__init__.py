"""User-facing specs: architecture parameters, workloads, sparsity schemes, pinned ERTs, mapper settings."""

from .arch import ArchSpec, apply_overrides, arch_from_doc, load_arch, parse_assignment
from .ert import ErtFile, ert_for_arch, ert_from_doc, load_ert, load_ert_cached
from .mapper import MapperSettings
from .paths import available_names, data_root, resolve_named, templates_dir
from .scheme import (
    NM,
    SIDES,
    SchemeSpec,
    Sides,
    check_sparsity,
    coordinate_bits,
    load_scheme,
    nm_for_sparsity,
    scheme_from_doc,
)
from .workload import Gemm, Layer, Workload, load_workload, workload_from_doc

__all__ = [
    "ArchSpec", "ErtFile", "Gemm", "Layer", "MapperSettings", "NM", "SIDES", "SchemeSpec", "Sides", "Workload",
    "apply_overrides", "arch_from_doc", "available_names", "check_sparsity", "coordinate_bits", "data_root",
    "ert_for_arch", "ert_from_doc", "load_arch", "load_ert", "load_ert_cached", "load_scheme", "load_workload", "nm_for_sparsity",
    "parse_assignment", "resolve_named", "scheme_from_doc", "templates_dir", "workload_from_doc",
]
