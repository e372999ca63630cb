"""Settings of the rendered ``mapper:`` block (what ``timeloop-mapper`` reads)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .base import Spec

Metric = Literal["edp", "energy", "delay", "last_level_accesses"]


class MapperSettings(Spec):
    """Search settings for ``timeloop-mapper`` (rendered with master's underscore keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["random_pruned", "linear_pruned", "hybrid", "random", "exhaustive"] = Field(
        "random_pruned", description="Search algorithm.")
    optimization_metrics: list[Metric] = Field(
        default_factory=lambda: ["edp"], min_length=1, description="Metrics, compared in order.")
    num_threads: int | None = Field(None, ge=1, description="Search threads (null = all hardware threads).")
    timeout: int = Field(1000, ge=1, description="Stop a thread after this many consecutive invalid mappings.")
    victory_condition: int = Field(500, ge=0, description="Stop after this many valid mappings without improvement.")
    search_size: int = Field(0, ge=0, description="Mappings to evaluate in total (0 = until timeout/victory).")
    max_permutations_per_if_visit: int = Field(16, ge=1, description="Loop permutations tried per index factorization.")

