"""The ``sparsesweep`` command line (also ``python -m sparsesweep``).

Each subcommand lives in :mod:`sparsesweep.commands` as a module with ``HELP``,
``add_arguments(parser)``, ``run(args) -> int`` and optionally ``EPILOG`` (shown by ``--help``,
with examples).  User errors (:class:`~sparsesweep.errors.SparsesweepError`) and usage errors
print one line and exit with code 2; ``--debug`` shows the traceback instead.  A closed output
pipe (``... --json | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Sequence

from .clitools import OneLineParser, quiet_pipe, with_examples
from .errors import EXIT_USER_ERROR, SparsesweepError
from .signals import EXIT_TERMINATED, exit_code, sigterm_as_interrupt

# Subcommand name -> module under sparsesweep.commands.
COMMANDS: dict[str, str] = {
    "sweep": "sweep",
    "ert": "ert",
    "evaluate": "evaluate",
    "map": "map",
    "render": "render",
    "layers": "layers",
    "compare": "compare",
    "validate": "validate",
}
EXAMPLES = (
    "sparsesweep sweep --sparsity 0,0.5,0.667,0.75",
    "sparsesweep layers",
    "sparsesweep evaluate input.yaml ERT.yaml mapping.yaml",
    "sparsesweep map points/conv1-structured-dual-s0.5 --objective edp",
    "sparsesweep compare results/ results-big-rf/",
    "sparsesweep COMMAND --help",
)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="sparsesweep",
        description="Model structured vs unstructured and single- vs dual-sided sparsity on "
        "DNN accelerators with Timeloop/Sparseloop semantics.",
        epilog=with_examples("", EXAMPLES),
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__package__}.commands.{module_name}")
        epilog = getattr(module, "EPILOG", None)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP,
                             epilog=epilog() if callable(epilog) else epilog)
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show full tracebacks on errors")
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``sparsesweep ARGS``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return quiet_pipe(lambda: _main(argv))


def _main(argv: list[str]) -> int:
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        args.command_line = "sparsesweep " + shlex.join(argv)
        with sigterm_as_interrupt():
            return int(args.run(args) or 0)
    except SparsesweepError as exc:
        if debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        code = exit_code(exc)
        print("terminated (SIGTERM)" if code == EXIT_TERMINATED else "interrupted", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
