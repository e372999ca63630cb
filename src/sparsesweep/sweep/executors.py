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
  A LocalCluster's worker processes write their standard error to a log, not the sweep's terminal
  (:mod:`.daskworker`).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from ..errors import BackendError
from . import daskworker
from .worker import pool_worker_init

DASK_CONNECT_TIMEOUT_S = 10
POLL_S = 1.0  # how often a wait on Dask checks that the LocalCluster still has workers
NO_WORKERS_S = 30.0  # a LocalCluster without workers this long is broken (its tasks would wait forever)


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


class _DaskHandle:
    """A Dask future behind the executor protocol; its result is fetched once, then the cluster forgets
    it (so a worker that dies later takes no finished result with it, which Dask would recompute)."""

    def __init__(self, future: Any, alive: Callable[[], None]) -> None:
        self.future: Any = future
        self._alive = alive  # raises BrokenExecutor when the cluster has lost its workers for good

    def done(self) -> bool:
        return self.future is None or self.future.done()

    def result(self) -> Any:
        from distributed import wait

        future = self.future
        try:
            # Wait first, then fetch once: a fetch (gather) that times out leaves Dask's inner waits
            # behind, and when the future is released they fail and asyncio prints their traceback.
            while True:
                try:
                    wait([future], timeout=POLL_S)
                    break
                except TimeoutError:
                    self._alive()
            return future.result()
        finally:
            self.future = None
            future.release()


