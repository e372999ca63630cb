"""Workloads: DNN layers as 7-D convolutions, with their GEMM view.

A workload file (``workloads/resnet50.yaml``) lists layers with Timeloop's CNN-layer dimensions
``R, S`` (filter height/width), ``P, Q`` (output height/width), ``C`` (input channels), ``M``
(output channels), ``N`` (batch), strides ``Hstride``/``Wstride`` and a ``repeat`` count for
identical layers.  The fig15 sparse-tensor-core designs compute GEMMs: weights ``A[M,K]``,
activations ``B[N,K]``, outputs ``Z[M,N]`` with ``M`` = output channels, ``K = C*R*S``,
``N = P*Q*batch`` (:meth:`Layer.gemm`).  :meth:`Layer.conv_problem` gives the 7-D form.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..errors import SpecError, suggest
from ..validation import validate
from ..yamlio import YamlDoc, load_yaml
from .base import Spec

CONV_DIMENSIONS = ("C", "M", "R", "S", "N", "P", "Q")
MAX_LAYER_MACS = 2**50  # counts (MACs x traffic factors) stay well inside int64 and exact in float64


def _dim(description: str) -> Any:
    return Field(1, ge=1, description=description)


class Layer(Spec):
    """One layer shape (a convolution, or a fully-connected layer as a 1x1 conv with P=Q=1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="Layer id (letters, digits, _ . -).")
    type: Literal["conv", "fc"] = Field("conv", description="conv, or fc (a 1x1 conv with P=Q=1).")
    R: int = _dim("Filter height (rows).")
    S: int = _dim("Filter width (columns).")
    P: int = _dim("Output height (rows).")
    Q: int = _dim("Output width (columns).")
    C: int = _dim("Input channels.")
    M: int = _dim("Output channels.")
    N: int = _dim("Batch size (images).")
    Hstride: int = _dim("Vertical stride (rows).")
    Wstride: int = _dim("Horizontal stride (columns).")
    pad: int = Field(0, ge=0, description="Zero padding on each side (pixels; informational).")
    repeat: int = Field(1, ge=1, description="How many identical instances of this layer the network has.")
    activation_density: float | None = Field(
        None, gt=0.0, le=1.0, description="Measured density of this layer's input activations (fraction of "
        "nonzeros, in (0, 1], e.g. after the previous ReLU). Used by dual-sided points only when the sweep is run "
        "with --act-sparsity workload (default: the activation sparsity equals the weight sparsity).")

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one instance: R*S*P*Q*C*M*N."""
        return self.R * self.S * self.P * self.Q * self.C * self.M * self.N

    @property
    def total_macs(self) -> int:
        return self.macs * self.repeat

    def gemm(self, m_multiple: int = 1, n_multiple: int = 1, k_multiple: int = 1) -> Gemm:
        """The GEMM view (M = out channels, K = C*R*S, N = P*Q*batch), each dim padded up to a multiple."""
        m, n, k = self.M, self.P * self.Q * self.N, self.C * self.R * self.S
        return Gemm(M=_round_up(m, m_multiple), N=_round_up(n, n_multiple), K=_round_up(k, k_multiple),
                    M_orig=m, N_orig=n, K_orig=k)

    def conv_problem(self, densities: dict[str, Any] | None = None) -> dict[str, Any]:
        """Timeloop's v0.3 7-D CNN-layer ``problem`` (shape + instance) for this layer."""
        instance: dict[str, Any] = {d: getattr(self, d) for d in CONV_DIMENSIONS}
        instance.update(Hstride=self.Hstride, Wstride=self.Wstride, Hdilation=1, Wdilation=1)
        if densities:
            instance["densities"] = densities
        shape = {
            "name": "CNN_Layer",
            "dimensions": list(CONV_DIMENSIONS),
            "coefficients": [{"name": c, "default": 1} for c in ("Wstride", "Hstride", "Wdilation", "Hdilation")],
            "data_spaces": [
                {"name": "Weights", "projection": [[["C"]], [["M"]], [["R"]], [["S"]]]},
                {"name": "Inputs", "projection": [[["N"]], [["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                                                  [["S", "Hdilation"], ["Q", "Hstride"]]]},
                {"name": "Outputs", "projection": [[["N"]], [["M"]], [["Q"]], [["P"]]], "read_write": True},
            ],
        }
        return {"shape": shape, "instance": instance}


@dataclass(frozen=True)
class Gemm:
    """GEMM bounds (possibly padded) and the layer's own bounds."""

    M: int
    N: int
    K: int
    M_orig: int
    N_orig: int
    K_orig: int

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K

    @property
    def macs_orig(self) -> int:
        return self.M_orig * self.N_orig * self.K_orig

    @property
    def padded(self) -> bool:
        return (self.M, self.N, self.K) != (self.M_orig, self.N_orig, self.K_orig)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


class Workload(Spec):
    """A network: an ordered list of layers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Network name.")
    description: str = Field("", description="Free text (input size, batch, version).")
    layers: list[Layer] = Field(min_length=1, description="The layers, in network order.")

    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def layer(self, name: str, *, source: str | Path | None = None, key: str = "--layer") -> Layer:
        """The layer called ``name``; an unknown name suggests sensible matches."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise SpecError(f"unknown layer '{name}'", file=source, key=key, fix=layer_hint(name, self.names()))

    def select(self, patterns: Sequence[str], *, source: str | Path | None = None,
               key: str = "--layers") -> list[Layer]:
        """The layers named by ``patterns`` (names or shell-style patterns such as ``conv3_*``), in
        network order, each once; a name or pattern that matches nothing is an error with suggestions."""
        wanted: set[str] = set()
        for pattern in patterns:
            if any(ch in pattern for ch in "*?["):
                matched = [n for n in self.names() if fnmatch.fnmatchcase(n, pattern)]
                if not matched:
                    raise SpecError(f"no layer matches '{pattern}'", file=source, key=key,
                                    fix=layer_hint(pattern.strip("*?[]"), self.names()))
                wanted.update(matched)
            else:
                wanted.add(self.layer(pattern, source=source, key=key).name)
        return [layer for layer in self.layers if layer.name in wanted]

    @property
    def total_macs(self) -> int:
        return sum(layer.total_macs for layer in self.layers)


def layer_hint(name: str, names: Sequence[str]) -> str:
    """Suggestions for a layer name that does not exist: a pattern for the layers it starts (or is
    part of), else the closest names; always how to list them."""
    listing = "'sparsesweep layers' lists them; --layers takes patterns such as 'conv3_*'"
    if name:
        for pattern, matched in ((f"{name}*", [n for n in names if n.startswith(name)]),
                                 (f"*{name}*", [n for n in names if name in n])):
            if matched:
                shown = ", ".join(matched[:4]) + (", ..." if len(matched) > 4 else "")
                return f"did you mean '{pattern}' ({len(matched)} layers: {shown})? {listing}"
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + f"? {listing}"
    return suggest(name, names) + f"; {listing}"


def workload_from_doc(doc: YamlDoc) -> Workload:
    """Validate a loaded workload document (unique names, fc shapes)."""
    if not isinstance(doc.data, dict):
        raise doc.error("a workload file must be a mapping with 'name' and 'layers'", fix="see workloads/resnet50.yaml")
    workload = validate(Workload, doc)
    seen: dict[str, int] = {}
    for i, layer in enumerate(workload.layers):
        if layer.name in seen:
            raise doc.error(f"layer name '{layer.name}' is used twice (also layers[{seen[layer.name]}])",
                            ("layers", i, "name"), fix="give every layer its own name; use 'repeat' for copies")
        seen[layer.name] = i
        if layer.total_macs > MAX_LAYER_MACS:
            raise doc.error(f"layer '{layer.name}' has {layer.total_macs:.3g} MACs (with repeat), more than the "
                            f"{MAX_LAYER_MACS:.3g} the engine's counts hold", ("layers", i),
                            fix="check the dimensions (a typo in a size?)")
        if layer.type == "fc":
            for dim in ("R", "S", "P", "Q"):
                if getattr(layer, dim) != 1:
                    raise doc.error(f"an fc layer must have {dim} = 1 (got {getattr(layer, dim)})",
                                    ("layers", i, dim), fix="use type: conv, or set R=S=P=Q=1")
    return workload


def load_workload(path: str | Path) -> Workload:
    """Load and check a workload file."""
    return workload_from_doc(load_yaml(path))
