"""``python sweep.py``: the whole study in one command (see the README, "The sweep").

Exit codes: 0 = every point evaluated; 2 = bad input (one line, nothing run) or some points failed
(every output is still written, failed points carry ``status: failed``); 130 = interrupted (Ctrl-C),
143 = terminated (SIGTERM): every finished point is kept; run the same command again to resume.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..backends.base import OBJECTIVES, BackendRegistry, default_registry
from ..clitools import OneLineParser, quiet_pipe, with_examples
from ..energy.ert import SOURCES
from ..errors import EXIT_USER_ERROR, SparsesweepError, SpecError
from ..specs.scheme import Sides
from ..signals import EXIT_INTERRUPTED, EXIT_TERMINATED, exit_code, sigterm_as_interrupt
from .grid import DEFAULT_SPARSITIES, DEFAULT_WORKLOAD, SweepConfig, default_schemes, parse_axis, parse_fractions, \
    parse_list
from .acts import WORKLOAD
from .runner import SweepInterrupted
from .session import DEFAULT_OUT, DEFAULT_TIME_LIMIT_S, SweepOptions, default_jobs, execute
from .store import CACHE_ENV, default_cache_dir

DESCRIPTION = ("Sweep a network over sparsity schemes, sides, sparsities and memory sizes; write tables, plots and "
               "a claims report.")
EXAMPLES = (
    "python sweep.py --sparsity 0,0.5,0.667,0.75",
    "sparsesweep sweep --layers 'conv3_*' --sparsity 0,0.5 --out out/conv3",
    "sparsesweep sweep --set smem_kib=128,256,512 --set lrf_metadata_bits=x0.5,x1,x2",
)


def epilog() -> str:
    return with_examples(
        "Outputs in --out: results.csv, summary.csv, *.png, report.md, run.json, points/<point>/. The cache is "
        f"${CACHE_ENV} or the user cache folder ({default_cache_dir()}).", EXAMPLES)


def build_parser(backends: Sequence[str], prog: str = "sweep.py") -> argparse.ArgumentParser:
    """``sweep.py``'s parser (``sparsesweep sweep`` adds the same arguments with :func:`add_arguments`)."""
    p = OneLineParser(prog=prog, description=DESCRIPTION, epilog=epilog())
    add_arguments(p, backends)
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return p


def add_arguments(p: argparse.ArgumentParser, backends: Sequence[str]) -> None:
    """Every sweep option (shared by ``sweep.py`` and ``sparsesweep sweep``)."""
    p.add_argument("--sparsity", default=",".join(f"{s:g}" for s in DEFAULT_SPARSITIES), metavar="S[,S...]",
                   help="weight sparsities; 0 is the dense baseline, which always runs (default: %(default)s)")
    p.add_argument("--act-sparsity", metavar="S[,S...]|workload",
                   help="activation sparsities of dual-sided points, an axis crossed with --sparsity; 'workload' = "
                        "each layer's activation_density from the workload file (default: equal to the weight "
                        "sparsity)")
    p.add_argument("--schemes", metavar="NAME[,NAME...]",
                   help="sparsity schemes: names in sparse_opt/ or files (default: "
                        f"{','.join(default_schemes('native'))} on the native backend, "
                        f"{','.join(default_schemes('timeloop'))} on timeloop)")
    p.add_argument("--sides", default="single,dual", metavar="SIDES",
                   help="single (weights only), dual (weights and activations), or both (default: %(default)s)")
    p.add_argument("--layers", metavar="NAME[,NAME...]",
                   help="layers of the workload, by name or shell-style pattern, e.g. 'conv3_*' (default: all; "
                        "'sparsesweep layers' lists them)")
    p.add_argument("--arch", action="append", default=[], metavar="[LABEL=]FILE",
                   help="architecture file, for schemes of its topology (repeatable; default: arch/stc.yaml for dense "
                        "and structured, arch/dstc.yaml for unstructured); LABEL=FILE adds a design variant, e.g. "
                        "--arch big_rf=arch/stc_rf4k.yaml")
    p.add_argument("--workload", default=DEFAULT_WORKLOAD, metavar="FILE", help="workload file (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], dest="axes", metavar="NAME=V[,V...]",
                   help="sweep an architecture parameter over values, e.g. --set smem_kib=128,256,512 (repeatable; "
                        "axes are crossed); A,B=a1:b1,a2:b2 moves two together, e.g. "
                        "--set smem_kib,smem_metadata_kib=128:32,256:64")
    p.add_argument("--energy", choices=SOURCES, default=None,
                   help="energy source for the whole sweep: pinned (the arch's ERT files), hwcomponents (component "
                        "models), scaled (pinned x the models' ratio to the pinned reference) (default: scaled when "
                        "--set changes a memory size, width or the technology, else pinned)")
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
    p.add_argument("--no-break-even", action="store_true",
                   help="do not evaluate the extra sparsities that measure break-evens to within 0.01")
    p.add_argument("--no-probes", action="store_true",
                   help="do not evaluate the extra points (claim probes) that claims the grid cannot test need")


