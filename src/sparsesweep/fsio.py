"""Atomic file writes shared by the caches: a reader sees the old file or the new one, never a part."""

from __future__ import annotations

import os
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
