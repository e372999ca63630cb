"""``sparsesweep evaluate``: evaluate Timeloop-format inputs with a backend."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..backends.base import default_registry
from ..clitools import with_examples
from ..errors import EXIT_USER_ERROR, SparsesweepError
from ..inputs import expand_targets
from ..result import Result

HELP = "Evaluate Timeloop-format inputs (files or case folders) and print energy, cycles and computes."
EPILOG = with_examples(
    "Several files that together make one spec are merged, as timeloop-model merges them (any order).",
    ("sparsesweep evaluate input.yaml ERT.yaml mapping.yaml",
     "sparsesweep evaluate results/points/conv1-structured-dual-s0.5 --json",
     "sparsesweep evaluate input.yaml --mapping my_mapping.yaml --ert ERT.yaml",
     "sparsesweep evaluate ../shared/reference/fig15          # a folder of case folders: each case"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="input YAML files or folders (files that together make one spec are merged; a folder "
                             "means every YAML in it; a folder of case folders is searched recursively)")
    parser.add_argument("--ert", metavar="FILE", help="pinned energy reference table (top-level 'ERT:'); "
                        "default: an ERT in the inputs or ERT.yaml beside an input file")
    parser.add_argument("--mapping", metavar="FILE",
                        help="the mapping to evaluate (top-level 'mapping:'), replacing one in the inputs")
    parser.add_argument("--json", action="store_true",
                        help="print the expected.json schema (one object; several targets: keyed by path)")
    parser.add_argument("--backend", default="native", metavar="NAME",
                        help="native (embedded engine, default) or timeloop (real timeloop-model)")
    parser.add_argument("--workdir", metavar="DIR", help="keep backend working files here (timeloop backend)")


def run(args: argparse.Namespace) -> int:
    backend = default_registry().create(args.backend)
    targets = expand_targets(args.paths)
    extra = extra_files(args)
    results: dict[str, Result] = {}
    failures: list[SparsesweepError] = []
    for target in targets:
        try:
            bundle = target.load(extra)
            workdir = Path(args.workdir) / target.anchor.name if args.workdir and len(targets) > 1 else (
                Path(args.workdir) if args.workdir else None)
            results[target.label] = backend.evaluate(bundle, workdir)
            for warning in input_warnings(bundle):
                print(f"warning: {target.label}: {warning}", file=sys.stderr)
        except SparsesweepError as exc:
            if getattr(args, "debug", False):
                raise
            failures.append(exc)
            if not args.json:
                print(f"error: {exc.one_line()}", file=sys.stderr)
            continue
        if not args.json:
            print(summary(target.label, results[target.label]))
    if args.json:
        if len(targets) == 1 and results:
            payload = next(iter(results.values())).to_json_dict()
        else:
            payload = {path: r.to_json_dict() for path, r in results.items()}
        print(json.dumps(payload, indent=1))
        for exc in failures:
            print(f"error: {exc.one_line()}", file=sys.stderr)
    return EXIT_USER_ERROR if failures else 0


def extra_files(args: argparse.Namespace) -> list[Path]:
    """``--ert`` and ``--mapping`` files, which replace what the inputs define."""
    return [Path(f) for f in (args.ert, args.mapping) if f]


def input_warnings(bundle) -> tuple[str, ...]:
    """What Timeloop warns about in these inputs (how it reads them), one line each."""
    from ..tl import load_spec

    try:
        return load_spec(bundle, need_mapping=False, need_energy=False).sparse.warnings
    except SparsesweepError:  # inputs only another backend reads: nothing to add
        return ()


def summary(name: str, result: Result) -> str:
    """A readable multi-line summary of one result."""
    c = result.computes
    lines = [
        f"{name}",
        f"  energy  {result.energy_pj / 1e6:14.3f} uJ",
        f"  cycles  {result.cycles:14d}",
        f"  computes algorithmic {c.algorithmic}  actual {c.actual}  gated {c.gated}  skipped {c.skipped}",
        "  level          energy (uJ)   share    cycles",
    ]
    for level, lr in result.levels.items():
        share = lr.energy_pj / result.energy_pj * 100 if result.energy_pj else 0.0
        lines.append(f"  {level:<12} {lr.energy_pj / 1e6:13.3f} {share:7.1f}% {lr.cycles or 0:9d}")
    return "\n".join(lines)
