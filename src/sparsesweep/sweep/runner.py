"""Run a grid: render -> cache lookup -> mapping search -> outcomes, losing nothing on interrupts.

For every point:

1. its ``spec_key`` is looked up in the store; on a miss the point goes to a worker, which renders it
   (``render_point``) and searches it; its rendered texts, ``info()`` and warnings come back and are
   stored under that key;
2. its ``result_key`` (rendered-input hash + backend + search options + code) is looked up; a hit
   is the point's outcome;
3. on a miss a :class:`~.worker.SearchTask` goes to the executor, together with those of the same
   layer and design under other ``--set`` values (a :class:`~.worker.GroupTask`, whose searches
   share the listing and access model of their mapspace); each finished search is written to the
   store at once (atomically), before anything else happens.

Rendering and parsing run in the workers, in parallel; this process looks up and writes the store
and the point folders.

So an interrupted sweep (Ctrl-C, SIGKILL, a crash) keeps every finished point, and running the same
command again recomputes only the rest: the results are those of an uninterrupted run.  Failed
points become outcomes with ``status: failed``; they never stop the sweep.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.base import BackendRegistry, SearchOptions
from ..errors import SparsesweepError
from ..result import Result
from ..signals import Terminated
from ..specs.mapper import MapperSettings
from . import keys, pointdirs
from .energies import EnergyPlan
from .executors import Executor, Handle
from .grid import Grid, PlannedPoint, point_id
from .outdir import OutDir
from .store import Keyed, Store
from .worker import GroupTask, RenderJob, SearchTask, render, run_group

GROUP_MAX = 32  # points searched together at most (see run_grid)

# SearchOptions.objective -> the rendered mapper block's metrics (what timeloop-mapper optimises).
MAPPER_METRICS: dict[str, list[str]] = {"energy": ["energy", "delay"], "cycles": ["delay", "energy"], "edp": ["edp"]}


@dataclass(frozen=True)
class Outcome:
    """What the sweep knows about one point."""

    point: PlannedPoint
    spec: dict[str, Any] | None  # the stored rendering (None when rendering failed)
    record: dict[str, Any]  # status, mapping, result or error
    cached: bool
    rows: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)  # its table rows,
    # kept by tables.results_frame (the break-even rounds, the probes and the outputs each tabulate every point)


@dataclass
class RunStats:
    total: int = 0
    cached: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0  # wall time of the run
    search_seconds: float = 0.0  # summed time of the searches computed in this run (all workers)
    search_cpu_seconds: float = 0.0  # their summed CPU time (in the worker processes)
    executor: str = "none (every point cached)"

    def add_round(self, extra: RunStats, points: int) -> None:
        """Count an extra round of ``points`` points (break-even, claim probes) into this run's stats."""
        self.total += points
        self.cached += extra.cached
        self.computed += extra.computed
        self.failed += extra.failed
        self.seconds += extra.seconds
        self.search_seconds += extra.search_seconds
        self.search_cpu_seconds += extra.search_cpu_seconds
        if extra.computed and not self.computed - extra.computed:  # the first searches: theirs
            self.executor = extra.executor


@dataclass(frozen=True)
class SweepRun:
    grid: Grid
    outcomes: list[Outcome]  # in grid order
    options: SearchOptions
    backend: str
    stats: RunStats
    warnings: list[str] = field(default_factory=list)
    energy: EnergyPlan | None = None  # None: every point used its arch's pinned ERT file


class SweepInterrupted(Exception):
    """Ctrl-C or SIGTERM: the finished points are stored; rerunning the command resumes."""

    def __init__(self, done: int, total: int, terminated: bool = False) -> None:
        super().__init__(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: {done} of {total} points are "
                         "done and kept; run the same command again to resume")
        self.done, self.total, self.terminated = done, total, terminated


def spec_problem(record: dict[str, Any]) -> str | None:
    """Why a stored rendering cannot be used (None when it can): shape, and its texts' hash."""
    files = record["files"]
    if not (isinstance(files, dict) and files and all(isinstance(v, str) for v in files.values())):
        return "no rendered files"
    if not (isinstance(record["info"], dict) and isinstance(record["warnings"], list)
            and isinstance(record["notes"], list) and isinstance(record["ert"], str)):
        return "malformed"
    if record["input_hash"] != keys.input_hash(files):
        return "its rendered files do not match its input hash (edited?)"
    return None


def result_problem(record: dict[str, Any], input_hash: str, macs: int | None = None) -> str | None:
    """Why a stored search outcome cannot be used: other inputs, bad shape, impossible or inconsistent
    numbers (``macs``: the point's MAC count, for the cycles bound)."""
    if record.get("input_hash") != input_hash:
        return "computed for other inputs than this point's"
    if record["status"] == "failed":
        return None if isinstance(record["error"], str) else "malformed error"
    if record["status"] != "ok" or not isinstance(record["mapping"], list):
        return "malformed"
    return Result.model_validate(record["result"]).physical_problem(macs)


