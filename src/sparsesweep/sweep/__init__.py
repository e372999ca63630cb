"""The sweep: every (layer, scheme, sides, sparsity, memory setting) point of a network, with tables,
plots and a claims report.

Modules: ``grid`` (the points), ``keys`` (content hashes), ``store`` (the result cache),
``worker`` (one mapping search), ``executors`` (inline, local processes, Dask), ``runner``
(render -> cache -> search -> outcomes), ``tables``, ``plots``, ``claims``, ``report`` and ``cli``.
This package file imports nothing heavy, so worker processes start quickly.  The package is
callable: ``sparsesweep.sweep(layers=["conv1"], ...)`` runs a sweep (see :func:`sparsesweep.api.sweep`).
"""

import inspect as _inspect
import sys as _sys
import types as _types

from ..api import sweep as _run_sweep


class _SweepPackage(_types.ModuleType):
    """This package, callable: ``sparsesweep.sweep(...)`` runs a sweep (:func:`sparsesweep.api.sweep`).

    The package and the function share the name ``sparsesweep.sweep``; making the package callable
    keeps ``import sparsesweep.sweep.cli`` and ``sparsesweep.sweep(layers=[...])`` both working."""

    __call__ = staticmethod(_run_sweep)


_sys.modules[__name__].__class__ = _SweepPackage
__signature__ = _inspect.signature(_run_sweep)  # what inspect and notebooks show for sparsesweep.sweep(...)
