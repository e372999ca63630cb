"""Sparse optimizations: representation formats, storage SAFs and compute optimizations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import suggest
from .arch import Architecture
from .common import Path, Reader
from .problem import Problem

FORMATS = ("uop", "cp", "b", "rle", "ub")
COMPRESSED = ("cp", "b", "rle")  # ranks that drop empty coordinates (UOP and UB keep every position)
SAF_KINDS = ("gating", "skipping", "skipping_spatial", "spatial_skipping", "position_skipping")
COMPUTE_KINDS = {"gating": "gating", "gate_on_zero_operand": "gating", "skipping": "skipping",
                 "skip_on_not_aligned_operands": "skipping"}


@dataclass(frozen=True)
class Rank:
    """One rank of a fibertree representation format (listed outermost first in YAML)."""

    format: str  # uop | cp | b | rle | ub
    metadata_bits: int | None = None  # bits per metadata unit (None: from the level)
    payload_bits: int | None = None  # bits per payload unit (None: from the level)
    flattened: tuple[str, ...] | None = None  # problem dimensions this rank covers
    payload_key_hyphenated: bool = False  # payload bits given as v0.3 ``payload-word-bits``

    @property
    def compressed(self) -> bool:
        return self.format in COMPRESSED


@dataclass(frozen=True)
class Representation:
    dataspace: str
    ranks: tuple[Rank, ...]  # outermost first, as written
    inner_to_outer: bool = False

    @property
    def compressed(self) -> bool:
        """Some rank drops empty coordinates (Timeloop's "tensor compressed")."""
        return any(r.compressed for r in self.ranks)

    @property
    def has_metadata(self) -> bool:
        """The tensor has a format at all: only its nonzeros are stored and moved (UB and UOP too)."""
        return bool(self.ranks)


@dataclass(frozen=True)
class Saf:
    """A storage action optimization; ``options`` are alternatives (target, leaders)."""

    kind: str  # gating | skipping | skipping_spatial | position_skipping
    options: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class LevelSparse:
    formats: Mapping[str, Representation] = field(default_factory=dict)
    safs: tuple[Saf, ...] = ()


@dataclass(frozen=True)
class SparseOpts:
    levels: Mapping[str, LevelSparse] = field(default_factory=dict)
    compute: frozenset[str] = frozenset()  # gating / skipping at the compute level
    warnings: tuple[str, ...] = ()  # what Timeloop would warn about (one line each)

    def at(self, level: str) -> LevelSparse:
        return self.levels.get(level, LevelSparse())

    @property
    def empty(self) -> bool:
        return not self.levels and not self.compute


def parse_sparse(reader: Reader, raw: Any, arch: Architecture, problem: Problem) -> SparseOpts:
    path: Path = ("sparse_optimizations",)
    doc = reader.mapping(raw, path)
    reader.check_keys(doc, path, {"targets", "version"})
    names = [s.name for s in arch.storage]
    dsnames = [d.name for d in problem.dataspaces]
    levels: dict[str, LevelSparse] = {}
    compute: set[str] = set()
    for i, target in enumerate(reader.seq(doc.get("targets"), path + ("targets",))):
        tpath = path + ("targets", i)
        target = reader.mapping(target, tpath)
        reader.check_keys(target, tpath, {"name", "target", "representation_format", "action_optimization",
                                          "compute_optimization"})
        key = "name" if "name" in target else "target"
        name = reader.string(reader.require(target, key, tpath), tpath + (key,))
        if name == arch.compute.name:
            for bad in ("representation_format", "action_optimization"):
                if bad in target:
                    raise reader.error(tpath + (bad,), f"'{bad}' on the compute level '{name}'",
                                       "put formats and SAFs on storage levels; use compute_optimization here")
            compute |= _compute_opts(reader, target.get("compute_optimization"), tpath + ("compute_optimization",))
            continue
        if name not in names:
            raise reader.error(tpath + (key,), f"unknown level '{name}'", suggest(name, names + [arch.compute.name]))
        if "compute_optimization" in target:
            raise reader.error(tpath + ("compute_optimization",), f"compute_optimization on storage level '{name}'",
                               f"move it to a target named '{arch.compute.name}'")
        if name in levels:
            raise reader.error(tpath, f"second target for level '{name}'", "merge the two targets")
        formats = _formats(reader, target.get("representation_format"), tpath + ("representation_format",),
                           dsnames)
        safs = _safs(reader, target.get("action_optimization"), tpath + ("action_optimization",), dsnames)
        levels[name] = LevelSparse(formats=formats, safs=safs)
    levels, warnings = _master_payload_keys(levels)
    widths = {s.name: s.md_storage_width for s in arch.storage}
    warnings += tuple(_bumped_word_bits(name, lvl, widths[name]) for name, lvl in levels.items())
    return SparseOpts(levels=levels, compute=frozenset(compute), warnings=tuple(w for w in warnings if w))


def _bumped_word_bits(level: str, lvl: LevelSparse, width: int) -> str:
    """Timeloop's warning for word bits that do not divide the metadata storage width (the engine
    bumps them to the next divisor, as Timeloop does); empty when none is bumped."""
    out = []
    for ds, rep in lvl.formats.items():
        for rank in rep.ranks:
            if rank.format == "ub":  # UB reads no word bits of its own
                continue
            for bits in (rank.metadata_bits, rank.payload_bits):
                if bits and width and width % bits:
                    new = next((b for b in range(bits, 2 * bits) if width % b == 0), 2 * bits)
                    out.append(f"'{ds}' at '{level}': word bits adjusted from {bits} to {new} to divide the "
                               f"{width}-bit metadata storage width")
    return "; ".join(out)


def _master_payload_keys(levels: dict[str, LevelSparse]) -> tuple[dict[str, LevelSparse], tuple[str, ...]]:
    """Drop payload word bits spelled ``payload-word-bits``, as Timeloop master does.

    Master rewrites v0.3 hyphenated keys to underscores one keyword at a time, and it
    rewrites ``word-bits`` before ``payload-word-bits``: the key becomes
    ``payload-word_bits``, which no format reads, so the level's ``metadata_datawidth``
    applies.  The 2022 Sparseloop build (position-skipping inputs) read the hyphenated key
    itself, so there it is kept.
    """
    if any(saf.kind == "position_skipping" for lvl in levels.values() for saf in lvl.safs):
        return levels, ()
    warnings: list[str] = []
    out: dict[str, LevelSparse] = {}
    for name, lvl in levels.items():
        formats = dict(lvl.formats)
        for ds, rep in lvl.formats.items():
            if not any(r.payload_key_hyphenated for r in rep.ranks):
                continue
            ranks = tuple(replace(r, payload_bits=None, payload_key_hyphenated=False)
                          if r.payload_key_hyphenated else r for r in rep.ranks)
            formats[ds] = replace(rep, ranks=ranks)
            warnings.append(f"'{ds}' at '{name}': 'payload-word-bits' is ignored (Timeloop master reads it as "
                            f"'payload-word_bits'); its payload words take the level's metadata_datawidth "
                            f"(write 'payload_word_bits' to set them)")
        out[name] = replace(lvl, formats=formats)
    return out, tuple(warnings)


def _formats(reader: Reader, raw: Any, path: Path, dsnames: list[str]) -> dict[str, Representation]:
    if raw is None:
        return {}
    doc = reader.mapping(raw, path)
    reader.check_keys(doc, path, {"data_spaces"})
    out: dict[str, Representation] = {}
    for i, ds in enumerate(reader.seq(doc.get("data_spaces"), path + ("data_spaces",))):
        dpath = path + ("data_spaces", i)
        ds = reader.mapping(ds, dpath)
        reader.check_keys(ds, dpath, {"name", "ranks", "rank_application_order", "compression_rate"})
        name = reader.string(reader.require(ds, "name", dpath), dpath + ("name",))
        if name not in dsnames:
            raise reader.error(dpath + ("name",), f"unknown dataspace '{name}'", suggest(name, dsnames))
        order = reader.choice(ds.get("rank_application_order", "outer_to_inner"),
                              dpath + ("rank_application_order",), ("outer_to_inner", "inner_to_outer"))
        ranks = []
        for j, rank in enumerate(reader.seq(reader.require(ds, "ranks", dpath), dpath + ("ranks",))):
            rpath = dpath + ("ranks", j)
            rank = reader.mapping(rank, rpath)
            reader.check_keys(rank, rpath, {"format", "metadata_word_bits", "payload_word_bits",
                                            "flattened_rankIDs", "flattened_rankids"})
            fmt = reader.choice(reader.require(rank, "format", rpath), rpath + ("format",), FORMATS)
            md = rank.get("metadata_word_bits")
            pl = rank.get("payload_word_bits")
            hyphenated = pl is not None and reader.original_key(rpath + ("payload_word_bits",)) == "payload-word-bits"
            flat_key = "flattened_rankIDs" if "flattened_rankIDs" in rank else "flattened_rankids"
            flat = None
            if flat_key in rank:
                groups = reader.seq(rank[flat_key], rpath + (flat_key,))
                flat = tuple(str(d) for g in groups for d in (g if isinstance(g, list) else [g]))
            ranks.append(Rank(format=fmt,
                              metadata_bits=None if md is None else reader.integer(md, rpath + ("metadata_word_bits",), 0),
                              payload_bits=None if pl is None else reader.integer(pl, rpath + ("payload_word_bits",), 0),
                              flattened=flat, payload_key_hyphenated=hyphenated))
        for j in range(len(ranks) - 1):  # ranks are outermost first
            if ranks[j].compressed and not ranks[j + 1].compressed:
                raise reader.error(dpath + ("ranks", j), f"compressed rank {ranks[j].format.upper()} above the "
                                   f"uncompressed rank {ranks[j + 1].format.upper()}",
                                   "an upper rank can only be compressed if every lower rank is")
        out[name] = Representation(dataspace=name, ranks=tuple(ranks), inner_to_outer=order == "inner_to_outer")
    return out


def _safs(reader: Reader, raw: Any, path: Path, dsnames: list[str]) -> tuple[Saf, ...]:
    out = []
    for i, saf in enumerate(reader.seq(raw, path)):
        spath = path + (i,)
        saf = reader.mapping(saf, spath)
        reader.check_keys(saf, spath, {"type", "target", "condition_on", "options"})
        kind = reader.choice(reader.require(saf, "type", spath), spath + ("type",), SAF_KINDS)
        kind = "skipping_spatial" if kind == "spatial_skipping" else kind
        raw_options = reader.seq(saf["options"], spath + ("options",)) if "options" in saf else [saf]
        if not raw_options:
            raise reader.error(spath + ("options",), "empty list of SAF options",
                               "give at least one {target, condition_on} option, or remove the SAF")
        options = []
        for j, opt in enumerate(raw_options):
            opath = spath + ("options", j) if "options" in saf else spath
            opt = reader.mapping(opt, opath)
            target = reader.string(reader.require(opt, "target", opath), opath + ("target",))
            if target not in dsnames:
                raise reader.error(opath + ("target",), f"unknown dataspace '{target}'", suggest(target, dsnames))
            if "condition_on" not in opt:
                raise reader.error(opath, "missing required key 'condition_on'", "add 'condition_on: [...]' ([] allowed)")
            leaders = reader.str_list(opt["condition_on"], opath + ("condition_on",))
            for k, leader in enumerate(leaders):
                if leader not in dsnames:
                    raise reader.error(opath + ("condition_on", k), f"unknown dataspace '{leader}'",
                                       suggest(leader, dsnames))
            options.append((target, tuple(leaders)))
        out.append(Saf(kind=kind, options=tuple(options)))
    return tuple(out)


def _compute_opts(reader: Reader, raw: Any, path: Path) -> set[str]:
    out = set()
    for i, opt in enumerate(reader.seq(raw, path)):
        opath = path + (i,)
        opt = reader.mapping(opt, opath)
        reader.check_keys(opt, opath, {"type"})
        kind = reader.choice(reader.require(opt, "type", opath), opath + ("type",), tuple(COMPUTE_KINDS))
        out.add(COMPUTE_KINDS[kind])
    return out
