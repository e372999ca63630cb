"""``sparsesweep sweep``: the sweep of ``sweep.py`` (same options, same outputs)."""

from __future__ import annotations

import argparse

from ..backends.base import default_registry
from ..sweep import cli as sweep_cli

HELP = sweep_cli.DESCRIPTION
EPILOG = sweep_cli.epilog


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sweep_cli.add_arguments(parser, default_registry().names())


def run(args: argparse.Namespace) -> int:
    return sweep_cli.run_parsed(args, args.command_line, default_registry())
