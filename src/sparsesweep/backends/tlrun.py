"""Finding and running the Timeloop executables.

The binaries are found (:func:`find_binary`, the one discovery used by the backend, the sweep
and the tests) through ``SPARSESWEEP_TIMELOOP_BIN`` (the folder that holds ``timeloop-model`` /
``timeloop-mapper``, or one of the binaries itself), else on ``PATH``, else under
``$TIMELOOP_ROOT`` (a Timeloop install: its ``bin/`` folder, or the folder itself), else in
``../shared/timeloop`` beside the repository the package was installed from (or beside the
working directory, when that is the repository).
A run is a plain argument list (never a shell) in a working folder; its standard output and
error go to log files in that folder, it has a hard timeout, and a search may also get a
soft time limit after which the tool is sent SIGINT (Timeloop's mapper then stops
searching and writes the best mapping found so far).  Every failure is reported as a
one-line :class:`~sparsesweep.errors.BackendError` that names the log and gives the exact
command to re-run by hand.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendError

BIN_ENV = "SPARSESWEEP_TIMELOOP_BIN"
ROOT_ENV = "TIMELOOP_ROOT"
SHARED = ("..", "shared", "timeloop")  # a prebuilt Timeloop beside the repository
TIMEOUT_ENV = "SPARSESWEEP_TIMELOOP_TIMEOUT"
DEFAULT_TIMEOUT_S = 3600.0
SIGINT_GRACE_S = 60.0  # how long a tool may take to write its results after SIGINT (s)

GET_TIMELOOP = (
    "run inside the sparsesweep Docker image (README: 'Running on real Timeloop (Docker)'), "
    f"set {BIN_ENV} to the folder that holds the Timeloop binaries (or {ROOT_ENV} to a Timeloop install), "
    "or use --backend native"
)


def find_binary(tool: str, environ: Mapping[str, str] | None = None,
                roots: Sequence[Path] | None = None) -> Path:
    """The path of ``tool`` (e.g. ``timeloop-model``).

    In order: ``$SPARSESWEEP_TIMELOOP_BIN`` (an error if it is set but wrong), ``PATH``,
    ``$TIMELOOP_ROOT`` (its ``bin/`` or itself), then ``<root>/../shared/timeloop/bin`` for each
    repository root in ``roots`` (default: :func:`repository_roots`; ``()`` looks nowhere else).
    """
    env = os.environ if environ is None else environ
    hint = env.get(BIN_ENV, "").strip()
    if hint:
        base = Path(hint).expanduser()
        if not base.exists():
            problem = f"points at {base}, which does not exist"
        else:
            candidate = base / tool if base.is_dir() else base.parent / tool
            if _is_executable(candidate):
                return candidate
            problem = f"no executable {tool} in {candidate.parent}"
        raise BackendError(
            problem,
            key=BIN_ENV,
            fix=f"set {BIN_ENV} to the folder holding {tool} (or to {tool} itself), "
            "unset it to search PATH, or use --backend native",
        )
    found = shutil.which(tool, path=env.get("PATH", os.defpath))
    if found is not None:
        return Path(found)
    places = []
    root_hint = env.get(ROOT_ENV, "").strip()
    if root_hint:
        places.append(Path(root_hint).expanduser())
    for root in repository_roots() if roots is None else roots:
        places.append(Path(root).joinpath(*SHARED))
    for place in places:
        for folder in (place / "bin", place):
            if _is_executable(folder / tool):
                return (folder / tool).absolute()
    where = f"PATH, ${ROOT_ENV}" + ("" if roots is not None and len(roots) == 0 else " or ../shared/timeloop")
    raise BackendError(f"{tool} not found on {where}, and {BIN_ENV} is not set", fix=GET_TIMELOOP)


def repository_roots() -> list[Path]:
    """The sparsesweep repository the package runs from (``pip install -e .``), and the working
    directory when it is such a repository (holds ``templates/``)."""
    out = []
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file() and (repo / "templates").is_dir():
        out.append(repo)
    cwd = Path.cwd()
    if (cwd / "templates").is_dir() and cwd.resolve() != repo:
        out.append(cwd)
    return out


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def timeout_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``$SPARSESWEEP_TIMELOOP_TIMEOUT`` in seconds, or the default (one hour)."""
    env = os.environ if environ is None else environ
    raw = env.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise BackendError(
            f"'{raw}' is not a positive number of seconds", key=TIMEOUT_ENV, fix="e.g. 600"
        )
    return value


def rerun_line(command: Sequence[str], cwd: Path) -> str:
    """The shell line that repeats a run by hand (quoted for POSIX shells)."""
    return f"cd {shlex.quote(str(cwd))} && {shlex.join(command)}"


@dataclass(frozen=True)
class RunRecord:
    """How one run of a Timeloop tool went."""

    command: tuple[str, ...]
    cwd: Path
    returncode: int
    seconds: float
    stdout_log: Path
    stderr_log: Path
    interrupted: bool  # the soft time limit was reached and the tool was sent SIGINT

    @property
    def rerun(self) -> str:
        return rerun_line(self.command, self.cwd)


def run_tool(
    command: Sequence[str],
    cwd: Path,
    *,
    timeout_s: float,
    soft_limit_s: float | None = None,
    log_prefix: str | None = None,
) -> RunRecord:
    """Run ``command`` in ``cwd``; raise :class:`BackendError` on timeout or failure."""
    command = tuple(str(part) for part in command)
    prefix = log_prefix or Path(command[0]).name
    out_log, err_log = cwd / f"{prefix}.stdout.log", cwd / f"{prefix}.stderr.log"
    interrupted = False
    start = time.monotonic()
    with out_log.open("wb") as out, err_log.open("wb") as err:
        try:
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        except OSError as exc:
            raise BackendError(
                f"cannot start {command[0]}: {exc.strerror or exc}",
                fix="check that the file is a working Timeloop binary; " + GET_TIMELOOP,
            ) from None
        try:
            if soft_limit_s is not None and soft_limit_s < timeout_s:
                try:
                    proc.wait(timeout=soft_limit_s)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGINT)
                    interrupted = True
            proc.wait(timeout=max(0.0, timeout_s - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise BackendError(
                f"{Path(command[0]).name} did not finish within {timeout_s:g} s and was stopped "
                f"(logs: {out_log.name}, {err_log.name})",
                file=cwd,
                fix=f"raise the limit with {TIMEOUT_ENV}=SECONDS, "
                f"or re-run by hand: {rerun_line(command, cwd)}",
            ) from None
        except BaseException:
            _stop(proc)
            raise
    record = RunRecord(command, cwd, proc.returncode, time.monotonic() - start, out_log, err_log, interrupted)
    if proc.returncode != 0 and not (interrupted and proc.returncode in (-signal.SIGINT, 130)):
        raise BackendError(
            f"{Path(command[0]).name} failed ({_exit_text(proc.returncode)}): {last_message(record)}",
            file=err_log,
            fix=f"read the log; re-run by hand: {record.rerun}",
        )
    return record


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group this module started for ``proc`` (the tool and its children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def last_message(record: RunRecord, limit: int = 200) -> str:
    """The last non-empty line the tool printed (standard error first), shortened."""
    for log in (record.stderr_log, record.stdout_log):
        try:
            lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError:
            continue
        lines = [ln for ln in lines if ln]
        if lines:
            text = lines[-1]
            return text if len(text) <= limit else text[: limit - 3] + "..."
    return "no message"
