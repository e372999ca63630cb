"""The ``sparsesweep`` command line.

Each subcommand lives in :mod:`sparsesweep.commands` as a module with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``.  User errors
(:class:`~sparsesweep.errors.SparsesweepError`) print one line and exit with code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import EXIT_USER_ERROR, SparsesweepError

# Subcommand name -> module under sparsesweep.commands.
COMMANDS: dict[str, str] = {
    "evaluate": "evaluate",
    "map": "map",
    "render": "render",
    "validate": "validate",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsesweep",
        description="Model structured vs unstructured and single- vs dual-sided sparsity on "
        "DNN accelerators with Timeloop/Sparseloop semantics.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__package__}.commands.{module_name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show full tracebacks on errors")
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args) or 0)
    except SparsesweepError as exc:
        if debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
