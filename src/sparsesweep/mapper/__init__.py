"""Fast sparse-aware mapper: the best mapping for a point within its mapspace constraints.

``search(bundle, options)`` parses the point (architecture, problem, sparse optimizations,
ERT) and its Timeloop-style constraints, ranks the mapspace with a vectorised model, checks
the finalists with the embedded engine and returns the best mapping as Timeloop
``mapping:`` entries with its evaluation.  Results are cached on disk (:mod:`.cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..backends.base import SearchOptions, SearchResult
from ..errors import SparsesweepError
from ..inputs import SpecBundle
from .cache import cached_search, lookup
from .search import run_search

__all__ = ["SearchOptions", "SearchResult", "search", "search_group"]


def search(bundle: SpecBundle, options: SearchOptions | None = None, *, cache: bool = True,
           cache_dir: Path | None = None) -> SearchResult:
    """Best mapping of ``bundle`` within its constraints, by the native engine.

    ``options``: objective (energy, cycles, edp), time limit (s), seed.  A ``mapping`` in the
    bundle is a starting point, not a constraint.  ``cache=False`` always searches.
    """
    opts = options or SearchOptions()
    if not cache:
        return run_search(bundle, opts)
    return cached_search(bundle, opts, "native", lambda: run_search(bundle, opts), cache_dir)


def search_group(bundles: Sequence[SpecBundle], options: SearchOptions | None = None, *, cache: bool = True,
                 cache_dir: Path | None = None) -> list[SearchResult | SparsesweepError]:
    """:func:`search` of every bundle (its result, or the error its search raises), in order.

    Points that differ only in buffer capacities and energies (a memory sweep's settings of one
    layer and design) share the listing and access model of their mapspace (:mod:`.shared`); each
    still gets the mapping its own search finds."""
    from .shared import run_group

    opts = options or SearchOptions()
    out: list[SearchResult | SparsesweepError | None] = [None] * len(bundles)
    saves = {}
    for i, bundle in enumerate(bundles):
        if cache:
            out[i], saves[i] = lookup(bundle, opts, "native", cache_dir)
    todo = [i for i in range(len(bundles)) if out[i] is None]
    for i, found in zip(todo, run_group([bundles[i] for i in todo], opts) if todo else []):
        out[i] = found
        if cache and isinstance(found, SearchResult):
            saves[i](found)
    return [r for r in out if r is not None]
