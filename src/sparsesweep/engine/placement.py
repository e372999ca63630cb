"""Where a tensor may be compressed: the format placements Timeloop evaluates or refuses.

Walking the levels that keep a tensor from the outermost inward, each level is compared with
its parent (the next outer level keeping the tensor; bypassing levels in between do not
count).  A level is *compressed* when some rank of its format drops empty coordinates (CP, B,
RLE); UOP and UB ranks keep every position, so a tensor with only those is uncompressed,
though it has metadata.  Timeloop master:

* evaluates an uncompressed level (no format, UOP, UB) under an uncompressed parent, and a
  compressed level under a compressed parent with at least as many ranks;
* refuses an uncompressed level under a compressed parent unless the level has
  ``decompression_supported: true`` ("decompression (from parent level) needed but not
  supported"), and, for a read-write tensor, also ``compression_supported: true``;
* refuses a compressed level with more ranks than its compressed parent ("runtime partition
  needed but not supported");
* aborts on a compressed level under an uncompressed parent (it does not model on-chip
  compression).

:func:`check_placement` raises the same refusals as one-line errors; they depend on which levels
keep the tensor, so they are mapping errors (a mapping search skips such keep/bypass choices).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..errors import MappingError
from ..tl.arch import StorageLevel
from .representation import DataspaceFormats

KEY = "sparse_optimizations"


def check_placement(levels: Sequence[StorageLevel], read_write: Mapping[str, bool],
                    kept: Mapping[str, Sequence[bool]], formats: Mapping[str, DataspaceFormats]) -> None:
    """Raise :class:`MappingError` for a format placement Timeloop refuses (see the module doc)."""
    for ds, keeps in kept.items():
        tiles = formats[ds].tiles
        parent: int | None = None
        for li in range(len(keeps) - 1, -1, -1):
            if not keeps[li]:
                continue
            if parent is not None:
                _check_pair(levels, ds, read_write[ds], parent, li, tiles)
            parent = li


def _check_pair(levels: Sequence[StorageLevel], ds: str, read_write: bool, parent: int, child: int,
                tiles) -> None:
    outer, inner = tiles[parent], tiles[child]
    outer_c = outer is not None and outer.compressed
    inner_c = inner is not None and inner.compressed
    pname, cname = levels[parent].name, levels[child].name
    if inner_c and not outer_c:
        raise MappingError(f"'{ds}' is compressed at '{cname}' but its parent level '{pname}' keeps it uncompressed; "
                        "Timeloop does not model on-chip compression (it aborts on this input)", key=KEY,
                        fix=f"compress '{ds}' at '{pname}' too (with the formats of '{cname}' as its innermost "
                            f"ranks), or use an uncompressed format (UOP, UB) at '{cname}'")
    if outer_c and not inner_c:
        if not levels[child].decompression_supported:
            raise MappingError(f"'{ds}' arrives compressed from '{pname}' at '{cname}', which keeps it uncompressed: "
                            "decompression (from parent level) needed but not supported", key=KEY,
                            fix=f"set 'decompression_supported: true' in the attributes of '{cname}', or compress "
                                f"'{ds}' at '{cname}' too")
        if read_write and not levels[child].compression_supported:
            raise MappingError(f"'{ds}' is read-write, compressed at '{pname}' and uncompressed at '{cname}': "
                            "compression (to parent level) needed but not supported", key=KEY,
                            fix=f"set 'compression_supported: true' in the attributes of '{cname}', or compress "
                                f"'{ds}' at '{cname}' too")
    if outer_c and inner_c:
        n_outer, n_inner = len(outer.formats), len(inner.formats)
        if n_outer < n_inner:
            raise MappingError(f"'{ds}' has {n_inner} format ranks at '{cname}' but only {n_outer} at its compressed "
                            f"parent '{pname}': runtime partition needed but not supported", key=KEY,
                            fix=f"give '{ds}' at '{pname}' at least {n_inner} ranks, the formats of '{cname}' as "
                                "its innermost ones")
