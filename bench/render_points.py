"""Time the renderer: every ResNet-50 layer x scheme x sides x sparsity, as a sweep would render them.

Run: .venv/bin/python bench/render_points.py   (prints points rendered and points per second)
"""

from __future__ import annotations

import time
from pathlib import Path

from sparsesweep.render import render_point
from sparsesweep.specs import load_arch, load_scheme, load_workload

REPO = Path(__file__).resolve().parents[1]
SCHEMES = ("dense", "structured", "structured_rle", "unstructured")
SPARSITIES = (0.0, 0.5, 0.667, 0.75)


def main() -> None:
    archs = {name: load_arch(REPO / "arch" / f"{name}.yaml") for name in ("stc", "dstc")}
    schemes = [load_scheme(REPO / "sparse_opt" / f"{name}.yaml") for name in SCHEMES]
    layers = load_workload(REPO / "workloads" / "resnet50.yaml").layers
    start = time.perf_counter()
    count = 0
    for scheme in schemes:
        for layer in layers:
            for sides in ("single", "dual"):
                for sparsity in SPARSITIES:
                    render_point(archs[scheme.topology], layer, scheme, sides, sparsity)
                    count += 1
    seconds = time.perf_counter() - start
    print(f"rendered {count} points in {seconds:.2f} s: {count / seconds:.1f} points/s "
          f"({1000 * seconds / count:.1f} ms per point, including the parse-back check)")


if __name__ == "__main__":
    main()
