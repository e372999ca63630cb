"""Hypothesis strategies for random, small but complete Timeloop v0.3 inputs with a pinned ERT.

:func:`cases` draws a :class:`Case`: a problem (``problems.py``), an architecture of 1-3 storage
levels with spatial fanouts between them and above the MACs (1-D rows, or 2-D meshes stated with
``meshX``/``meshY`` and mapped with a random ``split``), a valid mapping (every prime factor of
every dimension placed at a random temporal or spatial slot, random permutations, random bypass),
densities, formats and SAFs (``sparse_gen.py``) and an ERT with random energies.  Everything is
drawn through Hypothesis, so a failing input shrinks to a small one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import assume
from hypothesis import strategies as st

from .options import GenOptions
from .problems import Problem, problems
from .sparse_gen import Layout, draw_densities, draw_sparse
from .tags import case_tags

LEVEL_NAMES = {1: ("Bank",), 2: ("Backing", "Buffer"), 3: ("DRAM", "GLB", "RF")}
Mesh = tuple[int, int]  # a fanout's (X, Y) extents
FLAT_FANOUTS: tuple[Mesh, ...] = ((1, 1), (1, 1), (2, 1), (4, 1))
MESH_FANOUTS: tuple[Mesh, ...] = ((2, 2), (1, 2), (4, 2), (2, 4))  # 2-D fanouts (and a Y-only one)


@dataclass(frozen=True)
class Case:
    """One generated input: ``input.yaml`` and ``ERT.yaml`` documents and its feature tags."""

    input: dict[str, Any]
    ert: dict[str, Any]
    tags: frozenset[str]

    def input_yaml(self) -> str:
        return yaml.safe_dump(self.input, sort_keys=False)

    def ert_yaml(self) -> str:
        return yaml.safe_dump(self.ert, sort_keys=False)


def prime_factors(n: int) -> list[int]:
    """The prime factors of ``n`` with multiplicity, smallest first."""
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def _mapping(draw: st.DrawFn, prob: Problem, names: tuple[str, ...], meshes: tuple[Mesh, ...]) -> dict[str, Any]:
    """Factors per slot: {(level, 'temporal'|'spatial'): {dim: factor}}; permutations per slot; the
    ``split`` of every spatial slot under a 2-D fanout (its permutation's first ``split`` dimensions,
    innermost first, go to the X axis, the rest to Y)."""
    slots = [(i, "temporal") for i in range(len(names))] + \
        [(i, "spatial") for i, (fx, fy) in enumerate(meshes) if fx * fy > 1]
    factors = {s: {d: 1 for d in prob.dims} for s in slots}
    for d in prob.dims:
        for p in prime_factors(prob.sizes[d]):
            slot = slots[draw(st.integers(0, len(slots) - 1))]
            factors[slot][d] *= p
    perms = {s: "".join(draw(st.permutations(prob.dims))) for s in slots}
    splits: dict[tuple[int, str], int] = {}
    for i, (fx, fy) in enumerate(meshes):  # spatial products must fit each axis; the excess goes temporal
        sp = factors.get((i, "spatial"))
        if sp is None:
            continue
        split = len(prob.dims)
        if fy > 1:
            split = splits[(i, "spatial")] = draw(st.integers(0, len(prob.dims)))
        perm = perms[(i, "spatial")]
        for axis, fan in ((perm[:split], fx), (perm[split:], fy)):
            for d in axis:
                while sp[d] > 1 and _prod(sp[e] for e in axis) > fan:
                    q = prime_factors(sp[d])[-1]
                    sp[d] //= q
                    factors[(i, "temporal")][d] *= q
    return {"factors": factors, "perms": perms, "slots": slots, "splits": splits}


def _prod(values: Any) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def _mapping_doc(names: tuple[str, ...], m: dict[str, Any], keep: dict[str, set[str]],
                 dataspaces: tuple[str, ...]) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        for kind in ("temporal", "spatial"):
            slot = (i, kind)
            if slot not in m["factors"]:
                continue
            fac = " ".join(f"{d}={f}" for d, f in m["factors"][slot].items())
            entry = {"target": name, "type": kind, "factors": fac, "permutation": m["perms"][slot]}
            if slot in m["splits"]:
                entry["split"] = m["splits"][slot]
            doc.append(entry)
        bypassed = [ds for ds in dataspaces if ds not in keep[name]]
        if bypassed:
            doc.append({"target": name, "type": "datatype", "keep": [ds for ds in dataspaces if ds in keep[name]],
                        "bypass": bypassed})
    return doc


@st.composite
def _storage(draw: st.DrawFn, name: str, top: bool, metadata: bool, opts: GenOptions) -> dict[str, Any]:
    block = draw(st.sampled_from((1, 2, 4, 8)))
    attrs: dict[str, Any] = {}
    dram = top and draw(st.booleans())
    if dram:
        attrs.update(width=8 * block, datawidth=8, block_size=block)
    else:
        depth = draw(st.sampled_from((1024, 4096))) if top else draw(st.sampled_from((256, 1024, 4096)))
        attrs.update(data_storage_depth=depth, data_storage_width=8 * block, datawidth=8, block_size=block)
    if metadata:
        md_word = draw(st.sampled_from((2, 4, 8)))
        if not dram:
            attrs["metadata_storage_depth"] = 4096
        attrs.update(metadata_storage_width=md_word * draw(st.sampled_from((1, 2, 3, 4, 6))),
                     metadata_datawidth=md_word)
    if opts.bandwidths and not top and draw(st.integers(0, 2)) == 0:
        attrs.update(read_bandwidth=draw(st.sampled_from((1, 2, 4, 8))),
                     write_bandwidth=draw(st.sampled_from((1, 2, 4, 8))))
    if dram:
        return {"name": name, "class": "DRAM", "attributes": attrs}
    return {"name": name, "class": "storage", "subclass": "sram_md" if top else "regfile_md", "attributes": attrs}


def _architecture(locals_: list[dict[str, Any]], meshes: tuple[Mesh, ...], mac: dict[str, Any],
                  mesh_keys: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The v0.3 tree and each component's full name (ERT table names), outermost first.

    A component under a 2-D fanout (its instances not one flat X row) states its mesh with
    ``meshX``, ``meshY`` or both (``mesh_keys``, one per component below the top)."""
    root: dict[str, Any] = {"name": "system", "attributes": {"technology": "45nm"}, "local": [locals_[0]]}
    node, prefix, full = root, "system", [f"system.{locals_[0]['name']}"]
    mx = my = 1
    for i in range(1, len(locals_) + 1):
        fx, fy = meshes[i - 1]
        f = fx * fy
        mx, my = mx * fx, my * fy
        comp = locals_[i] if i < len(locals_) else mac
        if my > 1:
            mesh = {"meshX": mx, "meshY": my}
            keys = ("meshX", "meshY") if mesh_keys[i - 1] == "both" else (mesh_keys[i - 1],)
            comp = {**comp, "attributes": {**comp["attributes"], **{k: mesh[k] for k in keys}}}
        if f == 1:
            node["local"].append(comp)
        else:
            sub_name = f"{'PE' if i == len(locals_) else 'U' + str(i)}[0..{f - 1}]"
            child: dict[str, Any] = {"name": sub_name, "local": [comp]}
            node["subtree"] = [child]
            node, prefix = child, f"{prefix}.{sub_name}"
        full.append(f"{prefix}.{comp['name']}")
    return {"version": 0.3, "subtree": [root]}, full


