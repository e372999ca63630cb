"""``sparsesweep map``: search the mapspace of Timeloop-format inputs for the best mapping."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..backends.base import OBJECTIVES, SearchOptions, SearchResult, default_registry
from ..errors import EXIT_USER_ERROR, SparsesweepError, SpecError, suggest
from ..clitools import with_examples
from ..inputs import SpecBundle, expand_targets
from ..mapper.cache import cached_search
from ..yamlio import dump_yaml
from .evaluate import extra_files, summary

HELP = "Search the mapspace (the inputs' architecture_constraints) for the best mapping and evaluate it."
DEFAULT_OUT = "out/map"
MAPPING_FILE = "mapping.yaml"
# Timeloop mapper metric -> our objective.
METRICS = {"energy": "energy", "edp": "edp", "delay": "cycles", "cycles": "cycles"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = with_examples(
        "A 'mapping:' in the inputs (or --mapping) is a starting point, not a constraint. Writes the best mapping "
        f"as <out>/{MAPPING_FILE} (Timeloop 'mapping:' entries, permutations innermost first) and prints its "
        "evaluation. Results are cached; see --no-cache. Several files that together make one spec are merged, "
        "as timeloop-mapper merges them.",
        ("sparsesweep map input.yaml ERT.yaml",
         "sparsesweep map results/points/conv1-structured-dual-s0.5 --objective edp --json",
         "sparsesweep map input.yaml --ert ERT.yaml --time-limit 10 --out out/map/mine"))
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="input YAML files or case folders (files that together make one spec are merged; a "
                             "folder of case folders is searched recursively)")
    parser.add_argument("--objective", choices=OBJECTIVES, default=None,
                        help="what to minimise (default: the inputs' mapper.optimization_metrics[0], else energy)")
    parser.add_argument("--time-limit", type=float, default=30.0, metavar="S",
                        help="wall-clock limit of one search in seconds (default: 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomised search steps (default: 0)")
    parser.add_argument("--json", action="store_true",
                        help="print the evaluate --json schema with 'mapping' and 'search' fields "
                             "(several targets: keyed by path)")
    parser.add_argument("--out", metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT}/<input name>; several targets get sub-folders)")
    parser.add_argument("--ert", metavar="FILE", help="pinned energy reference table (top-level 'ERT:')")
    parser.add_argument("--mapping", metavar="FILE",
                        help="a starting mapping (top-level 'mapping:'), replacing one in the inputs")
    parser.add_argument("--backend", default="native", metavar="NAME",
                        help="native (embedded engine and fast mapper, default) or timeloop (timeloop-mapper)")
    parser.add_argument("--workdir", metavar="DIR", help="keep backend working files here (timeloop backend)")
    parser.add_argument("--no-cache", action="store_true", help="search even if a cached result exists")


def run(args: argparse.Namespace) -> int:
    if args.time_limit <= 0:
        raise SpecError(f"--time-limit must be positive (got {args.time_limit})", key="--time-limit",
                        fix="give the limit in seconds, e.g. --time-limit 10")
    registry = default_registry()
    if args.backend not in registry.names():
        raise SpecError(f"unknown backend '{args.backend}'", key="--backend", fix=suggest(args.backend, registry.names()))
    targets = expand_targets(args.paths)
    extra = extra_files(args)
    outs = _out_dirs([t.anchor for t in targets], args.out)
    results: dict[str, dict[str, Any]] = {}
    failures = 0
    for target, out in zip(targets, outs):
        try:
            bundle = target.load(extra)
            options = SearchOptions(objective=default_objective(args.objective, bundle),
                                    time_limit_s=args.time_limit, seed=args.seed, cache=not args.no_cache)
            workdir = Path(args.workdir) / out.name if args.workdir else None
            found = search_bundle(bundle, options, args.backend, workdir)
            written = write_mapping(found, out)
        except SparsesweepError as exc:
            if getattr(args, "debug", False):
                raise
            failures += 1
            print(f"error: {exc.one_line()}", file=sys.stderr)
            continue
        results[target.label] = payload(found)
        for note in found.extra.get("notes", []):
            print(f"note: {target.label}: {note}", file=sys.stderr)
        if not args.json:
            print(summary(target.label, found.result))
            print(f"  mapping {written}  ({_how(found)})")
    if args.json:
        one = len(targets) == 1 and results
        print(json.dumps(next(iter(results.values())) if one else results, indent=1))
    return EXIT_USER_ERROR if failures else 0


def default_objective(given: str | None, bundle: SpecBundle) -> str:
    """``given``, else the inputs' ``mapper: optimization_metrics[0]``, else energy."""
    if given:
        return given
    mapper = bundle.data.get("mapper")
    metrics = mapper.get("optimization_metrics") if isinstance(mapper, Mapping) else None
    if isinstance(metrics, list) and metrics and str(metrics[0]) in METRICS:
        return METRICS[str(metrics[0])]
    return "energy"


def search_bundle(bundle: SpecBundle, options: SearchOptions, backend_name: str,
                  workdir: Path | None = None) -> SearchResult:
    """Search one bundle's mapspace on a backend, through the mapping cache when ``options.cache``."""
    backend = default_registry().create(backend_name)
    if backend.name == "native":  # the native search manages its own cache (options.cache)
        return backend.search(bundle, options, workdir)

    def run_backend() -> SearchResult:
        return backend.search(bundle, options, workdir)

    return cached_search(bundle, options, backend.name, run_backend) if options.cache else run_backend()


def payload(found: SearchResult) -> dict[str, Any]:
    """The evaluate --json object plus the mapping and how it was found."""
    return found.to_dict()


def write_mapping(found: SearchResult, out: Path) -> Path:
    path = out / MAPPING_FILE
    r = found.result
    header = (f"# Best mapping found by sparsesweep map ({found.extra.get('objective', '?')} objective): "
              f"energy {r.energy_pj:.2f} pJ, cycles {r.cycles}.\n"
              "# Timeloop mapping entries; permutations list the innermost loop first.\n")
    try:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(header + dump_yaml({"mapping": found.mapping}), encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot write the mapping: {exc.strerror or exc}", file=path, key="--out",
                        fix="choose a writable output folder") from exc
    return path


def _out_dirs(targets: list[Path], out: str | None) -> list[Path]:
    if len(targets) == 1:
        return [Path(out) if out else Path(DEFAULT_OUT) / _name(targets[0])]
    base = Path(out) if out else Path(DEFAULT_OUT)
    resolved = [t.resolve() for t in targets]
    common = Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in resolved]))
    outs = []
    for t in resolved:
        rel = (t if t.is_dir() else t.with_suffix("")).relative_to(common) if t != common else Path(_name(t))
        outs.append(base / rel)
    return outs


def _name(target: Path) -> str:
    return target.name if target.is_dir() else target.stem


def _how(found: SearchResult) -> str:
    if found.extra.get("cached"):
        return "cached result"
    parts = [f"{found.seconds:.2f} s", f"{found.evaluated} candidates"]
    if "method" in found.extra:
        parts.insert(0, str(found.extra["method"]))
    if found.extra.get("time_limited"):
        parts.append("stopped at the time limit")
    return ", ".join(parts)
