"""The backend protocol and an explicit registry of backends.

A backend turns one :class:`~sparsesweep.inputs.SpecBundle` (architecture, problem,
mapping or constraints, sparse optimizations, ERT) into a
:class:`~sparsesweep.result.Result` (``evaluate``), or searches for the best mapping
(``search``).  The registry is an ordinary value that the CLI and the sweep driver
create and pass around: there is no module-level mutable state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ..errors import SpecError, suggest
from ..inputs import SpecBundle
from ..result import Result

Objective = Literal["energy", "cycles", "edp"]
OBJECTIVES: tuple[Objective, ...] = ("energy", "cycles", "edp")


@dataclass(frozen=True)
class SearchOptions:
    """How a mapping search runs."""

    objective: Objective = "edp"
    time_limit_s: float = 30.0  # wall-clock limit of one search (s)
    seed: int = 0  # makes the search deterministic
    cache: bool = True  # reuse (and store) searches in the mapping cache folder

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise SpecError(f"--seed must be a whole number in [0, 2**32) (got {self.seed!r})", key="--seed",
                            fix="use e.g. --seed 0")
        if not (isinstance(self.time_limit_s, (int, float)) and math.isfinite(self.time_limit_s)
                and self.time_limit_s > 0):
            raise SpecError(f"--time-limit must be a positive number of seconds (got {self.time_limit_s!r})",
                            key="--time-limit", fix="use e.g. --time-limit 30")


@dataclass(frozen=True)
class SearchResult:
    """The best mapping found and its evaluation."""

    mapping: list[dict[str, Any]]  # Timeloop ``mapping:`` entries
    result: Result
    evaluated: int = 0  # candidate mappings evaluated
    seconds: float = 0.0  # search wall time (s)
    extra: Mapping[str, Any] = field(default_factory=dict)  # backend-specific details

    def to_dict(self) -> dict[str, Any]:
        """What ``sparsesweep map --json`` prints: the result's ``expected.json`` layout plus ``mapping``
        (the entries found) and ``search`` (seconds, candidates evaluated, method, cache)."""
        out = self.result.to_json_dict()
        out["mapping"] = self.mapping
        out["search"] = {"seconds": round(self.seconds, 4), "evaluated": self.evaluated,
                         **{k: v for k, v in self.extra.items() if k != "cache_file"}}
        return out

    def to_frame(self) -> Any:
        """The found mapping's evaluation, one row per level (see :meth:`Result.to_frame`)."""
        return self.result.to_frame()


@runtime_checkable
class Backend(Protocol):
    """Something that can evaluate a point and search its mapspace."""

    name: str

    def evaluate(self, bundle: SpecBundle, workdir: Path | None = None) -> Result:
        """Evaluate the bundle's ``mapping`` (``workdir`` keeps any files the backend writes)."""
        ...

    def search(self, bundle: SpecBundle, options: SearchOptions, workdir: Path | None = None) -> SearchResult:
        """Find the best mapping within the bundle's constraints."""
        ...


BackendFactory = Callable[[], Backend]


@dataclass(frozen=True)
class BackendRegistry:
    """Backend names -> factories.  Build one with :func:`default_registry`."""

    factories: Mapping[str, BackendFactory]

    def names(self) -> list[str]:
        return sorted(self.factories)

    def check(self, name: str) -> None:
        """A one-line error for an unknown backend name (without creating, i.e. importing, the backend)."""
        if name not in self.factories:
            raise SpecError(
                f"unknown backend '{name}'", key="--backend", fix=suggest(name, self.factories)
            )

    def create(self, name: str) -> Backend:
        self.check(name)
        return self.factories[name]()


def _native() -> Backend:
    from .native import NativeBackend

    return NativeBackend()


def _timeloop() -> Backend:
    from .timeloop import TimeloopBackend

    return TimeloopBackend()


def default_registry() -> BackendRegistry:
    """The built-in backends: ``native`` (embedded engine) and ``timeloop`` (real Timeloop)."""
    return BackendRegistry(factories={"native": _native, "timeloop": _timeloop})