def _energy(draw: st.DrawFn, lo: int, hi: int) -> float:
    return draw(st.integers(lo, hi)) / 1000


@st.composite
def _ert(draw: st.DrawFn, full_names: list[str]) -> dict[str, Any]:
    tables = []
    for k, name in enumerate(full_names):
        if k == len(full_names) - 1:
            names = ["mac_random", "mac_gated"] + (["mac_skipped"] if draw(st.booleans()) else []) + ["idle"]
            energies = {"mac_random": _energy(draw, 100, 2000), "mac_gated": _energy(draw, 1, 100),
                        "mac_skipped": _energy(draw, 1, 100), "idle": _energy(draw, 1, 50)}
        else:
            names = ["read", "write", "gated_read", "gated_write", "metadata_read", "metadata_write",
                     "gated_metadata_read", "gated_metadata_write"]
            if draw(st.booleans()):
                names += ["skipped_read", "skipped_write", "skipped_metadata_read", "skipped_metadata_write"]
            scale = 10 ** (len(full_names) - 2 - k)  # outer levels cost more
            energies = {n: _energy(draw, 1, 30) * scale if ("gated" in n or "skipped" in n)
                        else _energy(draw, 50, 1500) * scale for n in names}
        tables.append({"name": name, "actions": [
            {"name": n, "arguments": None, "energy": round(energies[n], 5)} for n in names]})
    return {"ERT": {"version": 0.3, "tables": tables}}


@st.composite
def cases(draw: st.DrawFn, opts: GenOptions = GenOptions()) -> Case:
    prob = draw(problems(opts.problems))
    n = draw(st.integers(1, opts.max_levels))
    names = LEVEL_NAMES[n]
    shapes = FLAT_FANOUTS + (MESH_FANOUTS if opts.mesh2d else ())
    meshes = tuple(draw(st.sampled_from(tuple(m for m in shapes if m[0] * m[1] <= opts.max_fanout)))
                   for _ in range(n))
    fanouts = tuple(fx * fy for fx, fy in meshes)
    mapping = draw(_mapping(prob, names, meshes))
    keep = {name: set(prob.dataspaces) for name in names}
    if opts.bypass:
        for name in names[1:]:
            keep[name] = {ds for ds in prob.dataspaces if draw(st.integers(0, 3)) > 0}
    densities = draw_densities(draw, prob, opts)
    layout = Layout(prob, names, fanouts, mapping["factors"], keep)
    sparse = draw_sparse(draw, layout, densities, opts)
    locals_ = [draw(_storage(name, i == 0, name in sparse.metadata_levels, opts)) for i, name in enumerate(names)]
    for name, level in zip(names, locals_):
        if name in sparse.decompress_levels:
            level["attributes"]["decompression_supported"] = True
    mac = {"name": "MAC", "class": "compute", "subclass": "intmac", "attributes": {"datawidth": 8}}
    mesh_keys = [draw(st.sampled_from(("meshX", "meshY", "both"))) if m[1] > 1 else "meshX" for m in meshes]
    arch, full_names = _architecture(locals_, meshes, mac, mesh_keys)
    problem = dict(prob.doc)
    if densities:
        problem["instance"] = {**problem["instance"], "densities": densities}
    doc: dict[str, Any] = {"architecture": arch, "problem": problem,
                           "mapping": _mapping_doc(names, mapping, keep, prob.dataspaces)}
    if sparse.targets:
        doc["sparse_optimizations"] = {"targets": sparse.targets}
    tags = case_tags(layout, mapping, sparse, densities)
    assume(not (tags & opts.exclude_tags))
    return Case(doc, draw(_ert(full_names)), tags)
