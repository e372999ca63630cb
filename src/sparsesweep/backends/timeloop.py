"""The ``timeloop`` backend: every number comes from real Timeloop.

``evaluate`` writes the point's inputs into a working folder and runs
``timeloop-model input.yaml [ERT.yaml]`` there (or, when the point has no ``mapping``, searches
for one with ``timeloop-mapper``); ``search`` runs ``timeloop-mapper`` and reads the
``timeloop-mapper.map.yaml`` it writes.  The stats report is parsed by
:mod:`sparsesweep.backends.stats` into the same :class:`~sparsesweep.result.Result` the native
engine returns.

* Binaries: ``$SPARSESWEEP_TIMELOOP_BIN`` (a folder or a binary), ``PATH``, ``$TIMELOOP_ROOT``
  or ``../shared/timeloop`` beside the repository (:func:`~sparsesweep.backends.tlrun.find_binary`).
* Working folders are kept: the given ``workdir``, or a new folder under
  ``$SPARSESWEEP_TIMELOOP_RUNS`` (default: the user cache folder, ``.../sparsesweep/timeloop``);
  the folder is reported through ``notify`` and holds the inputs, Timeloop's outputs, the
  logs (``<tool>.stdout.log`` / ``<tool>.stderr.log``) and ``sparsesweep-result.json``.
* Energies: a pinned ``ERT`` is written to ``ERT.yaml`` and passed to Timeloop; without one,
  Timeloop runs Accelergy itself, so ``accelergy`` must be on ``PATH``.
* Time: a hard timeout (``$SPARSESWEEP_TIMELOOP_TIMEOUT``, default 1 h) for every run; a search
  also stops after ``SearchOptions.time_limit_s`` (SIGINT: the mapper keeps its best mapping).
  Timeloop's mapper has no seed option, so ``SearchOptions.seed`` is not used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BackendError
from ..inputs import SpecBundle
from ..result import Result
from ..yamlio import load_yaml
from .base import SearchOptions, SearchResult
from .stats import read_stats
from .tlrun import SIGINT_GRACE_S, RunRecord, find_binary, run_tool, timeout_from_env

MODEL = "timeloop-model"
MAPPER = "timeloop-mapper"
RUNS_ENV = "SPARSESWEEP_TIMELOOP_RUNS"
INPUT_FILE = "input.yaml"
ERT_FILE = "ERT.yaml"
RESULT_FILE = "sparsesweep-result.json"

# SearchOptions.objective -> Timeloop mapper optimization metrics.
_METRICS: dict[str, list[str]] = {
    "energy": ["energy", "delay"],
    "cycles": ["delay", "energy"],
    "edp": ["edp"],
}


def _to_stderr(message: str) -> None:
    print(f"sparsesweep: {message}", file=sys.stderr)


def default_runs_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where new working folders go: ``$SPARSESWEEP_TIMELOOP_RUNS`` or the user cache folder."""
    env = os.environ if environ is None else environ
    if env.get(RUNS_ENV, "").strip():
        return Path(env[RUNS_ENV]).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("sparsesweep") / "timeloop"


