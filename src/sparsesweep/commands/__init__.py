"""Subcommands of the ``sparsesweep`` CLI (see :mod:`sparsesweep.cli`)."""
