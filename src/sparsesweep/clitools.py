"""Command-line manners shared by ``sparsesweep`` and ``sweep.py``.

* :class:`OneLineParser`: an ``argparse`` parser whose usage errors are one line (``error: ...
  (fix: ...)``) with exit code 2, like every other user error;
* :func:`with_examples`: a help epilog that keeps the examples' line breaks;
* :func:`quiet_pipe`: runs a ``main`` so that a closed pipe (``... --json | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import NoReturn

from .errors import EXIT_USER_ERROR

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` with one-line usage errors and exit code 2 (sub-parsers inherit the class)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(EXIT_USER_ERROR, f"error: {self.prog}: {text} (fix: see '{self.prog} --help')\n")


def with_examples(text: str, examples: Sequence[str]) -> str:
    """An epilog: ``text`` (may be empty) then an ``examples:`` block, one command a line."""
    block = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return f"{textwrap.fill(text, width=100)}\n\n{block}" if text else block


def quiet_pipe(main: Callable[[], int]) -> int:
    """``main()``, but a reader that closed the pipe (``| head``) ends it quietly with code 141."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python would print an error when it flushes stdout at exit; point stdout at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
