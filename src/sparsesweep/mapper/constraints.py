"""Mapspace constraints: Timeloop's ``architecture_constraints`` / ``mapspace_constraints``.

Accepted input (keys are hyphen/underscore insensitive, as everywhere in Timeloop inputs)::

    architecture_constraints:          # or mapspace_constraints; a bare list works too
      targets:
      - target: SMEM                   # a storage level
        type: temporal                 # temporal | spatial | bypass (datatype) | utilization
                                       # | max_overbooked_proportion | no_link_transfer | no_multicast
        factors: K=1 M<=8 N>=2         # exact, maximum, minimum factor per dimension (0 = whole bound)
        permutation: NKM               # innermost first; a prefix of the loop order ('...' then a suffix)
        split: 1                       # spatial: the first `split` dims of the permutation go to X
        keep: [A]                      # bypass/datatype entries
        bypass: [B, Z]

Semantics follow Timeloop's mapper: unlisted factors are free (an exact factor above the
dimension's bound is ignored, as Timeloop does); a permutation fixes the innermost
non-trivial loops of the level in the given order; timeloop-model's literal check of
permutations and splits (:mod:`.tlcheck`) restricts this further; a level/dataspace pair that is neither kept nor bypassed is searched both ways
(except at the outermost level, which keeps everything).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..tl.common import Path, Reader, normalize
from ..tl.spec import Spec
from ..errors import suggest

SOURCES = ("architecture_constraints", "mapspace_constraints", "mapspace")
TYPES = ("temporal", "spatial", "datatype", "bypass", "bypassing", "utilization", "parallelism",
         "max_overbooked_proportion", "no_link_transfer", "no_multicast", "no_reduction",
         "no_multicast_no_reduction")
ENTRY_KEYS = ("target", "name", "type", "factors", "permutation", "split", "keep", "bypass", "stream",
              "no_link_transfer", "no_multicast", "no_reduction", "no_temporal_reuse", "min", "max",
              "proportion", "attributes", "description")
# Per-dataspace switches copied onto the mapping entries the mapper writes.
PASS_THROUGH = ("no_link_transfer", "no_multicast", "no_temporal_reuse")
_FACTOR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*?)\s*(<=|>=|==|=)?\s*(\d+)\s*(?:,|\s|$)")


@dataclass(frozen=True)
class SlotRule:
    """Factor and order rules of one loop slot (a level's temporal or spatial loops)."""

    exact: Mapping[int, int] = field(default_factory=dict)  # dim -> factor
    maximum: Mapping[int, int] = field(default_factory=dict)
    minimum: Mapping[int, int] = field(default_factory=dict)
    prefix: tuple[int, ...] = ()  # innermost dims in order
    suffix: tuple[int, ...] = ()  # outermost dims in order (after '...')
    split: int | None = None  # spatial only
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # pass-through switches
    where: Mapping[int, Path] = field(default_factory=dict)  # dim -> key path of its factor (for errors)

    def bounds(self, dim: int, bound: int) -> tuple[int, int, int | None]:
        """(min, max, exact) factor of ``dim`` in this slot."""
        return self.minimum.get(dim, 1), self.maximum.get(dim, bound), self.exact.get(dim)


@dataclass(frozen=True)
class LevelRules:
    temporal: SlotRule = field(default_factory=SlotRule)
    spatial: SlotRule = field(default_factory=SlotRule)
    keep: frozenset[str] = frozenset()
    bypass: frozenset[str] = frozenset()
    overbooking: float = 0.0  # max_overbooked_proportion


@dataclass(frozen=True)
class Constraints:
    """Parsed constraints, per storage level (innermost first)."""

    levels: tuple[LevelRules, ...]
    min_utilization: float = 0.0
    warnings: tuple[str, ...] = ()

    def factor_path(self, dim: int) -> Path | None:
        """Where the first factor constraint of ``dim`` was given (for error messages)."""
        for level in self.levels:
            for rule in (level.temporal, level.spatial):
                if dim in rule.where:
                    return rule.where[dim]
        return None

    def keep_choice(self, level: int, ds: str, outermost: bool) -> bool | None:
        """True (keep), False (bypass) or None (search both)."""
        rules = self.levels[level]
        if outermost or ds in rules.keep:
            return True
        if ds in rules.bypass:
            return False
        return None


def parse_constraints(spec: Spec) -> Constraints:
    """Constraints from the bundle's ``architecture_constraints`` and ``mapspace_constraints``."""
    reader = spec.reader
    _refuse_v04(spec)
    parser = _Parser(reader, spec)
    for key in SOURCES:
        if key in spec.bundle.data and spec.bundle.data[key] is not None:
            parser.source(normalize(spec.bundle.data[key]), (key,))
    return parser.finish()


def _refuse_v04(spec: Spec) -> None:
    """Timeloop v0.4 constraints (on architecture nodes, or a top-level ``constraints:``) are not read."""
    found: list[Path] = []

    def walk(node: Any, path: Path) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "constraints" and value:
                    found.append(path + (key,))
                else:
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + (i,))

    walk(spec.bundle.data.get("architecture"), ("architecture",))
    if spec.bundle.data.get("constraints"):
        found.append(("constraints",))
    if found:
        raise spec.reader.error(found[0], "v0.4 constraints are not read by the mapper",
                                "write them as 'architecture_constraints: targets:' entries (Timeloop v0.3 form)")


