"""The sweep's result store: JSON records in a folder, written atomically.

Two kinds of record, each in its own sub-folder and named by its key (see :mod:`.keys`):

* ``specs/<spec_key>.json``: a rendered point (its input hash, ``info()``, warnings and the texts
  of its Timeloop inputs), so a warm sweep need not render again;
* ``results/<result_key>.json``: the outcome of the point's mapping search (status, mapping,
  result or error);
* ``figures/<key>.json``: plots drawn from the sweep's tables (see :mod:`.figcache`).

Every record is written to a temporary file and renamed into place, so a sweep killed at any
moment (SIGINT or SIGKILL) leaves complete records or none.  Every record carries a checksum and what
it was made for (``for``: the payload whose hash is its key: the point's rendering inputs, or its
input hash with the backend, search options and code), so it proves which inputs it belongs to.  A
record that cannot be read, whose checksum or ``for`` does not match the key it is looked up under,
or that fails the caller's check (its inputs' hash, physical bounds) is deleted,
listed in ``dropped`` (the sweep warns) and is a miss: the point is recomputed.
The parent process is the only writer; workers never touch the store.

The shared cache lives in ``$SPARSESWEEP_CACHE_DIR/sweep`` when the variable is set, else in the
platform's user cache folder (e.g. ``~/.cache/sparsesweep/sweep``).  With ``--no-cache`` the sweep uses a private store
in ``<out>/.sweep-journal`` instead, so an interrupted run still resumes; it is removed when the
sweep completes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..fsio import write_text_atomic

CACHE_ENV = "SPARSESWEEP_CACHE_DIR"
FORMAT = "v2"  # bump when the record layout changes
JOURNAL = ".sweep-journal"
STALE_TMP_S = 3600.0

Check = Callable[[dict[str, Any]], "str | None"]  # a record's problem, or None when it is sound


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$SPARSESWEEP_CACHE_DIR/sweep``, else ``<user cache folder>/sparsesweep/sweep``."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV, "").strip():
        return Path(env[CACHE_ENV]).expanduser() / "sweep"
    from platformdirs import user_cache_path

    return user_cache_path("sparsesweep") / "sweep"


@dataclass(frozen=True)
class Keyed:
    """What a record is made for, with the canonical JSON text its key hashes (see :func:`keyed`)."""

    payload: Mapping[str, Any]
    text: str
    key: str


Payload = Mapping[str, Any] | Keyed  # what a record is made for (see Store)


def keyed(payload: Mapping[str, Any] | Keyed, text: str | None = None) -> Keyed:
    """``payload`` with its key; ``text``: its canonical JSON when the caller has it (see :func:`canonical`)."""
    if isinstance(payload, Keyed):
        return payload
    text = canonical(payload) if text is None else text
    return Keyed(payload, text, hashlib.sha256(text.encode()).hexdigest())


@dataclass(frozen=True)
class Store:
    """A folder of JSON records (see the module docs)."""

    root: Path
    private: bool = False  # a --no-cache journal, removed when the sweep completes
    dropped: list[str] = field(default_factory=list, compare=False)  # damaged records deleted (why, where)

    @classmethod
    def open(cls, root: Path, *, private: bool = False) -> Store:
        store = cls(Path(root) / FORMAT, private=private)
        try:
            for kind in ("specs", "results", "figures"):
                (store.root / kind).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(f"cannot create the sweep cache: {exc.strerror or exc}", file=root,
                            key=CACHE_ENV, fix=f"set {CACHE_ENV} to a writable folder, or use --no-cache") from None
        store._remove_stale_tmp()
        return store

    # A record is stored under the key of what it was made for (``made_for``: a JSON-able payload
    # whose ``payload_key`` is the key) and carries that payload, so it proves what it belongs to.
    # (``made_for`` may come with its key already computed: a :class:`Keyed`.)
    def get_spec(self, made_for: Payload, check: Check | None = None) -> dict[str, Any] | None:
        return self._read("specs", made_for, check)

    def put_spec(self, made_for: Payload, record: Mapping[str, Any]) -> None:
        self._write("specs", made_for, record)

    def get_result(self, made_for: Payload, check: Check | None = None) -> dict[str, Any] | None:
        return self._read("results", made_for, check)

    def put_result(self, made_for: Payload, record: Mapping[str, Any]) -> None:
        self._write("results", made_for, record)

    def get_figures(self, made_for: Payload, check: Check | None = None) -> dict[str, Any] | None:
        return self._read("figures", made_for, check)

    def put_figures(self, made_for: Payload, record: Mapping[str, Any]) -> None:
        self._write("figures", made_for, record)

    def count(self, kind: str = "results") -> int:
        return sum(1 for _ in (self.root / kind).glob("*/*.json"))

    def remove(self) -> None:
        """Delete the store (used for a completed --no-cache journal)."""
        shutil.rmtree(self.root.parent if self.private else self.root, ignore_errors=True)

    # ---- internals ------------------------------------------------------------------------
    def _path(self, kind: str, key: str) -> str:
        return os.path.join(self._root_text, kind, key[:2], f"{key}.json")

    @property
    def _root_text(self) -> str:
        return str(self.root)

    def _read(self, kind: str, made_for: Payload, check: Check | None = None) -> dict[str, Any] | None:
        made = keyed(made_for)
        key = made.key
        path = self._path(kind, key)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("key") != key:
            problem: str | None = "not a record of its key (damaged or not ours)"
        elif not (signed := _signed_as_written(raw, data)) and data.get("digest") != record_digest(
                {k: v for k, v in data.items() if k not in ("key", "digest")}):
            problem = "its content does not match its checksum (edited or damaged)"
        elif not _same_payload(data.get("for"), made) and _key_or_none(data.get("for")) != key:
            problem = "it was not made for the inputs it would be served for (its 'for' does not give its key)"
        else:
            try:
                problem = check(data) if check else None
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"malformed ({type(exc).__name__}: {exc})"
        if problem:
            self.dropped.append(f"{path}: {' '.join(problem.split())[:160]}")
            Path(path).unlink(missing_ok=True)
            return None
        if not signed:  # sound, but in an earlier layout: rewrite it so that the next read is quick
            try:
                write_text_atomic(Path(path), signed_text({k: v for k, v in data.items() if k not in ("key", "digest")},
                                                          key), prefix=f".{key[:16]}.")
            except (OSError, TypeError, ValueError):
                pass
        return data

    def _write(self, kind: str, made_for: Payload, record: Mapping[str, Any]) -> None:
        made = keyed(made_for)
        key = made.key
        path = Path(self._path(kind, key))
        body = {**{k: v for k, v in record.items() if k not in ("key", "digest")}, "for": made.payload}
        text = signed_text(body, key)
        try:
            write_text_atomic(path, text, prefix=f".{key[:16]}.")
        except OSError as exc:
            raise SpecError(f"cannot write the sweep cache: {exc.strerror or exc}", file=path, key=CACHE_ENV,
                            fix=f"free some space or set {CACHE_ENV} to a writable folder") from None

    def _remove_stale_tmp(self) -> None:
        """Temporary files of a killed writer (older than an hour, so no live sweep owns them)."""
        now = time.time()
        for tmp in self.root.glob("*/*/.*.tmp"):
            try:
                if now - tmp.stat().st_mtime > STALE_TMP_S:
                    tmp.unlink()
            except OSError:
                continue


def payload_key(payload: Any) -> str:
    """SHA-256 (hex) of a JSON-able value, independent of dict order: the key of what a record is for."""
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def canonical(payload: Any) -> str:
    """The JSON text a payload's key hashes (sorted keys, no spaces; anything else as ``str``)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _same_payload(stored: Any, made: Keyed) -> bool:
    """True when a record's ``for`` is the payload as JSON reads it back (then it gives its key; False:
    compare the keys)."""
    return stored == made.payload or stored == json.loads(made.text)