class DaskExecutor:
    """Tasks on a Dask distributed cluster (a LocalCluster started here, or a running scheduler).

    A worker that dies (killed, out of memory) fails the tasks it ran with ``KilledWorker``; the
    runner then retries them one at a time, like a broken local pool's.  A LocalCluster's scheduler
    gives up on a task at the first death (``allowed_failures=0``: the runner does the retrying), a
    remote scheduler after its own ``allowed-failures`` setting.  LocalCluster workers exit when the
    sweep process is gone (Dask's nanny closes a pipe they watch)."""

    def __init__(self, address: str, jobs: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise BackendError("Dask distributed is not installed", key="--dask",
                               fix="pip install 'dask[distributed]'") from exc
        self._cluster: Any = None
        self._log: WorkerLog | None = None
        self._handles: list[_DaskHandle] = []
        self._no_workers_since: float | None = None
        # Dask logs every worker restart and lost task; the sweep reports those points itself.
        self._log_levels = _quiet_loggers("distributed")
        try:
            self._connect(address, jobs, Client, LocalCluster)
        except BaseException:
            _restore_loggers(self._log_levels)
            raise

    def _connect(self, address: str, jobs: int, Client: Any, LocalCluster: Any) -> None:  # noqa: N803
        if address == "local":
            self._log = WorkerLog()
            self._cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.CRITICAL,
                                         scheduler_kwargs={"allowed_failures": 0},
                                         preload=[daskworker.__name__], env={daskworker.LOG_ENV: str(self._log.path)})
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

    def _alive(self) -> None:
        """A LocalCluster whose workers all died and were not restarted (their nannies gave up, e.g. on a
        loaded machine) would leave its tasks waiting forever: after ``NO_WORKERS_S`` it is broken."""
        if self._cluster is None:
            return  # a remote scheduler's workers may come back; its tasks wait for them
        if self._client.scheduler_info().get("workers"):
            self._no_workers_since = None
            return
        now = time.monotonic()
        self._no_workers_since = self._no_workers_since or now
        if now - self._no_workers_since > NO_WORKERS_S:
            last = self._log.last_line() if self._log else ""
            raise cf.BrokenExecutor(f"every Dask worker died and none restarted within {NO_WORKERS_S:g} s"
                                    + (f" (the workers' last words: {last})" if last else ""))

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle:
        handle = _DaskHandle(self._client.submit(fn, arg, pure=False), self._alive)
        self._handles = [h for h in self._handles if h.future is not None]
        self._handles.append(handle)
        return handle

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]:
        from distributed import wait

        live = {h.future.key: h for h in handles if isinstance(h, _DaskHandle) and h.future is not None}
        waiting = [h.future for h in live.values()]
        while waiting:
            try:
                done, _ = wait(waiting, timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                self._alive()
                continue
            keys = {f.key for f in done}
            waiting = [f for f in waiting if f.key not in keys]
            for key in keys:
                yield live[key]

    def close(self, cancel: bool = False) -> None:
        try:
            if cancel:
                self._client.cancel([h.future for h in self._handles if h.future is not None], force=True)
            self._client.close()
        finally:
            self._handles = []
            try:
                if self._cluster is not None:
                    self._cluster.close()
            finally:
                _restore_loggers(self._log_levels)
                if self._log is not None:
                    self._log.remove()


LOG_PREFIX = "sparsesweep-dask-workers-"  # temporary worker logs: <prefix><pid of the sweep>-<random>.log


class WorkerLog:
    """Where the LocalCluster's worker processes write their standard error (see :mod:`.daskworker`):
    ``$SPARSESWEEP_DASK_WORKER_LOG`` if set (kept), else a temporary file removed at close.  A sweep
    killed before it could close (SIGKILL) leaves its temporary log behind: the next ``--dask local``
    sweep removes every such log whose sweep process no longer runs."""

    def __init__(self) -> None:
        given = os.environ.get(daskworker.LOG_ENV)
        self.keep = bool(given)
        if given:
            self.path = Path(given)
        else:
            remove_orphan_logs(Path(tempfile.gettempdir()))
            fd, name = tempfile.mkstemp(prefix=f"{LOG_PREFIX}{os.getpid()}-", suffix=".log")
            os.close(fd)
            self.path = Path(name)

    def last_line(self) -> str:
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            return ""
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return last if len(last) <= 200 else last[:197] + "..."

    def remove(self) -> None:
        if not self.keep:
            self.path.unlink(missing_ok=True)


def remove_orphan_logs(folder: Path) -> list[Path]:
    """Remove the temporary worker logs in ``folder`` whose sweep process is gone; returns them."""
    removed = []
    for path in folder.glob(f"{LOG_PREFIX}*-*.log"):
        pid = path.name.removeprefix(LOG_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            path.unlink()
        except OSError:  # another user's file, or already gone
            continue
        removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_WORKER_LOG_ENV = "DASK_LOGGING__DISTRIBUTED"  # read by the worker processes Dask spawns, at their start


def _quiet_loggers(prefix: str) -> dict[str, Any]:
    """Silence ``prefix`` and its child loggers (some carry their own level) here and in the worker
    processes started from now on; returns what to restore."""
    names = [prefix] + [n for n in logging.root.manager.loggerDict if n.startswith(prefix + ".")]
    levels: dict[str, Any] = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    levels[_WORKER_LOG_ENV] = os.environ.get(_WORKER_LOG_ENV)
    os.environ[_WORKER_LOG_ENV] = "critical"
    return levels


def _restore_loggers(levels: dict[str, Any]) -> None:
    for name, level in levels.items():
        if name == _WORKER_LOG_ENV:
            if level is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = level
        else:
            logging.getLogger(name).setLevel(level)


class KeptExecutor:
    """One executor for every round of a sweep (its grid, the break-even rounds, the claim probes), so
    that the worker processes start once and keep their imports and caches.  :meth:`get` is each
    round's ``executor_factory``: the round's ``close()`` leaves the executor running for the next
    round, ``close(cancel=True)`` (a broken pool, Ctrl-C) stops it and the next ``get`` makes a new
    one.  :meth:`close` stops it at the end of the sweep."""

    def __init__(self, make: Callable[[], Executor]) -> None:
        self._make = make
        self._kept: _Kept | None = None

    def get(self) -> Executor:
        if self._kept is None:
            self._kept = _Kept(self._make(), self)
        return self._kept

    def close(self, cancel: bool = False) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            kept.inner.close(cancel)

    def _lost(self, kept: _Kept) -> None:
        if self._kept is kept:
            self._kept = None


class _Kept:
    """A round's view of the kept executor (a new one per underlying executor, so that a round tells
    a broken pool's handles from its successor's)."""

    def __init__(self, inner: Executor, owner: KeptExecutor) -> None:
        self.inner, self._owner, self.name = inner, owner, inner.name

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Handle:
        return self.inner.submit(fn, arg)

    def as_completed(self, handles: Iterable[Handle]) -> Iterator[Handle]:
        return self.inner.as_completed(handles)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self._owner._lost(self)
            self.inner.close(cancel=True)


def make_executor(jobs: int, dask: str | None) -> Executor:
    """The executor the options ask for (``-j``, ``--dask``)."""
    if dask:
        return DaskExecutor(dask, jobs)
    if jobs <= 1:
        return InlineExecutor()
    return LocalPoolExecutor(jobs)
