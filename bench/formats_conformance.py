"""Representation-format conformance per reference folder, and the cost of the analysis.

Usage: python bench/formats_conformance.py [REFERENCE_DIR] [--list-noise]
Prints, per folder (fig15 / exercises / generated / DSTC artifact), how many (level,
dataspace) blocks and fields were compared, how many differ by float noise (off by one at an
integer) and how many are wrong; then the time of one ``analyse_formats`` call for a fig15
case: cold (first call in the process), recomputed with warm density caches, recomputed with
cached tile formats (what a mapper pays for a new mapping whose tiles it has seen), cached.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from sparsesweep.engine.formats import _tile_format
from sparsesweep.engine.representation import analyse_formats, analyse_inputs, format_inputs
from sparsesweep.inputs import load_bundle
from sparsesweep.tl import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_formats_reference import compare_case  # noqa: E402

TIMED_CASE = "fig15/WD-0.5/M512-K128-N1024-IAD0.56-WD0.5/STC_flexible_dualCompress-RF2x-24-bandwidth-RLE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[2] / "shared" / "reference"
    parser.add_argument("reference", nargs="?", default=os.environ.get("SPARSESWEEP_REFERENCE", str(here)))
    parser.add_argument("--list-noise", action="store_true", help="print every off-by-one noise entry")
    args = parser.parse_args()
    root = Path(args.reference)
    timing = time_analysis(root)  # first, while every cache is cold
    stats = [(p.parent, p.name) for p in sorted(root.glob("**/timeloop-model.stats.txt"))]
    stats += [(p.parent, p.name) for p in sorted(root.glob("fig15/*/*/DSTC*/artifact.timeloop-model.stats.txt"))]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for folder, name in stats:
        group = "DSTC artifact" if name.startswith("artifact") else str(folder.relative_to(root)).split("/")[0]
        out = compare_case(folder, name)
        row = totals[group]
        row[0] += 1
        row[1] += out.blocks
        row[2] += out.compared
        row[3] += len(out.noise)
        row[4] += len(out.wrong)
        for line in out.wrong + (out.noise if args.list_noise else []):
            print(f"  {folder.relative_to(root)}: {line}")
    print(f"{'folder':<15}{'cases':>7}{'blocks':>8}{'fields':>8}{'exact':>8}{'noise':>7}{'wrong':>7}")
    for group, (cases, blocks, fields, noise, wrong) in totals.items():
        print(f"{group:<15}{cases:>7}{blocks:>8}{fields:>8}{fields - noise - wrong:>8}{noise:>7}{wrong:>7}")
    print(timing)


def time_analysis(root: Path) -> str:
    spec = load_spec(load_bundle(root / TIMED_CASE / "input.yaml"))
    start = time.perf_counter()
    analyse_formats(spec)
    cold = time.perf_counter() - start
    inputs = format_inputs(spec)
    reps = 50
    start = time.perf_counter()
    for _ in range(reps):
        _tile_format.cache_clear()
        analyse_inputs.__wrapped__(inputs)
    fresh = (time.perf_counter() - start) / reps
    start = time.perf_counter()
    for _ in range(reps):
        analyse_inputs.__wrapped__(inputs)
    tiles = (time.perf_counter() - start) / reps
    reps = 2000
    start = time.perf_counter()
    for _ in range(reps):
        analyse_formats(spec)
    cached = (time.perf_counter() - start) / reps
    return (f"analyse_formats on {TIMED_CASE.split('/')[-1]} (all levels x dataspaces): cold {cold * 1e3:.2f} ms; "
            f"recomputed with warm density caches {fresh * 1e3:.3f} ms; with cached tile formats "
            f"{tiles * 1e3:.3f} ms; fully cached {cached * 1e6:.1f} us")


if __name__ == "__main__":
    main()
