"""The sweep: every (layer, scheme, sides, sparsity, memory setting) point of a network, with tables,
plots and a claims report.

Modules: ``grid`` (the points), ``keys`` (content hashes), ``store`` (the result cache),
``worker`` (one mapping search), ``executors`` (inline, local processes, Dask), ``runner``
(render -> cache -> search -> outcomes), ``tables``, ``plots``, ``claims``, ``report`` and ``cli``.
This package file imports nothing heavy, so worker processes start quickly.
"""