def parse_sides(text: str) -> tuple[Sides, ...]:
    """``single``, ``dual``, ``single,dual`` or ``both`` (= single,dual)."""
    items = parse_list(text, "--sides")
    return ("single", "dual") if items == ["both"] else tuple(items)  # type: ignore[return-value]


def config_from_args(args: argparse.Namespace) -> SweepConfig:
    return SweepConfig(
        sparsities=tuple(parse_fractions(args.sparsity, "--sparsity")),
        schemes=tuple(parse_list(args.schemes, "--schemes")) if args.schemes is not None else default_schemes(args.backend),
        sides=parse_sides(args.sides),
        layers=tuple(parse_list(args.layers, "--layers")) if args.layers is not None else None,
        archs=tuple(args.arch), workload=args.workload,
        axes=tuple(parse_axis(text) for text in args.axes),
        act_sparsities=parse_act_sparsities(args.act_sparsity),
        act_from_workload=args.act_sparsity is not None and args.act_sparsity.strip() == WORKLOAD,
    )


def parse_act_sparsities(text: str | None) -> tuple[float, ...]:
    """``--act-sparsity``: numbers, or ``workload`` alone (then no numbers)."""
    if text is None or text.strip() == WORKLOAD:
        return ()
    if WORKLOAD in [item.strip() for item in text.split(",")]:
        raise SpecError(f"'{text}' mixes '{WORKLOAD}' with numbers", key="--act-sparsity",
                        fix="give activation sparsities (e.g. 0.3,0.5) or 'workload' alone")
    return tuple(parse_fractions(text, "--act-sparsity"))


def options_from_args(args: argparse.Namespace) -> SweepOptions:
    return SweepOptions(config=config_from_args(args), backend=args.backend, objective=args.objective,
                        time_limit_s=args.time_limit, seed=args.seed, jobs=args.jobs, dask=args.dask,
                        out=Path(args.out), cache=not args.no_cache, progress=not args.quiet, energy=args.energy,
                        break_even=not args.no_break_even, probes=not args.no_probes)


def main(argv: Sequence[str] | None = None, registry: BackendRegistry | None = None) -> int:
    """``python sweep.py ARGS``; returns the exit code (a closed output pipe ends quietly)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    registry = registry or default_registry()

    def parse_and_run() -> int:
        args = build_parser(registry.names()).parse_args(argv)
        return run_parsed(args, "python sweep.py " + shlex.join(argv), registry)

    return quiet_pipe(parse_and_run)


def run_parsed(args: argparse.Namespace, command: str, registry: BackendRegistry) -> int:
    """Run a parsed sweep command line; returns the exit code (errors are one line)."""
    try:
        with sigterm_as_interrupt():
            return _run(args, command, registry)
    except SweepInterrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return EXIT_TERMINATED if exc.terminated else EXIT_INTERRUPTED
    except KeyboardInterrupt as exc:  # before or after the points ran: nothing computed is lost either way
        code = exit_code(exc)
        print(f"\n{'terminated (SIGTERM)' if code == EXIT_TERMINATED else 'interrupted'}; run the same command "
              "again to resume", file=sys.stderr)
        return code
    except SparsesweepError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USER_ERROR


def _run(args: argparse.Namespace, command: str, registry: BackendRegistry) -> int:
    done = execute(options_from_args(args), registry, command)
    run, out = done.run, done.out
    stats = run.stats
    print(f"sweep: {stats.total} points ({stats.cached} cached, {stats.computed} computed on {stats.executor}) in "
          f"{stats.seconds:.1f} s; wrote {len(done.files)} files and points/ to {out}/ (report: {out / 'report.md'})",
          file=sys.stderr)
    if stats.failed:
        first = next(o for o in run.outcomes if o.record["status"] != "ok")
        print(f"error: {stats.failed} of {stats.total} points failed (first: {first.point.id}: "
              f"{first.record.get('error')}) (fix: see {out / 'report.md'} 'Failed points'; the status column of "
              f"{out / 'results.csv'})", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0
