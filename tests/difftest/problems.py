"""Problem shapes for the random differential-testing inputs (Timeloop v0.3 ``problem:`` documents).

Each shape is drawn with small dimensions so that real Timeloop evaluates it in a fraction of a
second: GEMM ``Z[M,N] = A[M,K] B[K,N]``, conv1d ``Outputs[Q] = Weights[S] * Inputs[S+Q]``, conv1d
with output channels (``Weights[M,S]``, ``Outputs[M,Q]``) and the 7-D ``CNN-Layer`` with strides
(and, rarely, dilations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

SIZES = (1, 2, 3, 4, 6, 8)


@dataclass(frozen=True)
class Problem:
    """A drawn problem: its YAML document and what the rest of the generator needs to know."""

    kind: str
    doc: dict[str, Any]
    dims: tuple[str, ...]
    sizes: dict[str, int]
    relevant: dict[str, frozenset[str]]  # dataspace -> dims that index it
    output: str
    sliding: dict[str, frozenset[str]] = field(default_factory=dict)  # dataspace -> dims of sliding windows

    @property
    def dataspaces(self) -> tuple[str, ...]:
        return tuple(self.relevant)

    @property
    def operands(self) -> tuple[str, ...]:
        return tuple(ds for ds in self.relevant if ds != self.output)


def _proj(*ranks: list[list[str]]) -> list[Any]:
    return [list(r) for r in ranks]


def _shape(name: str, dims: list[str], spaces: list[tuple[str, list[Any], bool]],
           coefficients: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {"name": name, "dimensions": dims}
    if coefficients:
        shape["coefficients"] = coefficients
    shape["data-spaces"] = []
    for ds, projection, rw in spaces:
        entry: dict[str, Any] = {"name": ds, "projection": projection}
        if rw:
            entry["read-write"] = True
        shape["data-spaces"].append(entry)
    return shape


@st.composite
def gemm(draw: st.DrawFn) -> Problem:
    sizes = {d: draw(st.sampled_from(SIZES)) for d in ("M", "K", "N")}
    spaces = [("A", _proj([["M"]], [["K"]]), False), ("B", _proj([["K"]], [["N"]]), False),
              ("Z", _proj([["M"]], [["N"]]), True)]
    doc = {"shape": _shape("MatrixMultiply", ["M", "K", "N"], spaces), "instance": dict(sizes)}
    rel = {"A": frozenset("MK"), "B": frozenset("KN"), "Z": frozenset("MN")}
    return Problem("gemm", doc, ("M", "K", "N"), sizes, rel, "Z")


@st.composite
def conv1d(draw: st.DrawFn) -> Problem:
    with_oc = draw(st.booleans())
    dims = (["M"] if with_oc else []) + ["S", "Q"]
    sizes = {"S": draw(st.sampled_from((1, 2, 3, 4))), "Q": draw(st.sampled_from(SIZES))}
    if with_oc:
        sizes["M"] = draw(st.sampled_from((1, 2, 3, 4)))
    weights = _proj(*([[["M"]]] if with_oc else []), [["S"]])
    outputs = _proj(*([[["M"]]] if with_oc else []), [["Q"]])
    spaces = [("Weights", weights, False), ("Inputs", _proj([["S"], ["Q"]]), False),
              ("Outputs", outputs, True)]
    name = "Conv1D_OC" if with_oc else "Conv1D"
    doc = {"shape": _shape(name, dims, spaces), "instance": {d: sizes[d] for d in dims}}
    rel = {"Weights": frozenset(["M", "S"] if with_oc else ["S"]), "Inputs": frozenset("SQ"),
           "Outputs": frozenset(["M", "Q"] if with_oc else ["Q"])}
    return Problem("conv1d_oc" if with_oc else "conv1d", doc, tuple(dims), sizes, rel, "Outputs",
                   {"Inputs": frozenset("SQ")})


CNN_DIMS = ("C", "M", "R", "S", "N", "P", "Q")


@st.composite
def cnn_layer(draw: st.DrawFn) -> Problem:
    sizes = {
        "C": draw(st.sampled_from((1, 2, 3, 4))), "M": draw(st.sampled_from((1, 2, 4))),
        "R": draw(st.sampled_from((1, 2, 3))), "S": draw(st.sampled_from((1, 2, 3))),
        "N": draw(st.sampled_from((1, 1, 2))), "P": draw(st.sampled_from((1, 2, 3, 4))),
        "Q": draw(st.sampled_from((1, 2, 3, 4))),
    }
    coeffs = {"Wstride": draw(st.sampled_from((1, 1, 2))), "Hstride": draw(st.sampled_from((1, 1, 2))),
              "Wdilation": draw(st.sampled_from((1, 1, 1, 2))), "Hdilation": 1}
    spaces = [
        ("Weights", _proj([["C"]], [["M"]], [["R"]], [["S"]]), False),
        ("Inputs", _proj([["N"]], [["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                         [["S", "Hdilation"], ["Q", "Hstride"]]), False),
        ("Outputs", _proj([["N"]], [["M"]], [["Q"]], [["P"]]), True),
    ]
    coefficients = [{"name": n, "default": 1} for n in coeffs]
    doc = {"shape": _shape("CNN-Layer", list(CNN_DIMS), spaces, coefficients),
           "instance": {**sizes, **coeffs}}
    rel = {"Weights": frozenset("CMRS"), "Inputs": frozenset("NCRSPQ"), "Outputs": frozenset("NMQP")}
    return Problem("cnn7", doc, CNN_DIMS, sizes, rel, "Outputs", {"Inputs": frozenset("RSPQ")})


def problems(kinds: tuple[str, ...] = ("gemm", "conv1d", "cnn7")) -> st.SearchStrategy[Problem]:
    table = {"gemm": gemm(), "conv1d": conv1d(), "cnn7": cnn_layer()}
    return st.one_of(*[table[k] for k in kinds])
