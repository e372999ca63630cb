"""User-facing errors.

Every problem a user can cause (bad YAML, an unknown key, an impossible mapping, a
missing Timeloop binary, ...) is raised as a :class:`SparsesweepError`.  Its string
form is one line that names *where* (file, line, key path), *what* went wrong and
*how to fix it*.  The CLI prints that line, exits with code 2 and shows no traceback
unless ``--debug`` is given.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

EXIT_USER_ERROR = 2


class SparsesweepError(Exception):
    """An error caused by the user's input or environment, reported in one line."""

    def __init__(
        self,
        what: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        key: str | Sequence[str | int] | None = None,
        fix: str | None = None,
    ) -> None:
        self.what = what
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = format_key_path(key) if key is not None and not isinstance(key, str) else key
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.key:
            where = f"{where}: {self.key}" if where else self.key
        text = f"{where}: {self.what}" if where else self.what
        if self.fix:
            text += f" (fix: {self.fix})"
        return " ".join(text.split())  # guarantee a single line

    def located(self, *, file: str | Path | None = None, line: int | None = None) -> SparsesweepError:
        """A copy of this error with the file (and line) filled in when they were unknown."""
        return type(self)(
            self.what,
            file=self.file or file,
            line=self.line or line,
            key=self.key,
            fix=self.fix,
        )


class SpecError(SparsesweepError):
    """An input file (architecture, workload, scheme, Timeloop spec, ERT) is invalid."""


class MappingError(SpecError):
    """A mapping is illegal for the architecture and problem (factors, fanout, capacity)."""


class BackendError(SparsesweepError):
    """A backend could not run (missing binary, failure, timeout)."""


def format_key_path(path: Sequence[str | int]) -> str:
    """``("architecture", "subtree", 0, "name")`` -> ``architecture.subtree[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def suggest(name: str, choices: Iterable[str]) -> str:
    """A ``did you mean`` hint for a misspelled name, or a list of the valid names."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if len(options) <= 12:
        return "valid names: " + ", ".join(options)
    return f"{len(options)} valid names, e.g. " + ", ".join(options[:8])
