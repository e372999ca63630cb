"""Where mapping searches run: in this process, in a local process pool, or on a Dask cluster.

Every executor has the same three operations: ``submit(fn, arg)`` returns a future-like handle
(``done()``, ``result()``), ``as_completed(handles)`` yields handles as they finish, and
``close(cancel)`` stops it (``cancel=True`` abandons unfinished work, e.g. on Ctrl-C).

* :class:`InlineExecutor` (``-j 1``): runs each task at submit time; deterministic, no processes.
* :class:`LocalPoolExecutor` (``-j N``): ``N`` worker processes (``forkserver`` where available,
  else ``spawn``), which ignore SIGINT so that the sweep stops them itself, and exit on their own
  when the sweep process is gone (killed with SIGKILL, say).
* :class:`DaskExecutor` (``--dask local`` or ``--dask tcp://host:port``): a ``LocalCluster`` of
  ``N`` single-threaded worker processes started for the sweep, or a running scheduler, whose
  workers must have sparsesweep installed (tasks carry the rendered inputs, so no shared files).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from ..errors import BackendError
from .worker import pool_worker_init

DASK_CONNECT_TIMEOUT_S = 10


class Handle(Protocol):
    def done(self) -> bool: ...

    def result(self) -> Any: ...


class Executor(Protocol):
    name: str

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle: ...

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]: ...

    def close(self, cancel: bool = False) -> None: ...


class InlineExecutor:
    """Runs every task immediately in this process."""

    name = "inline"

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle:
        future: cf.Future[Any] = cf.Future()
        future.set_result(fn(arg))
        return future

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]:
        return iter(list(handles))

    def close(self, cancel: bool = False) -> None:
        return None


class LocalPoolExecutor:
    """A pool of worker processes on this machine."""

    def __init__(self, jobs: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["sparsesweep.sweep.worker", "sparsesweep.backends.native"])
        self.name = f"{jobs} local processes"
        self._pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=pool_worker_init,
                                            initargs=(os.getpid(),))

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle:
        return self._pool.submit(fn, arg)

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]:
        return cf.as_completed(list(handles))  # type: ignore[arg-type]

    def close(self, cancel: bool = False) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # running searches are abandoned: their points rerun next time
            process.kill()
        for process in processes:
            process.join(timeout=5)


class DaskExecutor:
    """Tasks on a Dask distributed cluster (a LocalCluster started here, or a running scheduler)."""

    def __init__(self, address: str, jobs: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise BackendError("Dask distributed is not installed", key="--dask",
                               fix="pip install 'dask[distributed]'") from exc
        self._cluster: Any = None
        self._submitted: list[Any] = []
        if address == "local":
            self._cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
            self.name = f"Dask LocalCluster ({jobs} workers)"
        else:
            try:
                self._client = Client(address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise BackendError(f"cannot reach the Dask scheduler at {address}: {exc}", key="--dask",
                                   fix="start one ('dask scheduler' and 'dask worker ADDRESS'), check the "
                                       "address (tcp://host:port), or use --dask local") from None
            workers = len(self._client.scheduler_info().get("workers", {}))
            self.name = f"Dask scheduler {address} ({workers} workers)"

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle:
        future = self._client.submit(fn, arg, pure=False)
        self._submitted.append(future)
        return future

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]:
        from distributed import as_completed

        return iter(as_completed(list(handles)))

    def close(self, cancel: bool = False) -> None:
        try:
            if cancel:
                self._client.cancel([f for f in self._submitted if not f.done()], force=True)
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def make_executor(jobs: int, dask: str | None) -> Executor:
    """The executor the options ask for (``-j``, ``--dask``)."""
    if dask:
        return DaskExecutor(dask, jobs)
    if jobs <= 1:
        return InlineExecutor()
    return LocalPoolExecutor(jobs)
