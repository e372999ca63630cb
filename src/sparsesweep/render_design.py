"""Plan one point: which design a (scheme, sides, sparsity) renders and with what numbers.

The plan is plain data (densities, formats, metadata bits, GEMM padding, mapspace pins) that the
Jinja templates in ``templates/`` lay out as a Timeloop input.  Design per scheme kind:

================  =====================================  ============================================
kind / sides      single                                 dual
================  =====================================  ============================================
dense             STC arch, densities 1.0, no sparse optimizations, TC mapspace (RF K <= 4*pe_mesh_x)
structured        STC_flexible: A N:M CP/RLE, RF          STC_flexible_dualCompress: + B N:M bitmask
                  skipping_spatial B,Z <- A, RF K pinned  at DRAM/SMEM (activation_kind: unstructured:
                                                          B hypergeometric bitmask, as fig15)
unstructured      DSTC: A hypergeometric bitmask,         DSTC: A and B hypergeometric bitmask,
                  RF Z <- A, LRF B <- A (skipping)        RF Z <- [A,B], LRF A <- B, B <- A
================  =====================================  ============================================

Structured activations are N:M with M in 4, 6, 8, 16 dividing the weights' K block (see
:func:`~.specs.scheme.act_nm_for_sparsity`): the GEMM K is padded to the weights' block alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import SpecError
from .specs.arch import ArchSpec
from .specs.scheme import (NM, SchemeSpec, Sides, act_nm_for_sparsity, check_sparsity, coordinate_bits,
                           nm_for_sparsity)
from .specs.workload import Gemm, Layer

MASTER_BLOCK_SIZES = (1, 2, 4, 8, 16, 32)  # Timeloop master's VectorWidthCoefficientTable rows (+ 1)
DENSE_K_FACTOR = 4  # dense / gating mapspace: RF spatial K <= 4 * pe_mesh_x (fig15 FlexibleGH-Ms: K<=64)


@dataclass(frozen=True)
class TensorPlan:
    """Density and storage format of one operand (A = weights, B = activations)."""

    density: float = 1.0
    distribution: str = "fixed_structured"  # or hypergeometric
    nm: NM | None = None
    format: str | None = None  # CP | RLE | B when compressed, else None
    metadata_bits: int = 0

    @property
    def compressed(self) -> bool:
        return self.format is not None


@dataclass(frozen=True)
class DesignPlan:
    """Everything the templates need beyond the arch parameters."""

    design: str
    kind: str
    sides: Sides
    topology: str
    saf: str
    position_skipping: bool
    sparsity: float
    act_sparsity: float | None  # as given, or for dual points the one in effect
    weights: TensorPlan
    acts: TensorPlan
    gemm: Gemm
    pins: dict[str, int | str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_point(arch: ArchSpec, layer: Layer, scheme: SchemeSpec, sides: Sides, sparsity: float,
               act_sparsity: float | None = None, act_key: str = "--act-sparsity") -> DesignPlan:
    """The design a point renders (raises :class:`SpecError` for points it cannot express); ``act_key``
    names where the activation sparsity came from in errors."""
    if sides not in ("single", "dual"):
        raise SpecError(f"unknown sides '{sides}'", key="--sides", fix="use single or dual")
    sparsity = check_sparsity(sparsity)
    if act_sparsity is not None:
        act_sparsity = check_sparsity(act_sparsity, act_key)
    if arch.topology != scheme.topology:
        raise SpecError(f"scheme '{scheme.name}' ({scheme.kind}) renders a '{scheme.topology}' design but arch "
                        f"'{arch.name}' has topology '{arch.topology}'", file=arch.source, key="topology",
                        fix=f"use --arch arch/{scheme.topology}.yaml")
    notes: list[str] = []
    weights, acts, act_sparsity = _densities(arch, scheme, sides, sparsity, act_sparsity, notes, act_key)
    pins, multiples = _pins(arch, scheme, weights)
    gemm = layer.gemm(*multiples)
    if gemm.padded:
        notes.append(f"GEMM padded from M={gemm.M_orig} N={gemm.N_orig} K={gemm.K_orig} to "
                     f"M={gemm.M} N={gemm.N} K={gemm.K} for the design's spatial blocks")
    warnings = _check_storage(arch, weights, acts)
    return DesignPlan(design=_label(scheme, sides), kind=scheme.kind, sides=sides, topology=scheme.topology,
                      saf=scheme.saf, position_skipping=scheme.position_skipping, sparsity=sparsity,
                      act_sparsity=act_sparsity, weights=weights, acts=acts, gemm=gemm, pins=pins,
                      notes=notes, warnings=warnings)


def _densities(arch: ArchSpec, scheme: SchemeSpec, sides: Sides, sparsity: float, act_sparsity: float | None,
               notes: list[str], act_key: str) -> tuple[TensorPlan, TensorPlan, float | None]:
    """Weights and activations plans, and the activation sparsity in effect (None: not exploited)."""
    if scheme.kind == "dense":
        if sparsity or act_sparsity:
            notes.append("dense hardware does not exploit sparsity: densities rendered as 1.0")
        return TensorPlan(), TensorPlan(), act_sparsity
    weights = _tensor(scheme, sparsity, scheme.weights_format, "--sparsity", scheme.metadata_bits)
    if sides == "single":
        if act_sparsity or scheme.activation_density is not None:
            notes.append("single-sided hardware does not exploit activation sparsity: activations rendered dense")
        return weights, TensorPlan(), act_sparsity
    if act_sparsity is None:
        if scheme.activation_density is None:
            act_key = "--sparsity (dual-sided activations follow the weight sparsity unless --act-sparsity is given)"
            act_sparsity = sparsity
        else:
            act_sparsity, act_key = 1.0 - scheme.activation_density, f"activation_density of scheme {scheme.name}"
    if act_sparsity == 0.0:
        return weights, TensorPlan(), act_sparsity
    fmt = scheme.activations_format
    if scheme.activations_kind == "unstructured":
        return weights, _random(act_sparsity, fmt), act_sparsity
    k_block = _k_block(arch, scheme, weights.nm)
    what = f" of {weights.nm} weights" if weights.nm else " of dense weights"
    nm = act_nm_for_sparsity(act_sparsity, k_block, scheme.patterns(), key=act_key, weights=what)
    assert nm is not None  # act_sparsity > 0
    return weights, _structured(nm, fmt, None), act_sparsity


def _tensor(scheme: SchemeSpec, sparsity: float, fmt: str, key: str, bits: int | None) -> TensorPlan:
    if sparsity == 0.0:
        return TensorPlan()
    if scheme.kind == "unstructured":
        return _random(sparsity, fmt)
    nm = nm_for_sparsity(sparsity, scheme.patterns(), key=key)
    assert nm is not None  # sparsity > 0
    return _structured(nm, fmt, bits)


def _random(sparsity: float, fmt: str) -> TensorPlan:
    """Hypergeometric (unstructured) nonzeros, bitmask metadata."""
    return TensorPlan(density=round(1.0 - sparsity, 12), distribution="hypergeometric", format=fmt, metadata_bits=1)


def _structured(nm: NM, fmt: str, bits: int | None) -> TensorPlan:
    md_bits = 1 if fmt == "B" else (bits or coordinate_bits(nm.m))
    return TensorPlan(density=nm.density, distribution="fixed_structured", nm=nm, format=fmt, metadata_bits=md_bits)


def _k_block(arch: ArchSpec, scheme: SchemeSpec, nm: NM | None) -> int:
    """The K extent of one RF spatial step of an STC design, which the GEMM K is padded to: the PE
    columns (dense weights), the N:M lane block pe_mesh_x*M/N (skipping), or whole N:M blocks on
    the PE columns (gating)."""
    if nm is None:
        return arch.pe_mesh_x
    if scheme.saf == "skipping":
        if arch.pe_mesh_x % nm.n:
            raise SpecError(f"N:M {nm} needs N to divide pe_mesh_x={arch.pe_mesh_x} (the RF spatial K block is "
                            f"pe_mesh_x*M/N)", key="--sparsity",
                            fix="pick a sparsity with N = 2 (0.5, 0.667, 0.75) or change pe_mesh_x")
        return arch.pe_mesh_x * nm.m // nm.n
    return math.lcm(arch.pe_mesh_x, nm.m)


def _pins(arch: ArchSpec, scheme: SchemeSpec, weights: TensorPlan) -> tuple[dict[str, int | str], tuple[int, int, int]]:
    """Mapspace pins for the constraints, and the (M, N, K) multiples the GEMM is padded to."""
    if scheme.topology == "dstc":
        sm_n = max(d for d in range(1, math.isqrt(arch.cores) + 1) if arch.cores % d == 0)
        sm_m = arch.cores // sm_n
        pins: dict[str, int | str] = {"sm_m": sm_m, "sm_n": sm_n, "lrf_m": arch.pe_mesh_y, "lrf_n": arch.pe_mesh_x}
        return pins, (arch.pe_mesh_y * sm_m, arch.pe_mesh_x * sm_n, 1)
    lrf_n_max = arch.rf_words // arch.pe_mesh_y
    if lrf_n_max < 1:
        raise SpecError(f"rf_words={arch.rf_words} cannot hold one output per PE row (pe_mesh_y={arch.pe_mesh_y})",
                        file=arch.source, key="rf_words", fix=f"use rf_words >= {arch.pe_mesh_y}")
    pins = {"rf_k": f"K<={DENSE_K_FACTOR * arch.pe_mesh_x}", "rf_m": arch.pe_mesh_y,
            "smem_m_max": arch.cores, "lrf_n_max": lrf_n_max}
    # Padding rule (every design): pad the GEMM to the full spatial block its array works on. STC pads
    # M to the PE rows and K to the PE columns (dense, gating) or to the N:M lane block (skipping),
    # DSTC pads M and N to its cores' outer-product arrays. Without K padding, a dense layer whose K
    # has no factor near pe_mesh_x (conv1: K=147) leaves PE columns idle that structured fills.
    # Structured activations' M divides this block (act_nm_for_sparsity), so they add no padding.
    k_multiple = _k_block(arch, scheme, weights.nm)
    if weights.nm is not None and scheme.saf == "skipping":
        pins["rf_k"] = f"K={k_multiple}"
    return pins, (arch.pe_mesh_y, 1, k_multiple)


def _check_storage(arch: ArchSpec, weights: TensorPlan, acts: TensorPlan) -> list[str]:
    """Compressed tensors need metadata storage wide enough; warn where Timeloop master would abort."""
    levels = {"A": ("DRAM", "SMEM", "LRF"),  # dualCompress keeps B compressed only above the RF
              "B": ("DRAM", "SMEM") if arch.topology == "stc" else ("DRAM", "SMEM", "LRF")}
    param = {"DRAM": "dram_metadata_width_bits", "SMEM": "smem_metadata_kib", "LRF": "lrf_metadata_bits"}
    warnings: list[str] = []
    for tensor, plan in (("A", weights), ("B", acts)):
        if not plan.compressed:
            continue
        for level in levels[tensor]:
            width = arch.metadata_width(level)
            if width < plan.metadata_bits:
                raise SpecError(f"{level} stores compressed {tensor} with {plan.metadata_bits}-bit metadata but has "
                                f"{width}-bit metadata storage", file=arch.source, key=param[level],
                                fix=f"give {level} metadata storage at least {plan.metadata_bits} bits wide")
            block = arch.block_words(level)
            if plan.density < 1 and block not in MASTER_BLOCK_SIZES:
                warnings.append(f"{level} block size {block} words (width/word_bits) holds compressed {tensor}: "
                                "Timeloop master aborts on this (native engine is fine); use 2..32 words")
    return warnings


def _label(scheme: SchemeSpec, sides: Sides) -> str:
    if scheme.kind == "dense":
        return "dense (fig15 TC mapspace on the STC architecture)"
    if scheme.kind == "structured":
        base = "STC_flexible" if sides == "single" else "STC_flexible_dualCompress"
        fmt = "-RLE" if scheme.weights_format == "RLE" else ""
        acts = " (unstructured activations, as fig15)" if sides == "dual" and scheme.activations_kind == "unstructured" else ""
        return f"{base}{fmt}" + (" (gating)" if scheme.saf == "gating" else "") + acts
    if scheme.position_skipping:
        return "DSTC (artifact position-skipping; native engine only)"
    return f"DSTC ({scheme.saf}, Timeloop-master SAFs)"
