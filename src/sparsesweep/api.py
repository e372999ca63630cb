"""Importable entry points: ``sparsesweep.evaluate(...)``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .backends.base import default_registry
from .inputs import SpecBundle, load_bundle
from .result import Result


def evaluate(
    target: str | Path | SpecBundle,
    *,
    ert: str | Path | None = None,
    backend: str = "native",
    workdir: str | Path | None = None,
) -> Result:
    """Evaluate one point (a folder, an input file, or a loaded bundle).

    ``ert`` pins an energy reference table file; ``backend`` is ``native`` (default) or
    ``timeloop``; ``workdir`` keeps the files a backend writes.
    """
    extra: Sequence[Path] = [Path(ert)] if ert else []
    bundle = target if isinstance(target, SpecBundle) else load_bundle(target, extra)
    impl = default_registry().create(backend)
    return impl.evaluate(bundle, Path(workdir) if workdir else None)
