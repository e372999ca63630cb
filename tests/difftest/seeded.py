"""What the seeded differential run in the test suite draws, and what it leaves out for now.

Every exclusion below is a known disagreement class between the engine and Timeloop master,
each with a minimal input under ``tests/difftest_cases/``.  Remove an exclusion when its class
is fixed (the regression case then passes and its ``open`` marker must go too).
"""

from __future__ import annotations

from .options import GenOptions

# feature -> why it is left out of the seeded run (the class and its regression case)
EXCLUDED: dict[str, str] = {
    "skipping-spatial SAFs": "the engine refuses spatial and temporal skipping of one tensor at one level, "
                             "which Timeloop evaluates (not reduced yet)",
    "halo tag": "sliding-window reuse with non-indexing loops inside the sliding loop (being fixed): halo_* cases",
    "UB format": "uncompressed bitmask semantics (being fixed): ub_* cases",
    "UOP payload bits": "payload bits of UOP ranks above CP/RLE (being fixed): uop_* cases",
    "wild format placement": "formats at only some of a tensor's levels (being fixed; Timeloop also aborts "
                             "on a compressed child under an uncompressed parent)",
    "banded densities": "the engine refuses banded tiles that do not divide the matrix side (e.g. a 4x1 tile "
                        "of a 6x6 tensor), which Timeloop evaluates (not reduced yet)",
    "formats": "several classes not yet reduced (a 3-level conv1d with CP/B/RLE: Inputs fills and cycles; "
               "a 1x1x1 GEMM with UOP at two levels and compute gating: Buffer.B reads 1 vs 0)",
}

SEEDED = GenOptions(
    formats=(),
    safs=("gating", "skipping"),
    exclude_tags=frozenset({"halo", "density:banded"}),
)
