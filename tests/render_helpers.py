"""Helpers shared by the render tests: load specs once, normalise Timeloop YAML for comparison."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from sparsesweep.specs import load_arch, load_scheme, load_workload

REPO = Path(__file__).resolve().parents[1]
# Enumerated values Timeloop treats hyphen/underscore-insensitively.
_WORDS = {"inner-to-outer", "outer-to-inner", "fixed-structured", "skipping-spatial"}


@lru_cache(maxsize=None)
def arch(name: str):
    return load_arch(REPO / "arch" / f"{name}.yaml")


@lru_cache(maxsize=None)
def scheme(name: str):
    return load_scheme(REPO / "sparse_opt" / f"{name}.yaml")


@lru_cache(maxsize=None)
def resnet():
    return load_workload(REPO / "workloads" / "resnet50.yaml")


def norm(data: Any) -> Any:
    """Hyphenated keys (and the enumerated values above) -> underscores, recursively."""
    if isinstance(data, dict):
        return {str(k).replace("-", "_"): norm(v) for k, v in data.items()}
    if isinstance(data, list):
        return [norm(v) for v in data]
    if isinstance(data, str) and data in _WORDS:
        return data.replace("-", "_")
    return data


def levels(architecture: dict) -> dict[str, dict]:
    """Flatten a v0.3 tree: level name (range stripped) -> class, subclass, attributes, instances."""
    out: dict[str, dict] = {}

    def count(name: str) -> int:
        match = re.search(r"\[(\d+)\.\.(\d+)\]$", name)
        return int(match.group(2)) - int(match.group(1)) + 1 if match else 1

    def walk(node: dict, instances: int) -> None:
        instances *= count(node.get("name", ""))
        for comp in node.get("local", []) or []:
            out[re.sub(r"\[.*\]$", "", comp["name"])] = {
                "class": comp["class"], "subclass": comp.get("subclass"),
                "attributes": comp.get("attributes", {}), "instances": instances * count(comp["name"])}
        for child in node.get("subtree", []) or []:
            walk(child, instances)

    for top in architecture["subtree"]:
        walk(top, 1)
    return out


def targets_by_name(sparse: dict) -> dict[str, dict]:
    """sparse_optimizations targets keyed by level, data spaces keyed by tensor name."""
    out = {}
    for target in sparse["targets"]:
        entry = dict(target)
        repr_format = entry.get("representation_format")
        if repr_format is not None:
            entry["representation_format"] = {ds["name"]: ds for ds in repr_format.get("data_spaces", [])}
        out[entry.pop("name")] = entry
    return out


def constraints(data: dict) -> dict[tuple[str, str], dict]:
    """architecture_constraints keyed by (target, type); factor strings as token sets."""
    out = {}
    for entry in data["targets"]:
        entry = dict(entry)
        key = (entry.pop("target"), entry.pop("type"))
        if "factors" in entry:
            entry["factors"] = set(str(entry["factors"]).split())
        for field in ("keep", "bypass", "no_link_transfer"):
            if field in entry:
                entry[field] = sorted(entry[field])
        out[key] = entry
    return out