def new_workdir(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """A new, unique working folder for one point (kept after the run)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "point"
    prefix = f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-"
    for root in (default_runs_root(environ), Path(tempfile.gettempdir()) / "sparsesweep-timeloop"):
        try:
            root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        except OSError:
            continue
    raise BackendError(
        "cannot create a working folder for Timeloop",
        key=RUNS_ENV,
        fix=f"set {RUNS_ENV} to a writable folder",
    )


def mapper_settings(options: SearchOptions, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``mapper:`` section: the point's own settings, completed from ``options``."""
    settings: dict[str, Any] = {
        "optimization-metrics": list(_METRICS[options.objective]),
        "live-status": False,
    }
    given = dict(given or {})
    if "optimization_metrics" in given:  # v0.4 spelling of the same key
        settings.pop("optimization-metrics")
    if "live_status" in given:
        settings.pop("live-status")
    settings.update(given)
    return settings


@dataclass(frozen=True)
class TimeloopBackend:
    """Runs real ``timeloop-model`` / ``timeloop-mapper`` as subprocesses."""

    name: str = "timeloop"
    timeout_s: float | None = None  # hard limit per run (s); None: $SPARSESWEEP_TIMELOOP_TIMEOUT or 1 h
    environ: Mapping[str, str] | None = None  # where to look up the variables above (default: os.environ)
    notify: Callable[[str], None] = field(default=_to_stderr, repr=False)  # reports working folders
    roots: tuple[Path, ...] | None = None  # repositories beside which ../shared/timeloop is looked for (None: ours)

    # -- Backend protocol ------------------------------------------------------------

    def evaluate(self, bundle: SpecBundle, workdir: Path | None = None) -> Result:
        """Run ``timeloop-model`` on the bundle's mapping (or search one if it has none)."""
        if "mapping" not in bundle.data:
            return self.search(bundle, SearchOptions(), workdir).result
        binary = find_binary(MODEL, self.environ, self.roots)
        folder = self._folder(bundle, workdir)
        files = self._prepare(bundle, folder, MODEL)
        record = run_tool([str(binary), *files], folder, timeout_s=self._timeout())
        result = self._read(folder / f"{MODEL}.stats.txt", record)
        self._save(result, folder)
        return result

    def search(self, bundle: SpecBundle, options: SearchOptions, workdir: Path | None = None) -> SearchResult:
        """Run ``timeloop-mapper`` within the bundle's constraints and read its best mapping."""
        binary = find_binary(MAPPER, self.environ, self.roots)
        folder = self._folder(bundle, workdir)
        given = bundle.data.get("mapper")
        if given is not None and not isinstance(given, Mapping):
            raise bundle.error("the mapper settings must be a mapping", ("mapper",), fix="e.g. 'mapper: {}'")
        point = bundle.with_data(mapping=None, mapper=mapper_settings(options, given))
        files = self._prepare(point, folder, MAPPER)
        timeout = max(self._timeout(), options.time_limit_s + SIGINT_GRACE_S)
        record = run_tool(
            [str(binary), *files], folder, timeout_s=timeout, soft_limit_s=options.time_limit_s
        )
        map_file = folder / f"{MAPPER}.map.yaml"
        if not map_file.is_file() or not map_file.read_text(encoding="utf-8", errors="replace").strip():
            raise BackendError(
                f"{MAPPER} found no valid mapping (it wrote no {map_file.name}, or an empty one)",
                file=record.stdout_log,
                fix="loosen the architecture constraints or the mapper settings; "
                f"re-run by hand: {record.rerun}",
            )
        mapping = load_yaml(map_file).data
        entries = mapping.get("mapping") if isinstance(mapping, dict) else None
        if not isinstance(entries, list):
            raise BackendError(
                "expected a top-level 'mapping:' list", file=map_file, fix=f"re-run by hand: {record.rerun}"
            )
        result = self._read(folder / f"{MAPPER}.stats.txt", record)
        self._save(result, folder)
        return SearchResult(
            mapping=entries,
            result=result,
            seconds=record.seconds,
            extra={
                "workdir": str(folder),
                "command": record.rerun,
                "stopped_at_time_limit": record.interrupted,
            },
        )

    # -- steps -----------------------------------------------------------------------

    def _timeout(self) -> float:
        return self.timeout_s if self.timeout_s is not None else timeout_from_env(self.environ)

    def _folder(self, bundle: SpecBundle, workdir: Path | None) -> Path:
        if workdir is None:
            folder = new_workdir(bundle.name, self.environ)
        else:
            folder = Path(workdir).expanduser().resolve()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendError(
                    f"cannot create the working folder: {exc.strerror or exc}",
                    file=folder,
                    fix="choose a writable folder",
                ) from None
        if any(src.resolve().parent == folder for src in bundle.files()):
            raise BackendError(
                "the working folder is the folder of the input files, whose outputs would be overwritten",
                file=folder,
                fix="give the Timeloop run a folder of its own (or none, to get a new one)",
            )
        self.notify(f"Timeloop working folder: {folder}")
        return folder

    def _prepare(self, bundle: SpecBundle, folder: Path, tool: str) -> list[str]:
        """Write the inputs; clear this tool's outputs of an earlier run in the same folder."""
        for old in folder.glob(f"{tool}.*"):
            if old.is_file():
                old.unlink()
        (folder / RESULT_FILE).unlink(missing_ok=True)
        keys = [k for k in bundle.data if k != "ERT"]
        (folder / INPUT_FILE).write_text(bundle.to_yaml(keys), encoding="utf-8")
        files = [INPUT_FILE]
        ert = folder / ERT_FILE
        if "ERT" in bundle.data:
            ert.write_text(bundle.to_yaml(["ERT"]), encoding="utf-8")
            files.append(ERT_FILE)
        else:
            ert.unlink(missing_ok=True)
            self._require_accelergy(folder, tool)
        return files

    def _require_accelergy(self, folder: Path, tool: str) -> None:
        env = os.environ if self.environ is None else self.environ
        if shutil.which("accelergy", path=env.get("PATH", os.defpath)) is None:
            raise BackendError(
                f"no ERT is pinned, so {tool} needs Accelergy for energies, but 'accelergy' is not on PATH",
                file=folder / INPUT_FILE,
                fix="pin an energy reference table (an ERT.yaml beside the input, or --ert), "
                "or run inside the sparsesweep Docker image, which has Accelergy",
            )

    def _read(self, stats: Path, record: RunRecord) -> Result:
        if not stats.is_file():
            raise BackendError(
                f"{Path(record.command[0]).name} finished but wrote no {stats.name}",
                file=record.stdout_log,
                fix=f"read the logs; re-run by hand: {record.rerun}",
            )
        try:
            return read_stats(stats, source=Path(record.command[0]).name)
        except BackendError as exc:
            rerun = f"re-run by hand: {record.rerun}"
            fix = f"{exc.fix}; {rerun}" if exc.fix else rerun
            raise BackendError(exc.what, file=exc.file, line=exc.line, key=exc.key, fix=fix) from None

    @staticmethod
    def _save(result: Result, folder: Path) -> None:
        text = json.dumps(result.to_json_dict(), indent=1) + "\n"
        (folder / RESULT_FILE).write_text(text, encoding="utf-8")
