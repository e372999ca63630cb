"""File-system helpers: atomic writes shared by the caches (a reader sees the old file or the new one,
never a part), and what a path that cannot be read as a file really is."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str, prefix: str = ".tmp-") -> None:
    """Write ``text`` to ``path`` through a temporary file (``<prefix>...tmp`` in the same folder) and
    a rename.  Raises :class:`OSError` (the temporary file is removed); callers decide what it means."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file ("not found", "is a folder", "is not a regular file
    (a device, pipe or socket)"), or None when it is a regular file.  A device or pipe is refused: its
    size cannot be bounded (``/dev/zero`` never ends) and ``/dev/null`` would read as an empty file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except OSError as exc:  # a symlink loop, a name too long, no permission to look
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    return "is not a regular file (a device, pipe or socket)"
