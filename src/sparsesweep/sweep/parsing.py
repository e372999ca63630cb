"""Parsing the sweep's list-valued options (``--sparsity 0,0.5``, ``--set NAME=V1,V2``)."""

from __future__ import annotations

from ..errors import SpecError


def parse_list(text: str, key: str) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (empty items are an error)."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise SpecError(f"'{text}' is not a comma-separated list", key=key, fix="separate the items with commas, e.g. 0,0.5,0.75 or conv1,fc; no empty items")
    return items


def parse_fractions(text: str, key: str) -> list[float]:
    out = []
    for item in parse_list(text, key):
        try:
            out.append(float(item))
        except ValueError:
            raise SpecError(f"'{item}' is not a number", key=key, fix="write sparsities as numbers, e.g. 0,0.5,0.75") from None
    return out


def parse_axis(text: str) -> tuple[str, tuple[str, ...]]:
    """``"smem_kib=128,256"`` -> ``("smem_kib", ("128", "256"))``; paired parameters
    ``"smem_kib,smem_metadata_kib=128:32,256:64"`` -> ``("smem_kib,smem_metadata_kib", ("128:32", "256:64"))``."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise SpecError(f"'{text}' is not NAME=VALUE[,VALUE...]", key="--set",
                        fix="write e.g. --set smem_kib=128,256,512 (or A,B=a1:b1,a2:b2 to move two together)")
    name = ",".join(part.strip() for part in name.split(","))
    return name, tuple(parse_list(values, f"--set {name}"))
