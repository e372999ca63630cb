"""The sweep's output folder (``--out``): owned, locked, and published atomically.

* **Ownership.** A marker file (``.sparsesweep-out``) lists the files and point folders the last
  sweep wrote there.  A new sweep removes those of them it does not write again (an earlier sweep's
  ``axis_*.png``, its points), and nothing else: a user's own files and folders are never touched.
  A folder that is not empty and that no sweep wrote is refused (a folder holding only files with
  the sweep's output names, from a version before the marker, is adopted).  The file-system root and
  the home folder are refused outright.
* **Lock.** The sweep holds an exclusive ``flock`` on ``.sparsesweep.lock`` while it runs, so a
  second sweep into the same folder is refused at once instead of deleting the first one's points.
  The kernel drops the lock when the process ends, however it ends.
* **Atomic outputs.** Tables, plots, report and run statistics are written into a staging folder
  and renamed into place only once all of them are complete, so a failure while writing (a full
  disk, an interrupt) leaves the previous sweep's complete set.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import SpecError

MARKER = ".sparsesweep-out"
LOCK = ".sparsesweep.lock"
STAGING = ".sparsesweep-staging"
POINTS = "points"
JOURNAL = ".sweep-journal"
# Names a sweep writes (before the marker existed, folders held only these): adopted as ours.
_OUTPUT_NAMES = {"results.csv", "summary.csv", "report.md", "run.json", POINTS, JOURNAL, ".sweep-write-test"}


@dataclass
class OutDir:
    """A claimed output folder (see the module docs); :meth:`close` releases the lock."""

    path: Path
    files: list[str] = field(default_factory=list)  # outputs of the last complete sweep (names)
    points: list[str] = field(default_factory=list)  # point folders any sweep here may have written
    _lock: IO[str] | None = None

    @classmethod
    def claim(cls, path: Path) -> OutDir:
        """Refuse a dangerous, foreign or busy folder; create, lock and mark it."""
        path = Path(path).expanduser()
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
            raise SpecError(f"cannot use the output folder: {getattr(exc, 'strerror', None) or exc}", file=path,
                            key="--out", fix="give a real folder (not a symlink loop)") from None
        if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
            raise SpecError(f"refusing to write the sweep's outputs into {resolved}", key="--out",
                            fix="give a folder of its own, e.g. --out results")
        if resolved.exists() and not resolved.is_dir():
            kind = "a file" if resolved.is_file() else "a device, pipe or socket"
            raise SpecError(f"is {kind}, not a folder", file=path, key="--out", fix="choose a folder")
        marker = _read_marker(path / MARKER)
        if marker is None and resolved.is_dir():
            foreign = sorted(p.name for p in resolved.iterdir() if not _looks_ours(p))
            if foreign:
                raise SpecError(f"the output folder is not empty and no sweep wrote it (it holds {foreign[0]!r}"
                                f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''})", file=path,
                                key="--out", fix="choose a new or empty folder, or one an earlier sweep wrote")
        lock = _lock(path)
        try:  # unbuffered, so that closing it never has data to flush onto a full disk
            os.ftruncate(lock.fileno(), 0)
            os.pwrite(lock.fileno(), str(os.getpid()).encode(), 0)
        except OSError as exc:
            lock.close()
            raise SpecError(f"cannot write to the output folder: {exc.strerror or exc}", file=path, key="--out",
                            fix="free some space or choose another --out") from None
        out = cls(path, files=list((marker or {}).get("files", [])), points=list((marker or {}).get("points", [])),
                  _lock=lock)
        if marker is None:  # adopt an older sweep's folder: its point folders carry a per-point marker
            out.points = sorted(p.parent.name for p in (path / POINTS).glob("*/.sweep-point"))
        try:
            out._save()
        except SpecError:
            out.close()
            raise
        return out

    def will_write_points(self, ids: Iterable[str]) -> None:
        """Record point folders before they are written (so an interrupted sweep's are ours too)."""
        new = sorted(set(self.points) | set(ids))
        if new != self.points:
            self.points = new
            self._save()

    def publish(self, write: Callable[[Path], list[Path]], keep_points: Iterable[str]) -> list[Path]:
        """Run ``write(staging)``, then move its files into place and drop what the last sweep wrote
        and this one did not; returns the published paths.  A failure leaves the previous set."""
        staging = self.path / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
            written = write(staging)
            names = [p.relative_to(staging).as_posix() for p in written]
            for name in names:
                os.replace(staging / name, self.path / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for old in set(self.files) - set(names):
            if "/" not in old and old not in (MARKER, LOCK):
                (self.path / old).unlink(missing_ok=True)
        keep = set(keep_points)
        for point in set(self.points) - keep:
            if "/" not in point and point not in ("", ".", ".."):
                shutil.rmtree(self.path / POINTS / point, ignore_errors=True)
        self.files, self.points = names, sorted(keep)
        self._save()
        return [self.path / name for name in names]

    def __enter__(self) -> OutDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lock is not None:
            (self.path / LOCK).unlink(missing_ok=True)  # while held: a waiter re-checks the inode (see _lock)
            self._lock.close()  # releases the flock
            self._lock = None

    def _save(self) -> None:
        text = json.dumps({"tool": "sparsesweep", "files": self.files, "points": self.points}, indent=0)
        tmp = self.path / (MARKER + ".tmp")
        try:
            tmp.write_text(text + "\n", encoding="utf-8")
            os.replace(tmp, self.path / MARKER)
        except OSError as exc:
            raise SpecError(f"cannot write to the output folder: {exc.strerror or exc}", file=self.path,
                            key="--out", fix="free some space or choose another --out") from None


def _lock(path: Path) -> IO[str]:
    """Create ``path`` and hold the exclusive lock of its lock file (refused at once when busy)."""
    for _ in range(10):
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock = open(path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise SpecError(f"cannot write to the output folder: {exc.strerror or exc}", file=path, key="--out",
                            fix="choose a writable folder") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise SpecError(f"another sweep (pid {holder}) is writing to this folder", file=path, key="--out",
                            fix="wait for it to finish, or give this sweep another --out") from None
        try:
            if os.fstat(lock.fileno()).st_ino == os.stat(path / LOCK).st_ino:
                return lock
        except OSError:
            pass
        lock.close()  # the previous holder removed the file as we opened it: take the new one
    raise SpecError("cannot lock the output folder", file=path, key="--out", fix="try again")


def _read_marker(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != "sparsesweep":
        return None
    for key in ("files", "points"):
        if not isinstance(data.get(key, []), list) or not all(isinstance(x, str) for x in data.get(key, [])):
            return None
    return data


def _looks_ours(path: Path) -> bool:
    name = path.name
    return name in _OUTPUT_NAMES or name in (MARKER, LOCK, STAGING) or name.endswith(".png")