class _Parser:
    def __init__(self, reader: Reader, spec: Spec) -> None:
        self.reader = reader
        self.spec = spec
        self.names = [s.name for s in spec.arch.storage]
        self.dims = spec.problem.dims
        self.bounds = spec.problem.bounds
        self.dsnames = [d.name for d in spec.problem.dataspaces]
        n = len(self.names)
        self.slots: list[dict[str, dict[str, Any]]] = [{"temporal": _empty(), "spatial": _empty()} for _ in range(n)]
        self.keep: list[dict[str, tuple[bool, Path]]] = [{} for _ in range(n)]
        self.overbooking = [0.0] * n
        self.min_utilization: float | None = None
        self.warnings: list[str] = []

    # -- structure --------------------------------------------------------------------
    def source(self, raw: Any, path: Path) -> None:
        if isinstance(raw, Mapping):
            self.reader.check_keys(raw, path, ("targets", "constraints", "version"))
            key = "targets" if "targets" in raw else "constraints"
            raw, path = raw.get(key), path + (key,)
        for i, entry in enumerate(self.reader.seq(raw, path)):
            self.entry(self.reader.mapping(entry, path + (i,)), path + (i,))

    def entry(self, entry: Mapping[str, Any], path: Path) -> None:
        r = self.reader
        r.check_keys(entry, path, ENTRY_KEYS)
        if "attributes" in entry:  # Timeloop's older nesting
            attrs = r.mapping(entry["attributes"], path + ("attributes",))
            r.check_keys(attrs, path + ("attributes",), ENTRY_KEYS)
            entry = {**{k: v for k, v in entry.items() if k != "attributes"}, **attrs}
        key = "target" if "target" in entry else "name"
        target = r.string(r.require(entry, key, path), path + (key,))
        if target not in self.names:
            if target == self.spec.arch.compute.name:
                raise r.error(path + (key,), f"'{target}' is the compute level", "constrain storage levels only")
            raise r.error(path + (key,), f"unknown level '{target}'", suggest(target, self.names))
        li = self.names.index(target)
        kind = r.choice(r.require(entry, "type", path), path + ("type",), TYPES)
        if kind in ("temporal", "spatial"):
            self.loops(li, kind, entry, path)
        elif kind in ("datatype", "bypass", "bypassing"):
            self.datatype(li, entry, path)
        elif kind in ("utilization", "parallelism"):
            value = r.number(r.require(entry, "min", path), path + ("min",))
            if not 0.0 <= value <= 1.0:
                raise r.error(path + ("min",), f"utilization {value} is outside [0, 1]", "use a fraction in [0, 1]")
            if self.min_utilization is not None:
                raise r.error(path, "minimum utilization given twice", "keep one utilization entry")
            self.min_utilization = value
        elif kind == "max_overbooked_proportion":
            value = r.number(r.require(entry, "proportion", path), path + ("proportion",))
            if not 0.0 <= value < 1.0:
                raise r.error(path + ("proportion",), f"proportion {value} is outside [0, 1)",
                              "use a fraction in [0, 1)")
            self.overbooking[li] = value
        else:  # no_link_transfer / no_multicast ...: per-dataspace switches of the level's spatial loops
            slot = self.slots[li]["spatial"]
            option = "no_link_transfer" if kind == "no_link_transfer" else "no_multicast"
            names = self.ds_list(entry.get("keep", entry.get(option)), path)
            slot["options"][option] = tuple(names)

    def loops(self, li: int, kind: str, entry: Mapping[str, Any], path: Path) -> None:
        r = self.reader
        slot = self.slots[li][kind]
        for key in ("keep", "bypass", "min", "proportion"):
            if key in entry:
                raise r.error(path + (key,), f"'{key}' does not belong in a {kind} entry",
                              "put keep/bypass in a 'type: bypass' entry")
        if "factors" in entry:
            for dim, op, value in self.factors(entry["factors"], path + ("factors",)):
                table = {"=": "exact", "<=": "maximum", ">=": "minimum"}[op]
                if dim in slot[table]:
                    raise r.error(path + ("factors",), f"{table} factor of {self.dims[dim]} at "
                                  f"'{self.names[li]}' ({kind}) given twice", "give each factor once")
                slot[table][dim] = value
                slot["where"][dim] = path + ("factors",)
        if "permutation" in entry:
            if slot["prefix"] or slot["suffix"]:
                raise r.error(path + ("permutation",), f"second {kind} permutation for '{self.names[li]}'",
                              "give one permutation per level and loop type")
            slot["prefix"], slot["suffix"] = self.permutation(entry["permutation"], path + ("permutation",))
        if "split" in entry:
            if kind != "spatial":
                raise r.error(path + ("split",), "'split' applies to spatial entries only", "remove it")
            if slot["split"] is not None:
                raise r.error(path + ("split",), f"second split for '{self.names[li]}'", "give one split")
            slot["split"] = r.integer(entry["split"], path + ("split",), 0)
        for option in PASS_THROUGH + ("no_reduction",):
            if option in entry:
                slot["options"][option] = tuple(self.ds_list(entry[option], path + (option,)))

    def datatype(self, li: int, entry: Mapping[str, Any], path: Path) -> None:
        for key, keep in (("keep", True), ("bypass", False)):
            for j, ds in enumerate(self.ds_list(entry.get(key), path + (key,))):
                prior = self.keep[li].get(ds)
                if prior is not None and prior[0] != keep:
                    raise self.reader.error(path + (key, j), f"'{ds}' is both kept and bypassed at "
                                            f"'{self.names[li]}'", "list it under keep or bypass, not both")
                self.keep[li][ds] = (keep, path + (key, j))
        outer = len(self.names) - 1
        for ds, (keep, where) in self.keep[outer].items():
            if not keep:
                raise self.reader.error(where, f"the outermost level '{self.names[outer]}' cannot bypass '{ds}'",
                                        f"keep '{ds}' at '{self.names[outer]}'")

    # -- values -----------------------------------------------------------------------
    def ds_list(self, raw: Any, path: Path) -> list[str]:
        names = self.reader.str_list(raw, path)
        for j, ds in enumerate(names):
            if ds not in self.dsnames:
                raise self.reader.error(path + (j,), f"unknown dataspace '{ds}'", suggest(ds, self.dsnames))
        return names

    def dim(self, name: str, path: Path) -> int:
        if name not in self.dims:
            raise self.reader.error(path, f"unknown dimension '{name}'", suggest(name, self.dims))
        return self.dims.index(name)

    def factors(self, raw: Any, path: Path) -> list[tuple[int, str, int]]:
        r = self.reader
        if isinstance(raw, list):
            text = " ".join(str(x) for x in raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise r.error(path, f"cannot read factors {raw!r}", "write e.g. 'K=1 M<=8 N>=2'")
        out, pos = [], 0
        while pos < len(text.rstrip()):
            match = _FACTOR.match(text, pos)
            if not match or match.end() == pos:
                bad = text[pos:].split()[0] if text[pos:].split() else text[pos:]
                raise r.error(path, f"cannot read factor '{bad}'", "write factors as DIM=N, DIM<=N or DIM>=N")
            pos = match.end()
            name, op, value = match[1], {"==": "=", None: "="}.get(match[2], match[2]), int(match[3])
            d = self.dim(name, path)
            bound = self.bounds[d]
            if op == "=" and value == 0:
                value = bound  # Timeloop: 0 means the whole dimension
            if value < 1:
                raise r.error(path, f"factor {name}{op}{value} must be at least 1", "use a positive factor")
            if value > bound and op == "=":  # as Timeloop: an exact factor above the bound is ignored
                self.warnings.append(f"{'.'.join(map(str, path))}: {name}={value} exceeds the bound "
                                     f"{bound}; ignored")
                continue
            if value > bound and op == "<=":
                value = bound
            out.append((d, op, value))
        return out

    def permutation(self, raw: Any, path: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if isinstance(raw, list):
            text = " ".join(str(x) for x in raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise self.reader.error(path, f"cannot read permutation {raw!r}", "write e.g. 'NKM' (innermost first)")
        head, _, tail = text.partition("...")
        parts = (self._dims_of(head, path), self._dims_of(tail, path))
        seen = parts[0] + parts[1]
        for d in seen:
            if seen.count(d) > 1:
                raise self.reader.error(path, f"dimension '{self.dims[d]}' appears twice in the permutation",
                                        "list it once")
        return parts

    def _dims_of(self, text: str, path: Path) -> tuple[int, ...]:
        text = text.replace(",", " ").strip()
        if not text:
            return ()
        if " " in text or not all(len(d) == 1 for d in self.dims):
            names = text.split() if " " in text else _greedy(text, self.dims)
        else:
            names = list(text)
        return tuple(self.dim(name, path) for name in names)

    # -- result -----------------------------------------------------------------------
    def finish(self) -> Constraints:
        levels = []
        for li in range(len(self.names)):
            rules = {kind: self._slot(li, kind) for kind in ("temporal", "spatial")}
            keep = frozenset(d for d, (k, _) in self.keep[li].items() if k)
            bypass = frozenset(d for d, (k, _) in self.keep[li].items() if not k)
            levels.append(LevelRules(temporal=rules["temporal"], spatial=rules["spatial"], keep=keep,
                                     bypass=bypass, overbooking=self.overbooking[li]))
        return Constraints(levels=tuple(levels), min_utilization=self.min_utilization or 0.0,
                           warnings=tuple(self.warnings))

    def _slot(self, li: int, kind: str) -> SlotRule:
        raw = self.slots[li][kind]
        for d, value in raw["exact"].items():
            low, high = raw["minimum"].get(d, 1), raw["maximum"].get(d, value)
            if not low <= value <= high:
                raise self.reader.error(raw["where"][d], f"{self.dims[d]}={value} contradicts its own "
                                        f"limits at '{self.names[li]}' ({kind})", "drop one of the two factors")
        for d in raw["minimum"]:
            if raw["minimum"][d] > raw["maximum"].get(d, self.bounds[d]):
                raise self.reader.error(raw["where"][d], f"no {self.dims[d]} factor satisfies "
                                        f"{self.dims[d]}>={raw['minimum'][d]} at '{self.names[li]}' ({kind})",
                                        "relax the minimum or the maximum")
        return SlotRule(exact=dict(raw["exact"]), maximum=dict(raw["maximum"]), minimum=dict(raw["minimum"]),
                        prefix=raw["prefix"], suffix=raw["suffix"], split=raw["split"],
                        options=dict(raw["options"]), where=dict(raw["where"]))


def _empty() -> dict[str, Any]:
    return {"exact": {}, "maximum": {}, "minimum": {}, "where": {}, "prefix": (), "suffix": (), "split": None,
            "options": {}}


def _greedy(text: str, dims: tuple[str, ...]) -> list[str]:
    out, rest = [], text
    ordered = sorted(dims, key=len, reverse=True)
    while rest:
        match = next((d for d in ordered if rest.startswith(d)), None)
        if match is None:
            return [rest]  # reported as an unknown dimension
        out.append(match)
        rest = rest[len(match):]
    return out

