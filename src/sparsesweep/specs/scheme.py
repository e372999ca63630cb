"""Sparsity schemes (``sparse_opt/*.yaml``) and the sparsity -> N:M rule.

A scheme says *how* the hardware exploits sparsity; the sparsity degree and the sides come with
the point (``render --sparsity 0.5 --sides dual``).  ``kind`` picks the design family:

* ``dense``        -> the STC architecture with every density 1.0 and no sparse optimizations;
* ``structured``   -> N:M weights (STC_flexible, single) or N:M weights + activations
  (STC_flexible_dualCompress, dual), metadata CP or RLE;
* ``unstructured`` -> hypergeometric weights (and activations) with bitmask metadata (DSTC).

**N:M rule** (:func:`nm_for_sparsity`): sparsity ``s`` means density ``d = 1 - s``.  ``s = 0`` is
dense.  Otherwise the pattern is the ``N:M`` (1 <= N < M <= 16, or one of the scheme's
``nm_patterns``) whose density ``N/M`` is within 0.005 of ``d``, preferring ``N = 2`` (the
STC-flexible family 2:4, 2:6, 2:8), then the smallest ``M``.  So 0.5 -> 2:4, 0.667 -> 2:6,
0.75 -> 2:8, 0.6 -> 2:5, 0.9 -> 1:10, 0.25 -> 3:4; a sparsity no pattern matches is rejected.

**Activation patterns** (:func:`act_nm_for_sparsity`, structured dual side): activations use the
hardware's N:M patterns, M in ``ACT_BLOCK_SIZES`` (4, 6, 8, 16), and only those whose M divides
the weights' K block (the K extent one RF spatial step covers: ``pe_mesh_x * M / N`` for skipping,
``lcm(pe_mesh_x, M)`` for gating, ``pe_mesh_x`` for dense weights).  Every activation block then
lies inside one weight block, so K is padded to the weights' block only, never to a common
multiple of both patterns.  The same rule as for weights picks among them (N = 2 first, then the
smallest M); a sparsity no allowed pattern matches is an error naming the nearest ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ..errors import SpecError
from ..validation import validate
from ..yamlio import YamlDoc, load_yaml
from .base import Spec

Kind = Literal["dense", "structured", "unstructured"]
Sides = Literal["single", "dual"]
SIDES: tuple[Sides, ...] = ("single", "dual")
KINDS: tuple[Kind, ...] = ("dense", "structured", "unstructured")
DENSITY_TOLERANCE = 0.005  # |N/M - (1 - s)| allowed when picking N:M
MAX_M = 16
ACT_BLOCK_SIZES = (4, 6, 8, 16)  # the M of the activation N:M patterns the hardware supports
TOPOLOGY_OF_KIND: dict[str, str] = {"dense": "stc", "structured": "stc", "unstructured": "dstc"}


@dataclass(frozen=True, order=True)
class NM:
    """An N:M structured-sparsity pattern: at most N nonzeros in every block of M."""

    n: int
    m: int

    @property
    def density(self) -> float:
        return self.n / self.m

    @property
    def sparsity(self) -> float:
        return 1.0 - self.density

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"

    @classmethod
    def parse(cls, text: str) -> NM:
        """``"2:4"`` -> NM(2, 4); raises ValueError on bad text, N < 1 or N > M."""
        n_text, sep, m_text = str(text).partition(":")
        if not sep or not n_text.strip().isdigit() or not m_text.strip().isdigit():
            raise ValueError(f"'{text}' is not N:M")
        nm = cls(int(n_text), int(m_text))
        if nm.n < 1 or nm.n > nm.m:
            raise ValueError(f"N:M pattern '{text}' has N > M" if nm.n > nm.m else f"'{text}' has N < 1")
        return nm


def coordinate_bits(m: int) -> int:
    """Metadata bits of one coordinate inside an M-block (CP / RLE): ceil(log2 M), at least 1."""
    return max(1, math.ceil(math.log2(m)))


def check_sparsity(value: float, key: str = "--sparsity") -> float:
    """A sparsity in [0, 1): its density 1 - s must lie in (0, 1]."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise SpecError(f"sparsity must be a number (got {value!r})", key=key, fix="use e.g. 0.5")
    if not 0.0 <= value < 1.0:
        raise SpecError(f"sparsity {value} gives density {1 - value:g}, outside (0, 1]", key=key,
                        fix="use 0 <= sparsity < 1 (density = 1 - sparsity)")
    return float(value)


