"""Reduce a given input while a property holds (greedy delta debugging on the YAML document).

:func:`shrink` (``shrink.py``) searches the generator for the smallest input with a property; that
needs the property to be common.  :func:`reduce_input` starts from one input that has it (e.g. a
rare Timeloop crash seen in a campaign) and keeps applying the first simplification that keeps the
property, until none does: drop sparse optimizations (targets, SAFs, leaders, formats, ranks, word
bits), densities, bypass entries, splits, bandwidth attributes, strides and dilations, move spatial
factors to the temporal loop of their level and divide the problem's dimensions by their prime
factors (dividing one mapping factor to match).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from .gen import prime_factors

Doc = dict[str, Any]


def _primes(n: int) -> list[int]:
    """The distinct prime factors of ``n``, largest first."""
    return sorted(set(prime_factors(n)), reverse=True)


def _factors(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in text.split())}


def _text(factors: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in factors.items())


def _drop_list_items(doc: Doc, get: Callable[[Doc], list[Any] | None], min_len: int = 0) -> Iterator[Doc]:
    items = get(doc)
    if not items or len(items) <= min_len:
        return
    for k in range(len(items)):
        new = copy.deepcopy(doc)
        del get(new)[k]  # type: ignore[index]
        yield new


def _sparse_candidates(doc: Doc) -> Iterator[Doc]:
    if "sparse_optimizations" not in doc:
        return
    new = copy.deepcopy(doc)
    del new["sparse_optimizations"]
    yield new
    targets = doc["sparse_optimizations"]["targets"]
    yield from _drop_list_items(doc, lambda d: d["sparse_optimizations"]["targets"])
    for t, target in enumerate(targets):
        def tgt(d: Doc, t: int = t) -> Doc:
            return d["sparse_optimizations"]["targets"][t]
        for key in ("action-optimization", "representation-format", "compute-optimization"):
            if key in target and len(target) > 2:
                new = copy.deepcopy(doc)
                del tgt(new)[key]
                yield new
        for s, _ in enumerate(target.get("action-optimization", [])):
            yield from _drop_list_items(doc, lambda d, s=s: tgt(d)["action-optimization"][s]["condition-on"], 1)
        yield from _drop_list_items(doc, lambda d: tgt(d).get("action-optimization"), 1)
        spaces = target.get("representation-format", {}).get("data-spaces", [])
        if spaces:
            yield from _drop_list_items(doc, lambda d: tgt(d)["representation-format"]["data-spaces"], 1)
        for e, entry in enumerate(spaces):
            yield from _drop_list_items(doc, lambda d, e=e: tgt(d)["representation-format"]["data-spaces"][e]["ranks"],
                                        1)
            for r, rank in enumerate(entry["ranks"]):
                for key in ("metadata-word-bits", "payload-word-bits"):
                    if key in rank:
                        new = copy.deepcopy(doc)
                        del tgt(new)["representation-format"]["data-spaces"][e]["ranks"][r][key]
                        yield new
                if rank["format"] != "UOP":
                    new = copy.deepcopy(doc)
                    tgt(new)["representation-format"]["data-spaces"][e]["ranks"][r] = {"format": "UOP"}
                    yield new


def _problem_candidates(doc: Doc) -> Iterator[Doc]:
    inst = doc["problem"]["instance"]
    if "densities" in inst:
        new = copy.deepcopy(doc)
        del new["problem"]["instance"]["densities"]
        yield new
        if len(inst["densities"]) > 1:
            for ds in inst["densities"]:
                new = copy.deepcopy(doc)
                del new["problem"]["instance"]["densities"][ds]
                yield new
    for key in ("Wstride", "Hstride", "Wdilation", "Hdilation"):
        if inst.get(key, 1) != 1:
            new = copy.deepcopy(doc)
            new["problem"]["instance"][key] = 1
            yield new
    for dim in doc["problem"]["shape"]["dimensions"]:
        size = inst.get(dim, 1)
        for p in _primes(size):
            for m, entry in enumerate(doc["mapping"]):
                if "factors" not in entry or _factors(entry["factors"]).get(dim, 1) % p:
                    continue
                new = copy.deepcopy(doc)
                new["problem"]["instance"][dim] = size // p
                fac = _factors(entry["factors"])
                fac[dim] //= p
                new["mapping"][m]["factors"] = _text(fac)
                yield new


def _mapping_candidates(doc: Doc) -> Iterator[Doc]:
    mapping = doc["mapping"]
    for m, entry in enumerate(mapping):
        if entry.get("type") == "datatype":
            new = copy.deepcopy(doc)
            del new["mapping"][m]
            yield new
        if entry.get("type") != "spatial":
            continue
        if "split" in entry:
            new = copy.deepcopy(doc)
            del new["mapping"][m]["split"]
            yield new
        temporal = next((k for k, e in enumerate(mapping) if e.get("type") == "temporal"
                         and e["target"] == entry["target"]), None)
        if temporal is None:
            continue
        for dim, f in _factors(entry["factors"]).items():
            if f == 1:
                continue
            new = copy.deepcopy(doc)
            sp, tp = _factors(entry["factors"]), _factors(mapping[temporal]["factors"])
            sp[dim], tp[dim] = 1, tp[dim] * f
            new["mapping"][m]["factors"], new["mapping"][temporal]["factors"] = _text(sp), _text(tp)
            yield new


def _components(node: Doc) -> Iterator[Doc]:
    for comp in node.get("local", []):
        yield comp
    for sub in node.get("subtree", []):
        yield from _components(sub)


def _arch_candidates(doc: Doc) -> Iterator[Doc]:
    comps = list(_components(doc["architecture"]["subtree"][0]))
    for c, comp in enumerate(comps):
        for key in ("read_bandwidth", "write_bandwidth"):
            if key in comp.get("attributes", {}):
                new = copy.deepcopy(doc)
                del list(_components(new["architecture"]["subtree"][0]))[c]["attributes"][key]
                yield new


def candidates(doc: Doc) -> Iterator[Doc]:
    """Simpler variants of ``doc``, roughly the biggest simplifications first."""
    yield from _sparse_candidates(doc)
    yield from _problem_candidates(doc)
    yield from _mapping_candidates(doc)
    yield from _arch_candidates(doc)


def reduce_input(doc: Doc, keep: Callable[[Doc], bool], max_tries: int = 3000) -> Doc:
    """The input ``doc`` reduced greedily while ``keep(candidate)`` holds (``keep(doc)`` must)."""
    tries = 0
    progress = True
    while progress and tries < max_tries:
        progress = False
        for cand in candidates(doc):
            tries += 1
            if keep(cand):
                doc, progress = cand, True
                break
            if tries >= max_tries:
                break
    return doc
