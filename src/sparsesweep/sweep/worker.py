"""One mapping search, as a task a worker process (local or Dask) runs.

The task carries the rendered point as plain data (no files), the backend's name, the registry
that creates it and the search options, so a worker needs only the installed package.  The task
never raises: failures come back as a record with ``status: failed`` and a one-line ``error``.
User-caused failures (:class:`~sparsesweep.errors.SpecError`, including a
:class:`~sparsesweep.errors.MappingError` for a layer the arch cannot map) are deterministic and
``cacheable``; backend failures (missing binary, timeout) and unexpected exceptions are not, so a
rerun tries those points again.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..backends.base import BackendRegistry, SearchOptions
from ..energy.ert import Energies
from ..errors import SparsesweepError, SpecError
from ..inputs import SpecBundle, bundle_from_docs
from ..specs.mapper import MapperSettings


@dataclass(frozen=True)
class RenderJob:
    """What a worker needs to render a point the store has no rendering of (see :func:`render`)."""

    point: Any  # the PlannedPoint
    mapper: MapperSettings
    energies: Energies | None  # the point's energy tables (None: its arch's pinned ERT file)


@dataclass(frozen=True)
class SearchTask:
    point: str  # point id (for messages)
    data: Mapping[str, Any] | None  # the rendered bundle's top-level keys (None: from ``files`` or ``render``)
    backend: str
    options: SearchOptions
    registry: BackendRegistry
    files: Mapping[str, str] | None = None  # the stored rendered texts, parsed in the worker
    render: RenderJob | None = None  # not rendered yet: the worker renders it (its record carries ``spec``)


def run_search(task: SearchTask) -> dict[str, Any]:
    """Search the point's mapping with its backend; a record for the store (see the module docs).

    A task to render first gets its rendering as ``spec`` in the record, or, when rendering fails, a
    failed record without one."""
    cpu = time.process_time()
    task, spec = _prepared(task)
    if task.data is None:  # rendering failed: ``spec`` holds the failed record
        return {**spec, "cpu_seconds": time.process_time() - cpu}
    return {**_search(task), **({"spec": spec} if spec else {}), "cpu_seconds": time.process_time() - cpu}


def _prepared(task: SearchTask) -> tuple[SearchTask, dict[str, Any] | None]:
    """The task with its bundle data, and its rendering when the worker made it (or the failed record)."""
    if task.data is not None:
        return task, None
    try:
        if task.render is None:
            return replace(task, data=bundle_data(task.point, task.files or {})), None
        spec, data = render(task.render)
    except SparsesweepError as exc:
        return task, {"status": "failed", "error": exc.one_line(), "error_type": type(exc).__name__}
    return replace(task, data=data, render=None), spec


def render(job: RenderJob) -> tuple[dict[str, Any], dict[str, Any]]:
    """The spec record of a point (for the store) and its bundle data."""
    from ..render import render_point
    from . import keys

    point = job.point
    v = point.variant
    rendered = render_point(point.arch, point.layer, v.scheme, v.sides, v.sparsity, v.act_for(point.layer),
                            mapper=job.mapper, energies=job.energies)
    info = {**rendered.info(), "energy_source": rendered.energy_source, "area_um2": rendered.area_um2}
    record = {"input_hash": keys.input_hash(rendered.files), "files": dict(rendered.files), "info": info,
              "warnings": list(rendered.warnings), "notes": list(rendered.plan.notes),
              "ert": str(point.arch.ert_path(dense=v.scheme.kind == "dense"))}
    return record, dict(rendered.bundle.data)


def bundle_data(name: str, files: Mapping[str, str]) -> dict[str, Any]:
    """The bundle data of stored rendered texts (parsed as the renderer parses them back)."""
    from ..yamlio import parse_yaml_sections

    return dict(bundle_from_docs(name, [parse_yaml_sections(text, Path(name) / file)
                                        for file, text in files.items()]).data)


def _search(task: SearchTask) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        backend = task.registry.create(task.backend)
        found = backend.search(SpecBundle(name=task.point, data=dict(task.data)), task.options, None)
        return _record(task, found, start)
    except SparsesweepError as exc:
        return _failure(exc.one_line(), type(exc).__name__, isinstance(exc, SpecError), start)
    except Exception as exc:  # an engine or backend bug must not stop the sweep; report it
        return _bug(exc, start)


@dataclass(frozen=True)
class GroupTask:
    """Points of one layer and design under several memory settings (their searches share work)."""

    tasks: tuple[SearchTask, ...]


def run_group(group: GroupTask) -> list[dict[str, Any]]:
    """:func:`run_search` of every task, in order; on the native backend the points share the listing
    and access model of their mapspace (:func:`sparsesweep.mapper.search_group`), each still getting
    the mapping its own search finds."""
    tasks = group.tasks
    if len(tasks) == 1 or any(t.backend != "native" for t in tasks):
        return [run_search(t) for t in tasks]
    cpu = time.process_time()
    prepared = [_prepared(t) for t in tasks]
    searched = iter(_group(tuple(t for t, _ in prepared if t.data is not None)))
    records = []
    for task, spec in prepared:
        if task.data is None:  # rendering failed: ``spec`` is the failed record
            records.append(dict(spec or {}))
        else:
            records.append({**next(searched), **({"spec": spec} if spec else {})})
    share = (time.process_time() - cpu) / len(tasks)
    return [{**r, "cpu_seconds": share} for r in records]


def _group(tasks: tuple[SearchTask, ...]) -> list[dict[str, Any]]:
    if len(tasks) <= 1:
        return [_search(t) for t in tasks]
    from ..mapper import search_group

    start = time.perf_counter()
    try:
        found = search_group([SpecBundle(name=t.point, data=dict(t.data)) for t in tasks], tasks[0].options,
                             cache=tasks[0].options.cache)
    except Exception:  # an engine or mapper bug: each point alone, so that it fails only its own
        return [_search(t) for t in tasks]
    records = []
    share = (time.perf_counter() - start) / len(tasks)
    for task, one in zip(tasks, found):
        try:
            if isinstance(one, SparsesweepError):
                raise one
            records.append({**_record(task, one, start), "seconds": share})
        except SparsesweepError as exc:
            records.append({**_failure(exc.one_line(), type(exc).__name__, isinstance(exc, SpecError), start),
                            "seconds": share})
        except Exception as exc:
            records.append(_bug(exc, start))
    return records


def _record(task: SearchTask, found: Any, start: float) -> dict[str, Any]:
    problem = found.result.physical_problem()
    if problem:
        raise SpecError(f"{task.point}: the result is not physical ({problem})",
                        fix="check the bandwidths, sizes, energies and densities")
    record = {"status": "ok", "mapping": list(found.mapping), "result": found.result.to_json_dict(),
              "evaluated": found.evaluated, "seconds": time.perf_counter() - start, "cacheable": True}
    if task.backend == "native":
        known = found.extra.get("metadata_pj")  # the search's own evaluation of its mapping
        record["metadata_pj"] = dict(known) if isinstance(known, dict) else metadata_by_level(task, found.mapping)
    return record


def _bug(exc: Exception, start: float) -> dict[str, Any]:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    message = " ".join(f"{type(exc).__name__}: {exc}{at}".split())
    return _failure(message, type(exc).__name__, False, start)


def metadata_by_level(task: SearchTask, mapping: Any) -> dict[str, float]:
    """Per storage level, the metadata part of its energy (pJ) for the mapping found (native engine)."""
    from ..engine.context import context_for
    from ..engine.energy import metadata_energy
    from ..engine.model import evaluate_spec
    from ..tl import load_spec

    spec = load_spec(SpecBundle(name=task.point, data={**task.data, "mapping": list(mapping)}))
    evaluation = evaluate_spec(spec)
    costs = context_for(spec).costs
    return {level.name: sum(metadata_energy(t, cost) for t in row)
            for level, cost, row in zip(spec.arch.storage, costs, evaluation.tensors)}


def _failure(message: str, kind: str, cacheable: bool, start: float) -> dict[str, Any]:
    return {"status": "failed", "error": message, "error_type": kind, "seconds": time.perf_counter() - start,
            "cacheable": cacheable}


PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


def ignore_sigint() -> None:
    """Worker-process initializer: the parent handles Ctrl-C and stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pool_worker_init(sweep_pid: int) -> None:
    """Local-pool worker initializer: the sweep handles Ctrl-C and stops its workers itself; a worker
    whose sweep is gone (killed with SIGKILL, say) exits at once instead of lingering.

    SIGTERM keeps its default action: when a worker dies, the pool terminates the others with
    SIGTERM and waits for them, so a worker that ignored it would hang the sweep."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    try:  # Linux: the kernel kills us when our parent (the sweep with spawn, else its fork server) exits
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux; the watchdog below still works
        pass
    threading.Thread(target=_exit_with, args=(sweep_pid, parent), name="sweep-watchdog", daemon=True).start()


def _exit_with(sweep_pid: int, parent: int) -> None:
    # (The fork server, our parent, only exits once every worker has: so watch the sweep itself.)
    while True:
        time.sleep(PARENT_POLL_S)
        if not _alive(sweep_pid) or os.getppid() != parent:
            os._exit(1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - no /proc: ask the kernel
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # pragma: no cover - exists, not ours to signal
        pass
    return True
