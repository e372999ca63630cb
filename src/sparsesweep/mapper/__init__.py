"""Fast sparse-aware mapper: the best mapping for a point within its mapspace constraints.

``search(bundle, options)`` parses the point (architecture, problem, sparse optimizations,
ERT) and its Timeloop-style constraints, ranks the mapspace with a vectorised model, checks
the finalists with the embedded engine and returns the best mapping as Timeloop
``mapping:`` entries with its evaluation.  Results are cached on disk (:mod:`.cache`).
"""

from __future__ import annotations

from pathlib import Path

from ..backends.base import SearchOptions, SearchResult
from ..inputs import SpecBundle
from .cache import cached_search
from .search import run_search

__all__ = ["SearchOptions", "SearchResult", "search"]


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
