"""Imported by each worker process of the sweep's ``--dask local`` cluster as it is created (a Dask
worker preload): the process's standard error goes to the executor's worker log instead of the
sweep's terminal.

Why: the worker processes inherit the sweep's standard error, and Dask itself prints there from
them, whatever its log level, e.g. when the sweep closes the cluster while a nanny is restarting a
worker that died (the new worker registers with the scheduler after the nanny told it to stop,
believes it is running again, and its exit raises ``ConnectionPool is closed``, which
``multiprocessing`` prints as a traceback).  The sweep reports every point such a worker held
itself, so nothing of Dask's reaches the user.  The log is a temporary file removed when the
cluster closes, unless ``$SPARSESWEEP_DASK_WORKER_LOG`` names one to keep.

Standard error is redirected at the file-descriptor level (``dup2``) so that output of native code
and of child processes goes there too.
"""

from __future__ import annotations

import os
import sys

LOG_ENV = "SPARSESWEEP_DASK_WORKER_LOG"  # the log's path, in the workers' environment (set by the executor)


def redirect_stderr(path: str) -> None:
    """Send this process's file descriptor 2 (and ``sys.stderr``) to ``path``, appending."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(fd, 2)
    finally:
        os.close(fd)


if os.environ.get(LOG_ENV):  # pragma: no branch - only ever imported in such a worker
    redirect_stderr(os.environ[LOG_ENV])
