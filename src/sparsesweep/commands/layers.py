"""``sparsesweep layers``: the layers of a workload with their shapes and repeat counts."""

from __future__ import annotations

import argparse
import json

from ..clitools import with_examples
from ..specs.paths import resolve_named
from ..specs.workload import Layer, load_workload

HELP = "List the layers of a workload: names, shapes, GEMM view and repeat counts."
DEFAULT_WORKLOAD = "workloads/resnet50.yaml"
EPILOG = with_examples(
    "The names (or shell-style patterns of them) are what --layers of a sweep and --layer of render take.",
    ("sparsesweep layers", "sparsesweep layers 'conv3_*'", "sparsesweep layers --workload workloads/mine.yaml --json"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("patterns", nargs="*", metavar="PATTERN",
                        help="only layers matching these names or shell-style patterns (e.g. 'conv3_*')")
    parser.add_argument("--workload", default=DEFAULT_WORKLOAD, metavar="FILE",
                        help=f"workload file, or a name in workloads/ (default: {DEFAULT_WORKLOAD})")
    parser.add_argument("--json", action="store_true", help="print a JSON list of the layers instead of a table")


def layer_row(layer: Layer) -> dict[str, object]:
    """One layer as a flat record: its dimensions, GEMM bounds (unpadded), MACs and repeat count."""
    gemm = layer.gemm()
    return {"name": layer.name, "type": layer.type, "R": layer.R, "S": layer.S, "P": layer.P, "Q": layer.Q,
            "C": layer.C, "M": layer.M, "N": layer.N, "stride": layer.Hstride if layer.Hstride == layer.Wstride
            else f"{layer.Hstride}x{layer.Wstride}", "gemm_M": gemm.M, "gemm_N": gemm.N, "gemm_K": gemm.K,
            "macs": layer.macs, "repeat": layer.repeat}


def run(args: argparse.Namespace) -> int:
    path = resolve_named(args.workload, "workloads", "workload")
    workload = load_workload(path)
    layers = workload.select(args.patterns, source=path, key="PATTERN") if args.patterns else list(workload.layers)
    rows = [layer_row(layer) for layer in layers]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    header = ["name", "type", "R", "S", "P", "Q", "C", "M", "N", "stride", "gemm_M", "gemm_N", "gemm_K", "macs",
              "repeat"]
    table = [[str(row[h]) for h in header] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    for r in table:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    total = sum(layer.total_macs for layer in layers)
    instances = sum(layer.repeat for layer in layers)
    print(f"{len(layers)} layer shapes, {instances} layers with repeats, {total / 1e9:.3f} GMACs "
          f"({workload.name}, {path})")
    return 0
