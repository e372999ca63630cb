"""The embedded engine as a backend."""

from __future__ import annotations

from pathlib import Path

from ..engine import evaluate_spec
from ..inputs import SpecBundle
from ..result import Result
from ..tl import load_spec
from .base import SearchOptions, SearchResult


class NativeBackend:
    """Evaluates with sparsesweep's own re-implementation of Timeloop's model."""

    name = "native"

    def evaluate(self, bundle: SpecBundle, workdir: Path | None = None) -> Result:
        return evaluate_spec(load_spec(bundle)).result

    def search(self, bundle: SpecBundle, options: SearchOptions, workdir: Path | None = None) -> SearchResult:
        from ..mapper import search

        return search(bundle, options, cache=options.cache)