def _key_or_none(payload: Any) -> str | None:
    try:
        return payload_key(payload) if isinstance(payload, dict) else None
    except (TypeError, ValueError):
        return None


def record_digest(body: Mapping[str, Any]) -> str:
    """Checksum of a record's content (catches edits and damage, not a security measure)."""
    return _digest_of(_canonical(body))


def _canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _digest_of(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:32]


# A record as the store writes it: its content in canonical form (the text the checksum hashes), then
# its key and checksum.  Reading such a file checks the checksum on its bytes, without re-encoding.
_SIGNATURE = re.compile(rb',"key":"([0-9a-f]{64})","digest":"([0-9a-f]{32})"}\s*\Z')


def signed_text(body: Mapping[str, Any], key: str) -> str:
    """A record's file: ``body`` (canonical JSON) with its ``key`` and checksum appended."""
    text = _canonical(body)
    return f'{text[:-1]},"key":"{key}","digest":"{_digest_of(text)}"}}' if text != "{}" else \
        json.dumps({"key": key, "digest": _digest_of(text)})


def _signed_as_written(raw: bytes, data: dict[str, Any]) -> bool:
    """True when ``raw`` is a record as :func:`signed_text` writes it and its content bytes give its
    checksum (the same check as :func:`record_digest` on the parsed content: canonical JSON reads back
    to the same values).  False means: check the slow way (a record another writer or version wrote)."""
    found = _SIGNATURE.search(raw, max(0, len(raw) - 200))
    if found is None or found.group(1).decode() != data.get("key") or found.group(2).decode() != data.get("digest"):
        return False
    return _digest_of(raw[:found.start()] + b"}") == found.group(2).decode()