def lost_worker_record(exc: BaseException) -> dict[str, Any]:
    """A point whose worker process died while it ran alone (killed by a signal or out of memory, e.g.)."""
    cause = " ".join(f"{type(exc).__name__}: {exc}".split())
    cause = cause if len(cause) <= 160 else cause[:157] + ".."
    return {"status": "failed", "error_type": "WorkerLost", "cacheable": False, "seconds": 0.0,
            "error": f"the worker process searching this point died, also when it ran alone (killed, e.g. out of "
                     f"memory; {cause}); rerun the sweep to try it again, with fewer -j if memory is short"}


def mapper_settings(objective: str) -> MapperSettings:
    return MapperSettings(optimization_metrics=MAPPER_METRICS[objective])  # type: ignore[arg-type]


def run_grid(grid: Grid, *, backend: str, options: SearchOptions, registry: BackendRegistry, store: Store,
             out: OutDir, executor_factory: Callable[[], Executor], progress: bool = True,
             fingerprint: str | None = None, energy: EnergyPlan | None = None,
             render_in_workers: bool = True) -> SweepRun:
    """Evaluate every point of ``grid`` (see the module docs); ``fingerprint`` defaults to the code's.

    ``out``: the claimed output folder; every point folder of the grid is recorded in its marker before
    any is written, so an interrupted run's folders (break-even rounds included) are known as the sweep's.
    ``energy``: the sweep's energy tables (:func:`~.energies.plan_energies`); default: pinned ERT files.
    ``render_in_workers``: False renders in this process (workers without the data folders: a remote
    Dask cluster).
    """
    start = time.perf_counter()
    out.will_write_points(p.id for p in grid.points)
    folder = out.path
    stats = RunStats(total=len(grid.points))
    fingerprint = fingerprint or keys.code_fingerprint()
    mapper = mapper_settings(options.objective)
    memo: dict[Any, Any] = {}  # file digests and specs' JSON, shared by the points' keys
    outcomes: dict[str, Outcome] = {}
    # handle -> the entries of its group, each with the executor that holds it
    pending: dict[Handle, list[tuple[Entry, Executor]]] = {}
    suspects: list[Entry] = []  # lost with a worker
    careful = False  # True while the suspects run one by one
    executor: Executor | None = None
    bar = _progress_bar(stats.total, progress)
    group: list[Entry] = []  # to search together
    inputs_written: set[str] = set()  # points whose folder has this run's inputs (their mapping comes last)

    def finish(point: PlannedPoint, spec: dict[str, Any] | None, key: str, record: dict[str, Any],
               cached: bool) -> None:
        if not cached and record.get("cacheable") and spec is not None:
            record = {**record, "input_hash": spec["input_hash"]}
            # first: nothing computed is lost after this line
            store.put_result(keys.result_payload(spec["input_hash"], backend, options, fingerprint), record)
        if spec is not None and not pointdirs.is_current(folder, point.id, key, record["status"]):
            pointdirs.write_point(folder, point.id, {} if point.id in inputs_written else spec["files"], key, record)
        outcomes[point.id] = Outcome(point, spec, record, cached)
        stats.cached += cached
        stats.computed += not cached
        stats.search_seconds += 0.0 if cached else float(record.get("seconds", 0.0))
        stats.search_cpu_seconds += 0.0 if cached else float(record.get("cpu_seconds", 0.0))
        stats.failed += record["status"] != "ok"
        bar.update(1)
        if stats.failed:
            bar.set_postfix(failed=stats.failed, refresh=False)

    def submit(entries: list[Entry]) -> None:
        nonlocal executor
        for fresh in (False, True):
            if executor is None:
                executor = executor_factory()
                stats.executor = executor.name
            try:
                handle = executor.submit(run_group, GroupTask(tuple(e.task for e in entries)))
                pending[handle] = [(e, executor) for e in entries]
                return
            except cf.BrokenExecutor:  # a worker died since the last look: start another pool
                if fresh:
                    raise
                retire(executor)

    def flush() -> None:
        if group:
            submit(list(group))
            group.clear()

    def retire(broken: Executor) -> None:
        """A dead pool takes no more work: close it and take back what it held, without waiting on it."""
        nonlocal executor
        broken.close(cancel=True)
        executor = None
        for handle, entries in list(pending.items()):
            if entries[0][1] is broken:
                del pending[handle]
                suspects.extend(e for e, _ in entries)

    def collect(handles: list[Handle]) -> None:
        for handle in handles:
            if handle not in pending:  # moved to the suspects when its pool broke
                continue
            entries = pending.pop(handle)
            owner = entries[0][1]
            try:
                records = handle.result()
            except Exception as exc:  # run_group never raises: the worker itself was lost
                if isinstance(exc, cf.BrokenExecutor) and owner is executor:
                    retire(owner)
                if not careful:  # the culprit is unknown (every queued point fails with the pool): retry alone
                    suspects.extend(e for e, _ in entries)
                    continue
                records = [lost_worker_record(exc)] * len(entries)
            for (entry, _owner), record in zip(entries, records):
                done(entry, dict(record))

    def done(entry: Entry, record: dict[str, Any]) -> None:
        """A searched point; one the worker rendered gets its rendering stored first."""
        spec, key = entry.spec, entry.key
        rendered = record.pop("spec", None)
        if spec is None:
            if rendered is None:  # rendering failed (or the worker was lost)
                finish(entry.point, None, "", record, cached=False)
                return
            spec = rendered
            store.put_spec(entry.made_for, spec)
            result_for = keys.result_keyed(spec["input_hash"], backend, options, fingerprint)
            key = result_for.key
            known = store.get_result(result_for, lambda r, h=spec["input_hash"]: result_problem(r, h))
            if known is not None:  # stored meanwhile (another point with the same inputs)
                finish(entry.point, spec, key, known, cached=True)
                return
        finish(entry.point, spec, key, record, cached=False)

    try:
        for point in sorted(grid.points, key=lambda p: (-p.layer.macs, group_key(p))):  # big layers first
            if group and (group_key(group[0].point) != group_key(point) or len(group) >= GROUP_MAX):
                flush()
            energies = energy.for_point(point) if energy else None
            made_for = keys.spec_keyed(point, mapper, fingerprint, memo, energies)
            spec, data = store.get_spec(made_for, spec_problem), None
            if spec is None and render_in_workers:  # the worker renders it (in parallel), then searches it
                job = RenderJob(point, mapper, energies)
                group.append(Entry(point, None, "", SearchTask(point.id, None, backend, options, registry, render=job),
                                   made_for))
                continue
            if spec is None:
                try:
                    spec, data = render(RenderJob(point, mapper, energies))
                except SparsesweepError as exc:
                    finish(point, None, "", {"status": "failed", "error": exc.one_line(),
                                             "error_type": type(exc).__name__}, cached=False)
                    continue
                store.put_spec(made_for, spec)
            result_for = keys.result_keyed(spec["input_hash"], backend, options, fingerprint)
            key = result_for.key
            record = store.get_result(result_for, lambda r, h=spec["input_hash"], m=point.arch.macs:
                                      result_problem(r, h, m))
            if record is not None:
                finish(point, spec, key, record, cached=True)
                continue
            pointdirs.write_point(folder, point.id, spec["files"], key, None)
            inputs_written.add(point.id)
            group.append(Entry(point, spec, key, SearchTask(point.id, data, backend, options, registry,
                                                            files=None if data else spec["files"]), made_for))
            collect([h for h in pending if h.done()])
        flush()
        while pending and executor is not None:
            current = executor
            try:
                for handle in current.as_completed(list(pending)):
                    collect([handle])
                    if executor is not current:  # it broke: what it held went to the suspects
                        break
            except cf.BrokenExecutor:  # (a Dask LocalCluster that lost every worker, while waiting)
                if executor is current:
                    retire(current)
        careful = True
        for entry in suspects:  # one at a time: a worker that dies now died of this point
            submit([entry])
            collect(list(pending))  # (waits for the one handle)
    except KeyboardInterrupt as exc:
        bar.close()
        if executor is not None:
            executor.close(cancel=True)
        raise SweepInterrupted(len(outcomes), stats.total, isinstance(exc, Terminated)) from None
    except BaseException:
        if executor is not None:
            executor.close(cancel=True)
        raise
    bar.close()
    if executor is not None:
        executor.close()
    stats.seconds = time.perf_counter() - start
    warnings = sorted({w for o in outcomes.values() if o.spec for w in o.spec.get("warnings", [])})
    return SweepRun(grid=grid, outcomes=[outcomes[p.id] for p in grid.points], options=options, backend=backend,
                    stats=stats, warnings=warnings, energy=energy)


@dataclass(frozen=True)
class Entry:
    """A point on its way to a worker."""

    point: PlannedPoint
    spec: dict[str, Any] | None  # its stored rendering (None: the worker renders it)
    key: str  # its result key ("" until it is rendered)
    task: SearchTask
    made_for: Keyed  # what its rendering is stored for


def group_key(point: PlannedPoint) -> tuple[str, str, str]:
    """Points searched together: one layer, design variant and scheme point, under any ``--set`` values."""
    return point.layer.name, point.design, point_id(point.layer, point.variant, (), point.design)


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="pt", desc="sweep", file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                disable=None if enabled else True,  # None: only on a terminal
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")
