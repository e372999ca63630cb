"""Plots kept in the sweep's store, keyed by what they are drawn from, so a warm sweep copies them.

Drawing the plots is most of a warm sweep's time (matplotlib lays out and renders every tick and
bar), and a warm sweep's plots are those of the last run with the same tables.  So each group of
plots (:meth:`FigureCache.draw`) is stored as one record (``figures/<key>.json``: the PNG files'
names and bytes) under a key of everything the drawing reads:

* its input tables (column names, dtypes, index and every value: :func:`frame_digest`) and its other
  arguments (reference setting, titles, notes);
* the source of the sweep's modules (the plotting code and the helpers it calls), and the versions
  of matplotlib, numpy and pandas;
* matplotlib's settings: the bytes of every ``matplotlibrc`` it would read, and its ``rcParams``
  when a caller changed them since (read when the first plot is looked up).

A hit writes the stored bytes: the same files a fresh drawing gives.  The store checks the record
like every other (checksum, what it was made for); a record whose files are not plain PNG names and
PNG bytes is dropped and the plots are drawn again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .store import Store

SWEEP_CODE = Path(__file__).resolve().parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.png")


class FigureCache:
    """Draw plots once per set of inputs (see the module docs); ``store=None`` always draws."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.hits = 0
        self._settings: str | None = None  # matplotlib's, read once: drawing imports it midway

    def draw(self, out: Path, inputs: Sequence[Any], make: Callable[[], list[Path]]) -> list[Path]:
        """The files ``make()`` writes into ``out`` (it returns their paths), from the store when it
        holds them for the same ``inputs`` (tables, and JSON-able values)."""
        if self.store is None:
            return make()
        try:
            self._settings = self._settings or _matplotlib_digest()
            made_for = {"figures": [_value_digest(v) for v in inputs], "code": _code_digest(),
                        "matplotlib": self._settings}
        except (TypeError, ValueError):  # a table that cannot be hashed: draw it
            return make()
        record = self.store.get_figures(made_for, _figures_problem)
        if record is not None:
            paths = []
            for name, text in record["files"]:
                (out / name).write_bytes(base64.b64decode(text))
                paths.append(out / name)
            self.hits += 1
            return paths
        paths = make()
        if all(p.parent == out and _NAME.fullmatch(p.name) for p in paths):
            self.store.put_figures(made_for, {"files": [[p.name, base64.b64encode(p.read_bytes()).decode("ascii")]
                                                        for p in paths]})
        return paths


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a table: its column names, dtypes, index and values."""
    h = hashlib.sha256(json.dumps([[str(c) for c in frame.columns], [str(t) for t in frame.dtypes],
                                   [str(n) for n in frame.index.names], len(frame)]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True, categorize=False).to_numpy().tobytes())
    for column in frame.columns:  # per column too: hash_pandas_object combines a row's values
        h.update(pd.util.hash_pandas_object(frame[column], index=False, categorize=False).to_numpy().tobytes())
    return h.hexdigest()


def _value_digest(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return frame_digest(value)
    if isinstance(value, pd.Series):
        return frame_digest(value.to_frame())
    if isinstance(value, (list, tuple)):
        return [_value_digest(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value_digest(v) for k, v in value.items()}
    json.dumps(value, allow_nan=True)  # a TypeError for anything else
    return value


@cache
def _code_digest() -> str:
    """The sweep's modules (plots, tables, claims helpers) and the libraries that draw."""
    h = hashlib.sha256()
    for path in sorted(SWEEP_CODE.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("matplotlib", "numpy", "pandas", "pillow"):
        try:
            h.update(f"{package}={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{package}=?\0".encode())
    return h.hexdigest()


def _matplotlib_digest() -> str:
    """matplotlib's settings: the bytes of every ``matplotlibrc`` it reads, and ``rcParams`` when it is
    imported and they differ from what it read (a caller changed them)."""
    h = hashlib.sha256(b"rcfiles\0")
    for path in _rc_candidates():
        try:
            h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            continue
    for name in ("MPLBACKEND", "MPLCONFIGDIR", "MATPLOTLIBRC"):
        h.update(f"{name}={os.environ.get(name, '')}\0".encode())
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        now, read = (sorted((k, repr(v)) for k, v in dict.items(params) if not k.startswith("backend"))
                     for params in (matplotlib.rcParams, matplotlib.rcParamsOrig))
        if now != read:
            h.update(json.dumps(["rcParams", now]).encode())
    return h.hexdigest()


def _rc_candidates() -> list[Path]:
    """Where matplotlib looks for ``matplotlibrc`` (its working folder, ``$MATPLOTLIBRC``, its config
    folder); hashing all that exist keys on whichever it reads."""
    found = [Path.cwd() / "matplotlibrc"]
    if os.environ.get("MATPLOTLIBRC"):
        rc = Path(os.environ["MATPLOTLIBRC"])
        found += [rc, rc / "matplotlibrc"]
    config = os.environ.get("MPLCONFIGDIR") or str(
        Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "matplotlib")
    found.append(Path(config) / "matplotlibrc")
    return [p for p in found if p.is_file()]


def _figures_problem(record: dict[str, Any]) -> str | None:
    files = record["files"]
    if not isinstance(files, list):
        return "malformed"
    for item in files:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], str)
                and _NAME.fullmatch(item[0])):
            return "not a list of plot files"
        if not base64.b64decode(item[1], validate=True).startswith(PNG_MAGIC):
            return f"{item[0]} is not a PNG"
    return None