def nm_for_sparsity(sparsity: float, patterns: Sequence[NM] | None = None, *, key: str = "--sparsity") -> NM | None:
    """The N:M pattern for a sparsity (None for 0 = dense); see the module docs for the rule."""
    sparsity = check_sparsity(sparsity, key)
    if sparsity == 0.0:
        return None
    density = 1.0 - sparsity
    pool = list(patterns) if patterns else [NM(n, m) for m in range(2, MAX_M + 1) for n in range(1, m)]
    close = [p for p in pool if abs(p.density - density) <= DENSITY_TOLERANCE and p.n < p.m]
    if close:
        return min(close, key=lambda p: (p.n != 2, p.m, abs(p.density - density)))
    nearest = min((p for p in pool if p.n < p.m), key=lambda p: (round(abs(p.density - density), 9), p.n != 2, p.m),
                  default=None)
    among = f" among {', '.join(str(p) for p in pool)}" if patterns else f" with M <= {MAX_M}"
    hint = f"nearest is {nearest} (sparsity {nearest.sparsity:.4g})" if nearest else "add N:M patterns"
    raise SpecError(f"sparsity {sparsity:g} has no N:M pattern{among} within {DENSITY_TOLERANCE} density",
                    key=key, fix=f"use e.g. 0.5 (2:4), 0.667 (2:6) or 0.75 (2:8); {hint}")


def act_nm_for_sparsity(sparsity: float, k_block: int, patterns: Sequence[NM] | None = None, *,
                        key: str = "--act-sparsity", weights: str = "") -> NM | None:
    """The activation N:M for a sparsity: M in ``ACT_BLOCK_SIZES`` dividing ``k_block`` (the weights'
    K block); see the module docs.  ``weights`` describes the weights' block in the error."""
    sparsity = check_sparsity(sparsity, key)
    if sparsity == 0.0:
        return None
    density = 1.0 - sparsity
    blocks = [m for m in ACT_BLOCK_SIZES if k_block % m == 0]
    pool = [p for p in patterns if p.m in blocks] if patterns else [NM(n, m) for m in blocks for n in range(1, m)]
    pool = [p for p in pool if p.n < p.m]
    close = [p for p in pool if abs(p.density - density) <= DENSITY_TOLERANCE]
    if close:
        return min(close, key=lambda p: (p.n != 2, p.m, abs(p.density - density)))
    below = max((p for p in pool if p.density < density), key=lambda p: (p.density, -p.m), default=None)
    above = min((p for p in pool if p.density > density), key=lambda p: (p.density, p.m), default=None)
    nearest = sorted({p for p in (below, above) if p is not None}, key=lambda p: abs(p.density - density))
    names = ", ".join(f"{p.sparsity:.4g} ({p})" for p in nearest) or "none"
    allowed = ", ".join(str(m) for m in blocks) or "none"
    raise SpecError(f"activation sparsity {sparsity:g} has no N:M pattern with M in {allowed} (the hardware's "
                    f"{', '.join(str(m) for m in ACT_BLOCK_SIZES)} that divide the K block {k_block}{weights}) "
                    f"within {DENSITY_TOLERANCE} density; nearest: {names}", key=key,
                    fix=f"use one of the nearest ({names}), or scheme structured_dualcompress for unstructured "
                        "activations")


def _check_nm(text: str) -> str:
    try:
        return str(NM.parse(text))
    except ValueError as exc:
        raise PydanticCustomError("nm_pattern", str(exc), {"fix": "write N:M with 1 <= N <= M, e.g. 2:4"}) from exc


def _check_density(value: float | None) -> float | None:
    if value is not None and not 0.0 < value <= 1.0:
        raise PydanticCustomError("density", "a density must lie in (0, 1]",
                                  {"value": value, "fix": "a density is the fraction of nonzeros, in (0, 1]"})
    return value


NMText = Annotated[str, AfterValidator(_check_nm)]
Density = Annotated[float | None, AfterValidator(_check_density)]


