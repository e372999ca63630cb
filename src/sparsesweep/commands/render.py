"""``sparsesweep render``: write the Timeloop inputs of one point to a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..clitools import with_examples
from ..errors import SpecError
from ..render import check_mapping, render_point, write_point
from ..specs.arch import apply_overrides, load_arch, parse_assignment
from ..specs.mapper import MapperSettings
from ..specs.paths import resolve_named
from ..specs.scheme import SIDES, load_scheme
from ..specs.workload import load_workload
from ..yamlio import load_yaml

MAX_MAPPER_THREADS = 1024  # a larger --mapper-threads is a typo (timeloop-mapper starts one thread each)

HELP = "Render one (arch, layer, scheme, sides, sparsity) point into Timeloop input files."
DEFAULT_WORKLOAD = "workloads/resnet50.yaml"
DEFAULT_OUT = "out/render"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = with_examples(
        "Writes input.yaml (architecture, problem, sparse_optimizations, architecture_constraints, mapper, and "
        "mapping if given) and ERT.yaml, then prints their paths. Run them with 'timeloop-mapper input.yaml "
        "ERT.yaml'.",
        ("sparsesweep render --layer conv3_1_b_3x3 --scheme structured --sides dual --sparsity 0.75",
         "sparsesweep render --layer fc --scheme unstructured --sparsity 0.5 --set smem_kib=128 --out out/fc"))
    parser.add_argument("--arch", metavar="FILE",
                        help="architecture file (default: arch/stc.yaml, or arch/dstc.yaml for unstructured "
                             "schemes; a bare name is looked up in arch/)")
    parser.add_argument("--workload", metavar="FILE", default=DEFAULT_WORKLOAD,
                        help=f"workload file (default: {DEFAULT_WORKLOAD})")
    parser.add_argument("--layer", required=True, metavar="NAME", help="layer name in the workload, e.g. conv3_1_b_3x3")
    parser.add_argument("--scheme", required=True, metavar="NAME|FILE",
                        help="sparsity scheme: a name in sparse_opt/ (dense, structured, structured_rle, "
                             "structured_gating, unstructured, unstructured_gating, "
                             "unstructured_position_skipping) or a scheme file")
    parser.add_argument("--sides", choices=SIDES, default="single",
                        help="single = weights only, dual = weights and activations (default: single)")
    parser.add_argument("--sparsity", type=_fraction, default=0.5, metavar="S",
                        help="weight sparsity in [0, 1): density = 1 - S; structured picks N:M "
                             "(0.5 -> 2:4, 0.667 -> 2:6, 0.75 -> 2:8) (default: 0.5)")
    parser.add_argument("--act-sparsity", type=_fraction, default=None, metavar="S",
                        help="activation sparsity for --sides dual (default: the scheme's activation_density, "
                             "else the weight sparsity)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="overrides",
                        help="override an architecture parameter, e.g. --set smem_kib=128 (repeatable)")
    parser.add_argument("--mapping", metavar="FILE",
                        help="YAML file with a Timeloop 'mapping:' list to include (for timeloop-model)")
    parser.add_argument("--out", metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT}/<layer>-<scheme>-<sides>-s<sparsity>)")
    mapper = parser.add_argument_group("mapper settings (the rendered 'mapper:' block)")
    mapper.add_argument("--mapper-algorithm", default="random_pruned",
                        choices=("random_pruned", "linear_pruned", "hybrid", "random", "exhaustive"),
                        help="timeloop-mapper search algorithm (default: random_pruned)")
    mapper.add_argument("--mapper-metrics", default="edp", metavar="M[,M]",
                        help="optimization metrics in order: edp, energy, delay, last_level_accesses (default: edp)")
    mapper.add_argument("--mapper-threads", type=int, default=None, metavar="N",
                        help="search threads (default: all hardware threads)")
    mapper.add_argument("--mapper-timeout", type=int, default=1000, metavar="N",
                        help="consecutive invalid mappings before a thread stops (default: 1000)")
    mapper.add_argument("--mapper-victory", type=int, default=500, metavar="N",
                        help="valid mappings without improvement before a thread stops (default: 500)")
    mapper.add_argument("--mapper-search-size", type=int, default=0, metavar="N",
                        help="total mappings to evaluate, 0 = no limit (default: 0)")


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from exc


def run(args: argparse.Namespace) -> int:
    scheme = load_scheme(resolve_named(args.scheme, "sparse_opt", "scheme"))
    arch_path = resolve_named(args.arch or scheme.topology, "arch", "arch")
    arch = load_arch(arch_path)
    if args.overrides:
        arch = apply_overrides(arch, dict(parse_assignment(text) for text in args.overrides))
    workload_path = resolve_named(args.workload, "workloads", "workload")
    layer = load_workload(workload_path).layer(args.layer, source=workload_path)
    mapping = _load_mapping(Path(args.mapping)) if args.mapping else None
    point = render_point(arch, layer, scheme, args.sides, args.sparsity, args.act_sparsity, mapping,
                         _mapper_settings(args))
    out = Path(args.out) if args.out else Path(DEFAULT_OUT) / point.name
    for warning in point.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in point.plan.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in write_point(point, out):
        print(path)
    return 0


def _load_mapping(path: Path) -> list[dict]:
    doc = load_yaml(path)
    data = doc.data.get("mapping") if isinstance(doc.data, dict) else doc.data
    prefix: tuple[str, ...] = ("mapping",) if isinstance(doc.data, dict) else ()
    if isinstance(doc.data, dict) and "mapping" not in doc.data:
        raise doc.error("no 'mapping' key", fix="the file must hold 'mapping:' with Timeloop mapping entries")
    check_mapping(data, doc, prefix)
    return list(data)


def _mapper_settings(args: argparse.Namespace) -> MapperSettings:
    metrics = [m.strip() for m in args.mapper_metrics.split(",") if m.strip()]
    known = ("edp", "energy", "delay", "last_level_accesses")
    for metric in metrics:
        if metric not in known:
            raise SpecError(f"unknown mapper metric '{metric}'", key="--mapper-metrics",
                            fix=f"use {', '.join(known)}")
    for key, value in (("--mapper-threads", args.mapper_threads), ("--mapper-timeout", args.mapper_timeout)):
        if value is not None and value < 1:
            raise SpecError(f"{key} must be >= 1 (got {value})", key=key, fix="use a positive number")
    if args.mapper_threads is not None and args.mapper_threads > MAX_MAPPER_THREADS:
        raise SpecError(f"--mapper-threads {args.mapper_threads} is more than {MAX_MAPPER_THREADS} search threads",
                        key="--mapper-threads", fix="give the hardware threads of the machine that runs "
                        "timeloop-mapper, or leave it out for all of them")
    for key, value in (("--mapper-victory", args.mapper_victory), ("--mapper-search-size", args.mapper_search_size)):
        if value < 0:
            raise SpecError(f"{key} must be >= 0 (got {value})", key=key, fix="use 0 or a positive number")
    return MapperSettings(algorithm=args.mapper_algorithm, optimization_metrics=metrics or ["edp"],
                          num_threads=args.mapper_threads, timeout=args.mapper_timeout,
                          victory_condition=args.mapper_victory, search_size=args.mapper_search_size)

