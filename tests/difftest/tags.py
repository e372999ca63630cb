"""Feature tags of a generated input: what it exercises, for statistics and for routing a
disagreement to a known class (``halo``, ``UB``, ``uop_payload``, ``wild_placement``)."""

from __future__ import annotations

from typing import Any

KNOWN_CLASS_TAGS = ("halo", "UB", "uop_payload", "wild_placement")


def _loops_outer_to_inner(layout: Any, mapping: dict[str, Any]) -> list[str]:
    """Dimensions of the loops with factor > 1, outermost first (a permutation lists innermost first)."""
    out: list[str] = []
    for i in range(len(layout.names)):
        for kind in ("temporal", "spatial"):
            slot = (i, kind)
            if slot not in mapping["factors"]:
                continue
            for d in reversed(mapping["perms"][slot]):
                if mapping["factors"][slot][d] > 1:
                    out.append(d)
    return out


def has_halo_pattern(layout: Any, mapping: dict[str, Any]) -> bool:
    """A loop over a sliding-window dimension of a tensor with a loop that does not index that tensor
    somewhere inside it (the reuse pattern the engine's closed form used to miss)."""
    loops = _loops_outer_to_inner(layout, mapping)
    for ds, sliding in layout.prob.sliding.items():
        relevant = layout.prob.relevant[ds]
        for k, d in enumerate(loops):
            if d in sliding and any(e not in relevant for e in loops[k + 1:]):
                return True
    return False


SLIDING_PAIRS = (frozenset("SQ"), frozenset("RP"))


def has_window_and_output_loops(layout: Any, mapping: dict[str, Any]) -> bool:
    """Loops (factor > 1) over both a filter dimension and its output dimension (S and Q, or R and P):
    consecutive input tiles can then overlap or repeat across the loops' boundaries."""
    loops = set(_loops_outer_to_inner(layout, mapping))
    return any(pair <= loops for pair in SLIDING_PAIRS) and bool(layout.prob.sliding)


def case_tags(layout: Any, mapping: dict[str, Any], sparse: Any, densities: dict[str, Any]) -> frozenset[str]:
    tags = {f"problem:{layout.prob.kind}", f"levels:{len(layout.names)}"}
    if any(f > 1 for f in layout.fanouts):
        tags.add("spatial")
    if mapping["splits"]:
        tags.add("mesh2d")
    if any(layout.keep[n] != set(layout.prob.dataspaces) for n in layout.names):
        tags.add("bypass")
    for ds, spec in densities.items():
        tags.add(f"density:{spec['distribution']}")
    if has_halo_pattern(layout, mapping):
        tags.add("halo")
    if has_window_and_output_loops(layout, mapping):
        tags.add("sliding_pair")
    if sparse.wild:
        tags.add("wild_placement")
    for target in sparse.targets:
        for entry in target.get("representation-format", {}).get("data-spaces", []):
            formats = [r["format"] for r in entry["ranks"]]
            tags.update(f"format:{f}" for f in formats)
            if "UB" in formats:
                tags.add("UB")
            if entry["name"] == layout.prob.output:
                tags.add("compressed_output")
            for k, rank in enumerate(entry["ranks"]):
                if rank["format"] == "UOP" and rank.get("payload-word-bits", 0) > 0 and \
                        any(f in ("CP", "RLE") for f in formats[k + 1:]):
                    tags.add("uop_payload")
        for saf in target.get("action-optimization", []):
            tags.add(f"saf:{saf['type']}")
        for saf in target.get("compute-optimization", []):
            tags.add(f"compute_saf:{saf['type']}")
    return frozenset(tags)