class SchemeSpec(Spec):
    """How the hardware exploits sparsity (formats, SAFs); see ``sparse_opt/README`` in the README."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Scheme name (shown in results).")
    description: str = Field("", description="Free text.")
    kind: Kind = Field(description="dense | structured (N:M, fixed_structured) | unstructured (hypergeometric).")
    weight_format: Literal["CP", "RLE", "B"] | None = Field(
        None, description="Metadata format of compressed weights A: CP or RLE (structured), B = bitmask "
        "(unstructured). Default: CP for structured, B for unstructured.")
    activation_format: Literal["CP", "RLE", "B"] | None = Field(
        None, description="Metadata format of compressed activations B (dual side). Default: B (bitmask).")
    metadata_bits: int | None = Field(
        None, ge=1, le=32, description="CP/RLE metadata bits per nonzero (default ceil(log2 M)).")
    saf: Literal["skipping", "gating"] = Field(
        "skipping", description="skipping (saves energy and cycles) or gating (saves energy only).")
    position_skipping: bool = Field(
        False, description="Unstructured only: render the 2022 artifact's LRF position-skipping SAF "
        "(accepted only by the native engine, not by Timeloop master).")
    nm_patterns: list[NMText] | None = Field(
        None, description="Structured only: the N:M patterns the hardware supports (default: any N:M with M <= 16).")
    activation_density: Density = Field(
        None, description="Dual side: fixed activation density in (0, 1] (default: the weight density; "
        "--act-sparsity overrides).")
    activation_kind: Literal["structured", "unstructured"] | None = Field(
        None, description="Dual side, structured schemes: structured = N:M activations (M in 4, 6, 8, 16, "
        "dividing the weights' K block); unstructured = hypergeometric (random) activations stored with bitmask "
        "metadata on the structured weight path, as Sparseloop's fig15 STC_flexible_dualCompress. Default: the "
        "scheme's kind.")

    @property
    def topology(self) -> str:
        """The arch topology this scheme's designs need ('stc' or 'dstc')."""
        return TOPOLOGY_OF_KIND[self.kind]

    @property
    def weights_format(self) -> str:
        return self.weight_format or ("B" if self.kind == "unstructured" else "CP")

    @property
    def activations_format(self) -> str:
        return self.activation_format or "B"

    @property
    def activations_kind(self) -> str:
        """How dual-sided activations are sparse: 'structured' (N:M) or 'unstructured' (hypergeometric)."""
        return self.activation_kind or ("unstructured" if self.kind == "unstructured" else "structured")

    def patterns(self) -> list[NM] | None:
        return [NM.parse(p) for p in self.nm_patterns] if self.nm_patterns else None

    def problem(self) -> tuple[str, str, str] | None:
        """The first option that does not fit ``kind``, as ``(key, what, fix)``."""
        if self.kind == "dense":
            for key in ("weight_format", "activation_format", "metadata_bits", "nm_patterns", "activation_density",
                        "activation_kind"):
                if getattr(self, key) is not None:
                    return key, "has no meaning for a dense scheme", "remove it, or use kind: structured/unstructured"
        if self.kind == "structured" and self.weight_format == "B":
            return ("weight_format", "structured weights use CP or RLE metadata (as in STC_flexible)",
                    "use CP or RLE, or kind: unstructured for bitmask")
        if self.kind == "unstructured":
            for key in ("weight_format", "activation_format"):
                if getattr(self, key) not in (None, "B"):
                    return key, "unstructured designs use bitmask (B) metadata, as DSTC", "use B or remove it"
            if self.nm_patterns is not None:
                return "nm_patterns", "only structured schemes have N:M patterns", "remove it"
            if self.activation_kind == "structured":
                return ("activation_kind", "unstructured designs (DSTC) have unstructured activations",
                        "remove it, or use kind: structured")
        if self.activations_kind == "unstructured" and self.activations_format != "B":
            return ("activation_format", "unstructured activations use bitmask (B) metadata, as dualCompress",
                    "use B or remove it")
        if self.position_skipping and (self.kind != "unstructured" or self.saf != "skipping"):
            return ("position_skipping", "needs kind: unstructured and saf: skipping",
                    "set position_skipping: false")
        return None


def scheme_from_doc(doc: YamlDoc) -> SchemeSpec:
    """Validate a loaded scheme document."""
    if not isinstance(doc.data, dict):
        raise doc.error("a scheme file must be a mapping", fix="see sparse_opt/structured.yaml")
    scheme = validate(SchemeSpec, doc)
    problem = scheme.problem()
    if problem:
        key, what, fix = problem
        raise doc.error(f"{key} {what}", (key,), fix)
    return scheme


def load_scheme(path: str | Path) -> SchemeSpec:
    """Load and check a scheme file."""
    return scheme_from_doc(load_yaml(path))
