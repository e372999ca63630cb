"""On-disk cache of search results, keyed by a content hash of everything that changes them.

The key covers the point's inputs (architecture, problem, sparse optimizations, ERT,
constraints and a starting mapping, i.e. every top-level key except the Timeloop ``mapper:``
settings, which only the timeloop backend reads), the objective, the seed, the backend and
a fingerprint of the model and mapper source code.  A result found under a time limit is
reused only for the same or a shorter limit.  Folder: ``$SPARSESWEEP_CACHE_DIR`` when set,
else the platform's user cache folder for ``sparsesweep``; one JSON file per key.

A record carries what it was made for (``for``: the hash of the inputs, the backend, objective,
seed, code and format, whose hash is its key) and a checksum of its content.  It is served only
when its ``for`` is exactly the lookup's, its checksum matches and its numbers are physical; else
it is dropped with a warning and the search runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs

from ..backends.base import SearchOptions, SearchResult
from ..fsio import write_text_atomic
from ..inputs import SpecBundle
from ..result import Result

ENV = "SPARSESWEEP_CACHE_DIR"
FORMAT = 2
_CODE_DIRS = ("engine", "mapper", "tl")


def cache_dir() -> Path:
    root = os.environ.get(ENV)
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("sparsesweep"))
    return base / "mapper"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the source files whose behaviour the cached results depend on."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in _CODE_DIRS:
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def made_for(bundle: SpecBundle, options: SearchOptions, backend: str) -> dict[str, Any]:
    """What a search result depends on; its cache key is the hash of this."""
    inputs = {k: v for k, v in bundle.data.items() if backend != "native" or k != "mapper"}
    return {"format": FORMAT, "code": code_fingerprint(), "backend": backend, "objective": options.objective,
            "seed": options.seed, "inputs": _hash(inputs)}


def cache_key(bundle: SpecBundle, options: SearchOptions, backend: str) -> str:
    return _hash(made_for(bundle, options, backend))


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cached_search(bundle: SpecBundle, options: SearchOptions, backend: str,
                  run: Callable[[], SearchResult], folder: Path | None = None) -> SearchResult:
    """``run()`` unless a usable cached result exists; stores what ``run()`` returns."""
    hit, save = lookup(bundle, options, backend, folder)
    if hit is not None:
        return hit
    result = run()
    save(result)
    return result


def lookup(bundle: SpecBundle, options: SearchOptions, backend: str,
           folder: Path | None = None) -> tuple[SearchResult | None, Callable[[SearchResult], None]]:
    """A usable cached result (or None) and the function that stores a computed one."""
    folder = folder or cache_dir()
    wanted = made_for(bundle, options, backend)
    key = _hash(wanted)
    path = folder / f"{key}.json"
    return _load(path, options, wanted), lambda result: _store(path, key, wanted, options, result)


def _load(path: Path, options: SearchOptions, wanted: dict[str, Any]) -> SearchResult | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        data = json.loads(text)
        if data["key"] != path.stem or not isinstance(data["mapping"], list) or not isinstance(data["extra"], dict):
            raise ValueError("not the record of its key")
        if data["digest"] != _hash({k: v for k, v in data.items() if k != "digest"}):
            raise ValueError("its content does not match its checksum (edited or damaged)")
        if data["for"] != wanted or _hash(data["for"]) != path.stem:
            raise ValueError("it was not made for the inputs it would be served for")
        result = Result.model_validate(data["result"])
        problem = result.physical_problem()
        if problem:
            raise ValueError(problem)
        limited = bool(data["extra"].get("time_limited", False))
        if limited and options.time_limit_s > float(data["time_limit_s"]):
            return None  # a longer search may do better
        return SearchResult(mapping=data["mapping"], result=result,
                            evaluated=int(data["evaluated"]), seconds=float(data["seconds"]),
                            extra={**data["extra"], "cached": True, "cache_file": str(path)})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # damaged or tampered: recompute
        print(f"warning: {path}: dropped a damaged mapper cache record ({' '.join(str(exc).split())[:160]}); "
              "recomputing it", file=sys.stderr)
        path.unlink(missing_ok=True)
        return None


def _store(path: Path, key: str, wanted: dict[str, Any], options: SearchOptions, result: SearchResult) -> None:
    data: dict[str, Any] = {"key": key, "for": wanted, "time_limit_s": options.time_limit_s,
                            "mapping": _jsonable(result.mapping), "result": result.result.to_json_dict(),
                            "evaluated": result.evaluated, "seconds": result.seconds,
                            "extra": _jsonable(dict(result.extra))}
    data["digest"] = _hash(data)
    try:
        write_text_atomic(path, json.dumps(data))
    except OSError:
        pass  # a cache that cannot be written only costs time


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
