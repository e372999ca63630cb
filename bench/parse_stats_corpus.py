"""Time the Timeloop stats parser over every stats file of the reference corpus.

Usage: python bench/parse_stats_corpus.py [REFERENCE_DIR] [--repeat N]
Prints files, lines, total seconds and files/s (best of N passes).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sparsesweep.backends.stats import parse_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[2] / "shared" / "reference"
    default = os.environ.get("SPARSESWEEP_REFERENCE", str(here))
    parser.add_argument("reference", nargs="?", default=default)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [p.read_text() for p in sorted(Path(args.reference).rglob("*stats.txt"))]
    if not texts:
        raise SystemExit(f"no stats files under {args.reference}")
    lines = sum(t.count("\n") for t in texts)
    best = float("inf")
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        for text in texts:
            parse_stats(text, source="bench")
        best = min(best, time.perf_counter() - start)
    print(f"files: {len(texts)}  lines: {lines}  best of {args.repeat}: {best:.3f} s  "
          f"({len(texts) / best:.0f} files/s, {lines / best / 1e3:.0f} k lines/s)")


if __name__ == "__main__":
    main()
