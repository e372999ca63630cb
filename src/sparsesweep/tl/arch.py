"""Architecture: Timeloop v0.3 / v0.4 tree -> a linear list of levels.

Flattening follows Timeloop: depth-first, the outermost ``local`` component is the
outermost level; the compute component is level 0; storage levels are numbered from the
inside out.  ``name[0..N]`` multiplies instances, attributes are inherited down the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .common import Path, Reader, split_name

BUFFER_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage")
COMPUTE_CLASSES = ("mac", "intmac", "fpmac", "compute")
NETWORK_CLASSES = ("XY_NoC", "Legacy", "ReductionTree", "SimpleMulticast")
DEFAULT_WORD_BITS = 16

NODE_KEYS_V03 = {"name", "attributes", "local", "subtree", "description"}
COMPONENT_KEYS = {"name", "class", "subclass", "attributes", "description", "required_actions", "area_share",
                  "enabled", "constraints", "sparse_optimizations", "spatial", "!"}
CONTAINER_KEYS_V04 = {"name", "attributes", "spatial", "description", "constraints", "sparse_optimizations",
                      "nodes", "!"}


@dataclass(frozen=True)
class StorageLevel:
    """One storage level (per-instance figures)."""

    name: str
    cls: str
    instances: int
    mesh_x: int
    mesh_y: int
    word_bits: int  # bits per data word
    block_size: int  # words per vector access
    cluster_size: int
    size: int | None  # capacity in words (None: unbounded)
    read_bw: float | None  # words/cycle
    write_bw: float | None
    shared_bw: float | None
    md_word_bits: int  # metadata_datawidth (bits); 0 = take it from the format
    md_storage_width: int  # bits per metadata vector access; 0 = no metadata storage
    md_storage_depth: int | None
    md_block_size: int
    is_dram: bool
    attributes: Mapping[str, Any] = field(default_factory=dict)
    decompression_supported: bool = False  # may receive compressed data from its parent and expand it
    compression_supported: bool = False  # may compress read-write data it sends to its parent

    @property
    def md_capacity_bits(self) -> int | None:
        if self.md_storage_depth is None:
            return None
        return self.md_storage_depth * self.md_storage_width


@dataclass(frozen=True)
class ComputeLevel:
    """The arithmetic level."""

    name: str
    cls: str
    instances: int
    mesh_x: int
    mesh_y: int
    word_bits: int
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Architecture:
    """Storage levels innermost first, and the compute level below them."""

    storage: tuple[StorageLevel, ...]
    compute: ComputeLevel

    def names(self) -> list[str]:
        """All level names, compute first (Timeloop's level order)."""
        return [self.compute.name] + [s.name for s in self.storage]

    def index(self, name: str) -> int | None:
        """Storage index of ``name`` (0 = innermost storage), or None."""
        for i, level in enumerate(self.storage):
            if level.name == name:
                return i
        return None

    def child_mesh(self, i: int) -> tuple[int, int, int]:
        """(instances, meshX, meshY) of the level below storage level ``i``."""
        if i == 0:
            c = self.compute
            return c.instances, c.mesh_x, c.mesh_y
        s = self.storage[i - 1]
        return s.instances, s.mesh_x, s.mesh_y

    def fanout(self, i: int) -> tuple[int, int]:
        """(fanoutX, fanoutY) from storage level ``i`` to the level below it."""
        _, cx, cy = self.child_mesh(i)
        level = self.storage[i]
        return max(cx // level.mesh_x, 1), max(cy // level.mesh_y, 1)


@dataclass(frozen=True)
class _RawLevel:
    name: str
    cls: str
    subclass: str
    instances: int
    attributes: dict[str, Any]
    path: Path


def parse_architecture(reader: Reader, raw: Mapping[str, Any]) -> Architecture:
    """Parse the normalised ``architecture`` document."""
    path: Path = ("architecture",)
    arch = reader.mapping(raw, path)
    if "subtree" in arch:
        reader.check_keys(arch, path, {"version", "subtree", "local", "name", "attributes"})
        levels: list[_RawLevel] = []
        _walk_v03(reader, arch, path, 1, {}, levels, top=True)
    elif "nodes" in arch:
        reader.check_keys(arch, path, {"version", "nodes", "name", "attributes"})
        levels = _walk_v04(reader, arch["nodes"], path + ("nodes",))
    else:
        raise reader.error(path, "architecture has neither 'subtree' (v0.3) nor 'nodes' (v0.4)",
                           "use the Timeloop v0.3 tree format (subtree/local) or v0.4 nodes")
    return _build(reader, levels)


def _walk_v03(reader: Reader, node: Mapping[str, Any], path: Path, instances: int,
              inherited: dict[str, Any], out: list[_RawLevel], top: bool = False) -> None:
    if not top:
        reader.check_keys(node, path, NODE_KEYS_V03)
        _, count = split_name(reader.string(reader.require(node, "name", path), path + ("name",)))
        instances *= count
    attrs = {**inherited, **reader.mapping(node.get("attributes"), path + ("attributes",))}
    for i, comp in enumerate(reader.seq(node.get("local"), path + ("local",))):
        cpath = path + ("local", i)
        comp = reader.mapping(comp, cpath)
        reader.check_keys(comp, cpath, COMPONENT_KEYS)
        out.append(_component(reader, comp, cpath, instances, attrs))
    subtrees = reader.seq(node.get("subtree"), path + ("subtree",))
    if len(subtrees) > 1:
        raise reader.error(path + ("subtree", 1), "more than one subtree at one level (a branching architecture)",
                           "keep a single chain of subtrees; sparsesweep models linear hierarchies")
    for i, sub in enumerate(subtrees):
        _walk_v03(reader, reader.mapping(sub, path + ("subtree", i)), path + ("subtree", i), instances, attrs, out)


def _walk_v04(reader: Reader, nodes: Any, path: Path) -> list[_RawLevel]:
    out: list[_RawLevel] = []
    instances, mesh_attrs, attrs = 1, {}, {}
    flat: list[tuple[Mapping[str, Any], Path]] = []

    def flatten(items: Any, p: Path) -> None:
        for i, node in enumerate(reader.seq(items, p)):
            node = reader.mapping(node, p + (i,))
            if node.get("!") == "Hierarchical" or ("nodes" in node and "class" not in node):
                flatten(node.get("nodes"), p + (i, "nodes"))
            else:
                flat.append((node, p + (i,)))

    flatten(nodes, path)
    for node, npath in flat:
        tag = node.get("!", "Component" if "class" in node else "Container")
        spatial = reader.mapping(node.get("spatial"), npath + ("spatial",))
        mx = reader.integer(spatial.get("meshX", 1), npath + ("spatial", "meshX"), 1)
        my = reader.integer(spatial.get("meshY", 1), npath + ("spatial", "meshY"), 1)
        if tag in ("Container", "Nothing"):
            reader.check_keys(node, npath, CONTAINER_KEYS_V04)
            instances *= mx * my
            mesh_attrs = {"meshX": mesh_attrs.get("meshX", 1) * mx, "meshY": mesh_attrs.get("meshY", 1) * my}
            attrs = {**attrs, **reader.mapping(node.get("attributes"), npath + ("attributes",))}
            continue
        reader.check_keys(node, npath, COMPONENT_KEYS)
        comp_instances = instances * mx * my
        comp_mesh = {"meshX": mesh_attrs.get("meshX", 1) * mx, "meshY": mesh_attrs.get("meshY", 1) * my}
        merged = {**attrs, **comp_mesh}
        out.append(_component(reader, node, npath, comp_instances, merged))
    return out


def _component(reader: Reader, comp: Mapping[str, Any], path: Path, instances: int,
               inherited: Mapping[str, Any]) -> _RawLevel:
    name, count = split_name(reader.string(reader.require(comp, "name", path), path + ("name",)))
    cls = reader.string(reader.require(comp, "class", path), path + ("class",))
    subclass = str(comp.get("subclass") or "")
    own = reader.mapping(comp.get("attributes"), path + ("attributes",))
    attrs = {**{k: v for k, v in inherited.items() if k not in ("meshX", "meshY")}, **own}
    if "meshX" not in own and "meshY" not in own:
        for key in ("meshX", "meshY"):
            if key in inherited:
                attrs[key] = inherited[key]
    return _RawLevel(name=name, cls=cls, subclass=subclass, instances=instances * count, attributes=attrs,
                     path=path)


def _kind(cls: str) -> str:
    if any(s in cls for s in BUFFER_CLASSES):
        return "storage"
    if any(s in cls for s in COMPUTE_CLASSES):
        return "compute"
    if any(s in cls for s in NETWORK_CLASSES):
        return "network"
    return "unknown"


def _build(reader: Reader, raw: list[_RawLevel]) -> Architecture:
    storage: list[StorageLevel] = []
    compute: ComputeLevel | None = None
    names: set[str] = set()
    for lvl in raw:
        kind = _kind(lvl.cls)
        if kind == "network":
            raise reader.error(lvl.path + ("class",), f"explicit network component '{lvl.name}' is not supported",
                               "remove it; networks are inferred between levels")
        if kind == "unknown":
            raise reader.error(lvl.path + ("class",), f"class '{lvl.cls}' is neither storage nor compute",
                               "use a storage class (DRAM, SRAM, regfile, smartbuffer, storage) or 'compute'")
        if lvl.name in names:
            raise reader.error(lvl.path + ("name",), f"duplicate level name '{lvl.name}'", "give each level its own name")
        names.add(lvl.name)
        if compute is not None:
            raise reader.error(lvl.path, f"level '{lvl.name}' is below the compute level '{compute.name}'",
                               "the compute component must be the innermost one")
        if kind == "compute":
            compute = _compute(reader, lvl)
        else:
            storage.append(_storage(reader, lvl))
    if compute is None:
        raise reader.error(("architecture",), "no compute level", "add a component of class 'compute' innermost")
    if not storage:
        raise reader.error(("architecture",), "no storage level", "add at least one storage component (e.g. DRAM)")
    storage.reverse()
    arch = Architecture(storage=tuple(storage), compute=compute)
    _check_fanouts(reader, arch, raw)
    return arch


def _mesh(reader: Reader, lvl: _RawLevel) -> tuple[int, int]:
    a = lvl.attributes
    p = lvl.path + ("attributes",)
    mx = reader.integer(a["meshX"], p + ("meshX",), 1) if "meshX" in a else None
    my = reader.integer(a["meshY"], p + ("meshY",), 1) if "meshY" in a else None
    n = lvl.instances
    if mx is None and my is None:
        mx, my = n, 1
    elif my is None:
        my = n // mx if n % mx == 0 else 0
    elif mx is None:
        mx = n // my if n % my == 0 else 0
    if mx * my != n:
        raise reader.error(p, f"meshX x meshY ({mx} x {my}) does not equal the {n} instances of '{lvl.name}'",
                           "make meshX*meshY equal the instance count")
    return mx, my


def _first(attrs: Mapping[str, Any], *keys: str) -> tuple[str | None, Any]:
    for key in keys:
        if key in attrs and attrs[key] is not None:
            return key, attrs[key]
    return None, None


def _compute(reader: Reader, lvl: _RawLevel) -> ComputeLevel:
    mx, my = _mesh(reader, lvl)
    p = lvl.path + ("attributes",)
    key, bits = _first(lvl.attributes, "word_bits", "word_width", "datawidth")
    word_bits = reader.integer(bits, p + (key,), 1) if key else DEFAULT_WORD_BITS
    return ComputeLevel(name=lvl.name, cls=lvl.cls, instances=lvl.instances, mesh_x=mx, mesh_y=my,
                        word_bits=word_bits, attributes=lvl.attributes)


def _storage(reader: Reader, lvl: _RawLevel) -> StorageLevel:
    a = lvl.attributes
    p = lvl.path + ("attributes",)

    def opt_int(*keys: str, minimum: int = 0) -> int | None:
        key, value = _first(a, *keys)
        return None if key is None else reader.integer(value, p + (key,), minimum)

    def opt_num(*keys: str) -> float | None:  # sizes, buffering and bandwidths: finite and > 0
        key, value = _first(a, *keys)
        return None if key is None else reader.number(value, p + (key,), positive=True)

    mx, my = _mesh(reader, lvl)
    word_bits = opt_int("word_bits", "word_width", "datawidth", minimum=1) or DEFAULT_WORD_BITS
    width_key, _ = _first(a, "width", "memory_width", "data_storage_width")
    width = opt_int("width", "memory_width", "data_storage_width")
    block = opt_int("block_size", "n_words", minimum=1)
    cluster = opt_int("cluster_size", minimum=1)
    if width == 0:  # Timeloop aborts on it (a level of zero area)
        raise reader.error(p + (width_key,), f"'{lvl.name}' has {width_key} 0: a storage level is at least one word "
                           "wide (Timeloop aborts on it)", f"give the row width in bits (a multiple of {word_bits}), "
                           f"or omit {width_key}")
    if width is not None and width > 0:
        if block is not None and cluster is not None:
            if block * word_bits * cluster != width:
                raise reader.error(p, f"block_size*word_bits*cluster_size ({block}*{word_bits}*{cluster}) "
                                   f"!= width ({width}) at '{lvl.name}'", "make them consistent or drop block_size")
        elif cluster is not None:
            block = width // cluster // word_bits
        elif block is not None:
            cluster = width // (word_bits * block)
        else:
            block, cluster = width // word_bits, 1
        if not block or width % (word_bits * block * (cluster or 1)):  # Timeloop asserts it
            unit = word_bits * (opt_int("block_size", "n_words", minimum=1) or 1)
            raise reader.error(p + (width_key,), f"{width_key} {width} bits at '{lvl.name}' is not a multiple of "
                               f"{unit} bits (datawidth x block_size); Timeloop aborts on it",
                               f"use a width that is a multiple of {unit} bits")
    block = max(block or 1, 1)
    cluster = max(cluster or 1, 1)
    if cluster > 1:
        raise reader.error(p, f"'{lvl.name}' has {cluster} instances per cluster (cluster_size), which the engine "
                           "does not model", "make block_size x datawidth equal the width (cluster_size 1)")
    entries = opt_int("entries")
    depth = opt_int("depth", "memory_depth", "data_storage_depth")
    size_kb = opt_num("sizeKB")
    size: int | None
    if entries is not None:
        size = entries
    elif depth is not None:
        size = depth * block
    elif size_kb is not None:
        size = int(size_kb * 8192 / word_bits)
    else:
        size = None
    buffering = opt_num("multiple_buffering") or 1.0
    if size is not None:
        size = int(size / buffering)
    bandwidth = opt_num("bandwidth")
    read_bw = opt_num("read_bandwidth")
    write_bw = opt_num("write_bandwidth")
    if bandwidth is not None and read_bw is None and write_bw is None:
        read_bw = write_bw = bandwidth / 2
    technology = str(a.get("technology", ""))
    md_word_bits = opt_int("metadata_word_bits", "metadata_datawidth") or 0
    md_block = opt_int("metadata_block_size", minimum=1) or 1
    md_key, _ = _first(a, "metadata_storage_width", "metadata_width")
    md_width = opt_int("metadata_storage_width", "metadata_width") or 0
    if md_key is not None and md_word_bits and md_width % (md_word_bits * md_block):
        raise reader.error(p + (md_key,), f"metadata storage width {md_width} bits at '{lvl.name}' is not a "
                           f"multiple of metadata_datawidth x metadata_block_size ({md_word_bits} x {md_block}); "
                           "Timeloop aborts on it",
                           f"use a metadata_storage_width that is a multiple of {md_word_bits * md_block} bits")
    if _flag(reader, a, p, "tile_partition_supported"):
        raise reader.error(p + ("tile_partition_supported",), f"runtime tile partitioning at '{lvl.name}' is not "
                           "supported (Timeloop refuses it too)", "remove tile_partition_supported or set it false")
    return StorageLevel(
        name=lvl.name, cls=lvl.cls, instances=lvl.instances, mesh_x=mx, mesh_y=my, word_bits=word_bits,
        block_size=block, cluster_size=cluster, size=size, read_bw=read_bw, write_bw=write_bw,
        shared_bw=opt_num("shared_bandwidth"),
        md_word_bits=md_word_bits,
        md_storage_width=md_width,
        md_storage_depth=opt_int("metadata_storage_depth", "metadata_depth"),
        md_block_size=md_block,
        is_dram="DRAM" in lvl.cls or technology == "DRAM",
        attributes=a,
        decompression_supported=_flag(reader, a, p, "decompression_supported"),
        compression_supported=_flag(reader, a, p, "compression_supported"),
    )


def _flag(reader: Reader, attrs: Mapping[str, Any], path: Path, key: str) -> bool:
    """A boolean attribute (default false)."""
    value = attrs.get(key, False)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise reader.error(path + (key,), f"expected true or false, got {value!r}", "write true or false")
    return value


def _check_fanouts(reader: Reader, arch: Architecture, raw: list[_RawLevel]) -> None:
    paths = {lvl.name: lvl.path for lvl in raw}
    for i, level in enumerate(arch.storage):
        child_n, cx, cy = arch.child_mesh(i)
        if child_n % level.instances or cx % level.mesh_x or cy % level.mesh_y:
            raise reader.error(paths[level.name], f"level '{level.name}' ({level.instances} instances, mesh "
                               f"{level.mesh_x}x{level.mesh_y}) does not evenly divide the level below "
                               f"({child_n} instances, mesh {cx}x{cy})", "fix the instance counts or meshX/meshY")
