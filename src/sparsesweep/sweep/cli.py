"""``python sweep.py``: the whole study in one command (see the README, "The sweep").

Exit codes: 0 = every point evaluated; 2 = bad input (one line, nothing run) or some points failed
(every output is still written, failed points carry ``status: failed``); 130 = interrupted (every
finished point is kept; run the same command again to resume).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..backends.base import OBJECTIVES, BackendRegistry, SearchOptions, default_registry
from ..errors import EXIT_USER_ERROR, SparsesweepError, SpecError
from ..specs.paths import data_root
from .executors import make_executor
from .grid import DEFAULT_SPARSITIES, DEFAULT_WORKLOAD, SweepConfig, build_grid, default_schemes, parse_axis, \
    parse_fractions, parse_list
from .runner import SweepInterrupted, run_grid
from .store import CACHE_ENV, JOURNAL, Store, default_cache_dir

DEFAULT_OUT = "results"
DEFAULT_TIME_LIMIT_S = 30.0
EXIT_INTERRUPTED = 130


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def build_parser(backends: Sequence[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sweep.py", description="Sweep a network over sparsity schemes, sides, sparsities and memory sizes; "
        "write tables, plots and a claims report.",
        epilog=f"Outputs in --out: results.csv, summary.csv, *.png, report.md, run.json, points/<point>/. The cache "
               f"is ${CACHE_ENV} or the user cache folder ({default_cache_dir()}).")
    p.add_argument("--sparsity", default=",".join(f"{s:g}" for s in DEFAULT_SPARSITIES), metavar="S[,S...]",
                   help="weight sparsities; 0 is the dense baseline, which always runs (default: %(default)s)")
    p.add_argument("--act-sparsity", metavar="S[,S...]",
                   help="activation sparsities of dual-sided points (default: equal to the weight sparsity)")
    p.add_argument("--schemes", metavar="NAME[,NAME...]",
                   help="sparsity schemes: names in sparse_opt/ or files (default: "
                        f"{','.join(default_schemes('native'))} on the native backend, "
                        f"{','.join(default_schemes('timeloop'))} on timeloop)")
    p.add_argument("--sides", default="single,dual", metavar="SIDES",
                   help="single (weights only), dual (weights and activations), or both (default: %(default)s)")
    p.add_argument("--layers", metavar="NAME[,NAME...]", help="layers of the workload (default: all)")
    p.add_argument("--arch", action="append", default=[], metavar="FILE",
                   help="architecture file, for schemes of its topology (repeatable; default: arch/stc.yaml for dense "
                        "and structured, arch/dstc.yaml for unstructured)")
    p.add_argument("--workload", default=DEFAULT_WORKLOAD, metavar="FILE", help="workload file (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], dest="axes", metavar="NAME=V[,V...]",
                   help="sweep an architecture parameter over values, e.g. --set smem_kib=128,256,512 (repeatable; "
                        "axes are crossed)")
    p.add_argument("--backend", default="native", choices=list(backends), help="evaluation backend (default: native)")
    p.add_argument("--objective", default="edp", choices=OBJECTIVES, help="mapper objective (default: edp)")
    p.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, metavar="S",
                   help="wall-clock limit of one mapping search in seconds (default: %(default)g)")
    p.add_argument("--seed", type=int, default=0, help="mapper seed (default: 0)")
    p.add_argument("-j", "--jobs", type=int, default=default_jobs(), metavar="N",
                   help="parallel workers (default: the cores available, here %(default)s; 1 = in this process)")
    p.add_argument("--dask", metavar="ADDRESS|local",
                   help="run the searches on Dask: 'local' starts a LocalCluster of -j workers; tcp://host:port uses "
                        "a running scheduler")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--no-cache", action="store_true",
                   help="ignore the shared cache: recompute every point (an interrupted run still resumes)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return p


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    return SweepConfig(
        sparsities=tuple(parse_fractions(args.sparsity, "--sparsity")),
        schemes=tuple(parse_list(args.schemes, "--schemes")) if args.schemes else default_schemes(args.backend),
        sides=tuple(parse_list(args.sides, "--sides")),  # type: ignore[arg-type]
        layers=tuple(parse_list(args.layers, "--layers")) if args.layers else None,
        archs=tuple(args.arch), workload=args.workload,
        axes=tuple(parse_axis(text) for text in args.axes),
        act_sparsities=tuple(parse_fractions(args.act_sparsity, "--act-sparsity")) if args.act_sparsity else (),
    )


def main(argv: Sequence[str] | None = None, registry: BackendRegistry | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    registry = registry or default_registry()
    args = build_parser(registry.names()).parse_args(argv)
    try:
        return _run(args, argv, registry)
    except SweepInterrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:  # before or after the points ran: nothing computed is lost either way
        print("\ninterrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SparsesweepError as exc:
        if args.debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USER_ERROR


def _run(args: argparse.Namespace, argv: list[str], registry: BackendRegistry) -> int:
    if args.jobs < 1:
        raise SpecError(f"--jobs must be >= 1 (got {args.jobs})", key="--jobs", fix="use a positive number")
    if not args.time_limit > 0:
        raise SpecError(f"--time-limit must be > 0 (got {args.time_limit:g})", key="--time-limit",
                        fix="use a positive number of seconds")
    grid = build_grid(config_from_args(args))
    if args.backend == "timeloop" and not args.dask:  # fail once, not once per point (Dask workers have their own)
        from ..backends.tlrun import find_binary

        find_binary("timeloop-mapper")
    out = _writable(Path(args.out))
    store = Store.open(out / JOURNAL, private=True) if args.no_cache else Store.open(default_cache_dir())
    options = SearchOptions(objective=args.objective, time_limit_s=args.time_limit, seed=args.seed,
                            cache=not args.no_cache)
    run = run_grid(grid, backend=args.backend, options=options, registry=registry, store=store, out=out,
                   executor_factory=lambda: make_executor(args.jobs, args.dask), progress=not args.quiet)
    from . import pointdirs
    from .outputs import write_outputs

    pointdirs.prune(out, [p.id for p in grid.points])
    try:
        files = write_outputs(run, out, "python sweep.py " + shlex.join(argv), _root())
    except OSError as exc:
        raise SpecError(f"cannot write the outputs: {exc.strerror or exc}", file=out, key="--out",
                        fix="free some space or choose another --out; every point is cached, rerun to write them") from None
    if store.private:
        store.remove()
    stats = run.stats
    print(f"sweep: {stats.total} points ({stats.cached} cached, {stats.computed} computed on {stats.executor}) in "
          f"{stats.seconds:.1f} s; wrote {len(files)} files and points/ to {out}/ (report: {out / 'report.md'})",
          file=sys.stderr)
    if stats.failed:
        first = next(o for o in run.outcomes if o.record["status"] != "ok")
        print(f"error: {stats.failed} of {stats.total} points failed (first: {first.point.id}: "
              f"{first.record.get('error')}) (fix: see {out / 'report.md'} 'Failed points'; the status column of "
              f"{out / 'results.csv'})", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def _writable(out: Path) -> Path:
    """``--out``, created; a one-line error now rather than after the sweep."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".sweep-write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise SpecError(f"cannot write to the output folder: {exc.strerror or exc}", file=out, key="--out",
                        fix="choose a writable folder") from None
    return out


def _root() -> Path | None:
    try:
        return data_root()
    except SparsesweepError:
        return None
