"""What the engine derives from a spec without looking at its mapping, built once per spec.

A mapper evaluates many mappings of one spec (``dataclasses.replace(spec, mapping=m)``
keeps the other parts as the same objects), so :func:`context_for` caches the context on
the *identity* of those parts.  Every entry is computed on first use, so an input error
surfaces at the same step of an evaluation as it would without the cache.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from ..tl.arch import StorageLevel
from ..tl.problem import DataSpace
from ..tl.sparse import Saf
from ..tl.spec import Spec
from .energy import LevelCosts, Split, compute_costs, level_costs

if TYPE_CHECKING:
    from .representation import FormatStatic


class Context:
    """Mapping-independent facts of a spec (its ``mapping`` is never read)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = dataclasses.replace(spec, mapping=None)

    @cached_property
    def artifact(self) -> bool:
        """Position-skipping inputs follow the 2022 Sparseloop build's rules throughout.

        That build (the only one with position-skipping) counted the first fill of read-write
        tensors, matched a flattened rank's dimensions to one loop each, and had no
        partial-block vector-access penalty.
        """
        return any(saf.kind == "position_skipping" for lvl in self.spec.sparse.levels.values() for saf in lvl.safs)

    @cached_property
    def sparse(self) -> bool:
        """The sparse pipeline runs (some density below 1 or some sparse optimization)."""
        return self.spec.problem.is_sparse or not self.spec.sparse.empty

    @cached_property
    def spatial_skipping(self) -> bool:
        return any(saf.kind == "skipping_spatial" for lvl in self.spec.sparse.levels.values() for saf in lvl.safs)

    @cached_property
    def fanouts(self) -> tuple[tuple[int, int], ...]:
        """Per storage level: (fanout X, fanout Y) to the level below."""
        arch = self.spec.arch
        return tuple(arch.fanout(li) for li in range(len(arch.storage)))

    @cached_property
    def costs(self) -> tuple[LevelCosts, ...]:
        """Per storage level: resolved access energies."""
        energies = self.spec.energies
        if energies is None:
            raise ValueError("the engine needs an energy table")
        return tuple(level_costs(level, energies.level(level.name)) for level in self.spec.arch.storage)

    @cached_property
    def compute_costs(self) -> Split:
        energies = self.spec.energies
        if energies is None:
            raise ValueError("the engine needs an energy table")
        return compute_costs(energies.level(self.spec.arch.compute.name))

    @cached_property
    def format_static(self) -> FormatStatic:
        """The mapping-independent inputs of the representation analysis."""
        from .representation import format_static

        return format_static(self.spec)

    @cached_property
    def dataspace_names(self) -> list[str]:
        return [d.name for d in self.spec.problem.dataspaces]

    @cached_property
    def operands(self) -> list[DataSpace]:
        """The read-only dataspaces (the compute operands)."""
        return [d for d in self.spec.problem.dataspaces if not d.read_write]

    @cached_property
    def block_sizes(self) -> tuple[int, ...]:
        return tuple(s.block_size for s in self.spec.arch.storage)

    @cached_property
    def level_safs(self) -> tuple[tuple[int, StorageLevel, tuple[Saf, ...]], ...]:
        """Per storage level: (index, level, its storage action optimizations)."""
        arch, sparse = self.spec.arch, self.spec.sparse
        return tuple((li, level, sparse.at(level.name).safs) for li, level in enumerate(arch.storage))

    @cached_property
    def mapping_file(self) -> str:
        return str(self.spec.bundle.doc_for("mapping").path)


class _SameParts:
    """Cache key: a spec's parts other than the mapping, compared by identity."""

    __slots__ = ("spec", "parts", "_hash")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.parts = (spec.bundle, spec.arch, spec.problem, spec.sparse, spec.energies)
        self._hash = hash(tuple(map(id, self.parts)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameParts) and all(a is b for a, b in zip(self.parts, other.parts))


def context_for(spec: Spec) -> Context:
    """The (cached) context of ``spec``: shared by every spec with the same non-mapping parts."""
    return _context(_SameParts(spec))


@lru_cache(maxsize=16)
def _context(key: _SameParts) -> Context:
    return Context(key.spec)
