"""One sweep from typed options to written outputs: what ``sweep.py``, ``sparsesweep sweep`` and
``sparsesweep.sweep()`` share.

:class:`SweepOptions` holds every option of the command line as a typed value;
:func:`execute` checks them, builds the grid, runs it (cache, executors) and writes the outputs
into ``options.out``.  User errors raise :class:`~sparsesweep.errors.SparsesweepError` before any
work starts; an interrupt raises :class:`~.runner.SweepInterrupted` with every finished point kept.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..backends.base import OBJECTIVES, BackendRegistry, Objective, SearchOptions
from ..errors import SparsesweepError, SpecError
from ..specs.paths import data_root
from .energies import EnergyPlan, plan_energies
from .executors import KeptExecutor, make_executor
from .grid import Grid, SweepConfig, build_grid
from .keys import code_fingerprint
from .outdir import OutDir
from .runner import SweepRun, run_grid
from .store import JOURNAL, Store, default_cache_dir

DEFAULT_OUT = "results"
DASK_ADDRESS = re.compile(r"(tcp|tls|ucx|ws|wss)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?/?")  # --dask: a scheduler's address
DEFAULT_TIME_LIMIT_S = 30.0


MAX_JOBS_PER_CORE = 4  # -j beyond this many workers per available core is refused (a typo like -j 100000)


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class SweepOptions:
    """Every sweep option (the command line's, as values)."""

    config: SweepConfig = field(default_factory=SweepConfig)  # what to sweep
    backend: str = "native"  # evaluation backend name (native, timeloop)
    objective: Objective = "edp"  # what the mapper minimises
    time_limit_s: float = DEFAULT_TIME_LIMIT_S  # wall-clock limit of one mapping search (s)
    seed: int = 0  # mapper seed
    jobs: int = field(default_factory=default_jobs)  # parallel workers (1 = in this process)
    dask: str | None = None  # 'local' or a scheduler address tcp://host:port
    out: Path = Path(DEFAULT_OUT)  # output folder
    cache: bool = True  # False: recompute every point (keeps a private journal so it still resumes)
    progress: bool = True  # progress bar on a terminal
    energy: str | None = None  # pinned, hwcomponents or scaled; None: scaled when an energy-relevant axis is swept
    break_even: bool = True  # measure break-even sparsities with extra points (breakeven.py)
    probes: bool = True  # evaluate the extra points untested claims need (probes.py)


@dataclass(frozen=True)
class SweepOutput:
    """A finished sweep: the run (grid, outcomes, statistics), its folder and the files written."""

    run: SweepRun
    out: Path
    files: list[Path]


def check_options(options: SweepOptions, registry: BackendRegistry) -> None:
    """One-line errors for option values the grid does not check."""
    if options.jobs < 1:
        raise SpecError(f"--jobs must be >= 1 (got {options.jobs})", key="--jobs", fix="use a positive number")
    cores = default_jobs()
    if options.jobs > MAX_JOBS_PER_CORE * cores and (options.dask is None or options.dask == "local"):
        raise SpecError(f"--jobs {options.jobs} would start {options.jobs} worker processes on {cores} core(s) (at most "
                        f"{MAX_JOBS_PER_CORE} per core: more only share the cores, and each search has less time "
                        "within --time-limit)", key="--jobs",
                        fix=f"use -j {cores} (the cores available) or up to {MAX_JOBS_PER_CORE * cores}")
    if options.objective not in OBJECTIVES:
        raise SpecError(f"unknown objective '{options.objective}'", key="--objective",
                        fix="use one of " + ", ".join(OBJECTIVES))
    SearchOptions(objective=options.objective, time_limit_s=options.time_limit_s, seed=options.seed)  # --seed ...
    if options.dask is not None and options.dask != "local" and not DASK_ADDRESS.fullmatch(options.dask):
        raise SpecError(f"'{options.dask}' is not a Dask scheduler address", key="--dask",
                        fix="use --dask local or --dask tcp://HOST:PORT (what 'dask scheduler' prints)")
    registry.check(options.backend)  # an unknown name is a one-line error with a suggestion


def execute(options: SweepOptions, registry: BackendRegistry, command: str) -> SweepOutput:
    """Run one sweep and write its outputs (``command`` is quoted in the report)."""
    check_options(options, registry)
    grid = build_grid(options.config)
    energy = plan_energies(grid, options.energy)  # every table before any point runs (one-line model errors)
    if options.backend == "timeloop" and not options.dask:  # fail once, not once per point
        from ..backends.tlrun import find_binary

        find_binary("timeloop-mapper")
    outdir = OutDir.claim(Path(options.out))  # refuses /, a foreign folder, a folder another sweep writes
    try:
        with few_full_collections():
            return _execute(options, registry, command, grid, outdir, energy)
    finally:
        outdir.close()


@contextmanager
def few_full_collections() -> Iterator[None]:
    """Python's full garbage collections walk every live object, and one runs each time the live objects
    grow by a quarter: a sweep that reads ten thousand records from the cache (each a few hundred
    objects, all kept) spent seconds in them.  While the sweep runs, only the young generations are
    collected (they free the short-lived cycles); the thresholds are restored after."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], max(before[2], 1_000_000))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _execute(options: SweepOptions, registry: BackendRegistry, command: str, grid: Grid, outdir: OutDir,
             energy: EnergyPlan | None) -> SweepOutput:
    out = outdir.path
    store = Store.open(out / JOURNAL, private=True) if not options.cache else Store.open(default_cache_dir())
    search = SearchOptions(objective=options.objective, time_limit_s=options.time_limit_s, seed=options.seed,
                           cache=options.cache)
    fingerprint = code_fingerprint()  # once per sweep: the break-even rounds run grids too
    # Worker processes that see the data folders render the points they search (in parallel); in one
    # process (-j 1) or on a remote scheduler the sweep renders them (and writes their inputs) first.
    local = options.dask == "local" or (options.dask is None and options.jobs > 1)
    # One set of workers for the grid, the break-even rounds and the claim and memory probes (started once).
    workers = KeptExecutor(lambda: make_executor(options.jobs, options.dask))
    try:
        run = run_grid(grid, backend=options.backend, options=search, registry=registry, store=store, out=outdir,
                       executor_factory=workers.get, progress=options.progress, fingerprint=fingerprint,
                       energy=energy, render_in_workers=local)
        from .breakeven import refine

        run = run if not options.break_even else refine(run, lambda more: run_grid(
            more, backend=options.backend, options=search, registry=registry, store=store, out=outdir,
            progress=False, executor_factory=workers.get, fingerprint=fingerprint, energy=energy,
            render_in_workers=local))
        if options.probes:
            from .probes import probe

            run = probe(run, lambda more: run_grid(
                more, backend=options.backend, options=search, registry=registry, store=store, out=outdir,
                progress=False, executor_factory=workers.get, fingerprint=fingerprint, energy=energy,
                render_in_workers=local))
            from .memprobes import probe as probe_memory

            run = probe_memory(run, lambda more, plan: run_grid(
                more, backend=options.backend, options=search, registry=registry, store=store, out=outdir,
                progress=False, executor_factory=workers.get, fingerprint=fingerprint, energy=plan,
                render_in_workers=local), options.energy)
    except BaseException:
        workers.close(cancel=True)
        raise
    workers.close()
    from .figcache import FigureCache
    from .outputs import write_outputs

    dropped = len(store.dropped)
    if dropped:  # the break-even points' records included
        print(f"warning: dropped {dropped} damaged cache record(s) and recomputed their points (first: "
              f"{store.dropped[0]})", file=sys.stderr)
    try:
        figures = FigureCache(None if store.private else store)  # --no-cache draws every plot
        files = outdir.publish(lambda staging: write_outputs(run, staging, command, _root(), figures),
                               [p.id for p in run.grid.points])
    except OSError as exc:
        raise SpecError(f"cannot write the outputs: {exc.strerror or exc}", file=out, key="--out",
                        fix="free some space or choose another --out; every point is cached, rerun to write them; "
                            "the previous outputs are untouched") from None
    if len(store.dropped) > dropped:
        print(f"warning: dropped {len(store.dropped) - dropped} damaged plot record(s) and drew the plots again "
              f"(first: {store.dropped[dropped]})", file=sys.stderr)
    if store.private:
        store.remove()
    return SweepOutput(run=run, out=out, files=files)


def _root() -> Path | None:
    try:
        return data_root()
    except SparsesweepError:
        return None
