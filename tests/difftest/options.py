"""What the random-input generator may use (so a run can leave out features on purpose)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ALL_FORMATS = ("UOP", "CP", "B", "RLE", "UB")
ALL_SAFS = ("gating", "skipping", "skipping-spatial")
ALL_DENSITIES = ("fixed-structured", "hypergeometric", "banded")


@dataclass(frozen=True)
class GenOptions:
    """Feature switches of :func:`difftest.gen.cases`.

    ``exclude_tags`` drops drawn inputs that carry any of these tags (see ``difftest.tags``); the
    other switches keep a feature from being drawn at all.
    """

    problems: tuple[str, ...] = ("gemm", "conv1d", "cnn7")
    max_levels: int = 3
    max_fanout: int = 8  # instances of one fanout (X x Y)
    mesh2d: bool = True  # 2-D fanouts (meshX/meshY, split spatial mappings), else 1-D rows only
    formats: tuple[str, ...] = ALL_FORMATS
    payload_bits: bool = True
    wild_placement: bool = True  # formats at any subset of the keeping levels (not only at all of them)
    safs: tuple[str, ...] = ALL_SAFS
    compute_safs: bool = True
    densities: tuple[str, ...] = ALL_DENSITIES
    bypass: bool = True
    bandwidths: bool = True
    exclude_tags: frozenset[str] = field(default_factory=frozenset)

    def without(self, *tags: str) -> GenOptions:
        return replace(self, exclude_tags=self.exclude_tags | frozenset(tags))
