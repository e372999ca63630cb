"""Run one generated input through the native engine and through real ``timeloop-model``.

Each Timeloop run happens in its own fresh working folder.  :func:`run_case` returns an
:class:`Outcome` whose ``kind`` is one of

* ``agree`` / ``disagree``: both evaluated it; ``diffs`` lists every field beyond tolerance
  (cycles and computes exact, energies within 0.5%, per-dataspace counts exact);
* ``engine_refuses`` / ``engine_crash``: Timeloop evaluated it, the engine raised a
  :class:`~sparsesweep.errors.SparsesweepError` (a refusal) or another exception (a bug);
* ``tl_refuses``: Timeloop exited with an error and the engine evaluated it;
* ``both_refuse``: both refused it;
* ``tl_crash``: Timeloop was killed by a signal (an assertion or a segfault);
* ``tl_timeout``: Timeloop did not finish in time;
* ``tl_defect``: Timeloop printed an impossible count (``ABSURD_COUNT`` or more, e.g. 2**63 reads of
  a one-element tensor or 2**63 cycles: an overflow) or energy (above ``ABSURD_PJ``, e.g. 7e16 pJ for a few dozen
  accesses: an uninitialised value in master's per-dataspace energy).

``tl_crash`` and ``tl_defect`` are Timeloop defects, recorded apart from disagreements.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sparsesweep.backends.stats import read_stats
from sparsesweep.backends.tlrun import find_binary
from sparsesweep.compare import Tolerance, diff_results
from sparsesweep.engine import evaluate_spec
from sparsesweep.errors import BackendError, SparsesweepError
from sparsesweep.inputs import load_bundle
from sparsesweep.result import Result
from sparsesweep.tl import load_spec

TOLERANCE = Tolerance(energy_rel=0.005)
TIMEOUT_S = 60.0
AGREEING = ("agree", "both_refuse")
TIMELOOP_DEFECTS = ("tl_crash", "tl_defect")
ABSURD_PJ = 1e12
ABSURD_COUNT = 2**62


def find_timeloop_model() -> Path | None:
    """``timeloop-model`` as the timeloop backend finds it (``find_binary``: ``$SPARSESWEEP_TIMELOOP_BIN``,
    PATH, ``$TIMELOOP_ROOT``, ``<repo>/../shared/timeloop``), or None."""
    try:
        return find_binary("timeloop-model")
    except BackendError:
        return None


@dataclass
class Outcome:
    kind: str
    diffs: list[str] = field(default_factory=list)
    tl_message: str = ""
    engine_message: str = ""
    timeloop: Result | None = None
    ours: Result | None = None
    engine_status: str = ""  # the engine's: ok, refuses or crash

    @property
    def ok(self) -> bool:
        """Agreement, or a refusal by both tools."""
        return self.kind in AGREEING

    def summary(self) -> str:
        parts = [self.kind]
        if self.diffs:
            parts.append("; ".join(self.diffs[:6]) + (" ..." if len(self.diffs) > 6 else ""))
        if self.tl_message:
            parts.append(f"timeloop: {self.tl_message}")
        if self.engine_message:
            parts.append(f"engine: {self.engine_message}")
        return " | ".join(parts)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "assert" in ln.lower() or "fail" in ln.lower()]
    line = (errors or lines or ["no message"])[-1]
    return line[:300]


def run_timeloop(binary: Path, folder: Path) -> tuple[str, Result | None, str]:
    """Run ``timeloop-model input.yaml ERT.yaml`` in ``folder``: (status, result, message)."""
    try:
        proc = subprocess.run([str(binary), "input.yaml", "ERT.yaml"], cwd=folder, capture_output=True,
                              text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout", None, f"no result within {TIMEOUT_S:g} s"
    (folder / "timeloop.log").write_text(proc.stdout + proc.stderr)
    stats = folder / "timeloop-model.stats.txt"
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = str(-proc.returncode)
        stderr = "\n".join(ln for ln in proc.stderr.splitlines() if not ln.startswith("Warning: "))
        return "crash", None, f"killed by {name}: {_last_line(stderr) if stderr.strip() else 'no message'}"
    if proc.returncode != 0 or not stats.is_file():
        return "refuses", None, f"exit {proc.returncode}: {_last_line(proc.stderr + proc.stdout)}"
    try:
        return "ok", read_stats(stats), ""
    except SparsesweepError as exc:
        return "refuses", None, f"unreadable stats: {str(exc)[:200]}"


def run_engine(folder: Path) -> tuple[str, Result | None, str]:
    try:
        return "ok", evaluate_spec(load_spec(load_bundle(folder / "input.yaml"))).result, ""
    except SparsesweepError as exc:
        return "refuses", None, str(exc).splitlines()[0]
    except Exception as exc:  # noqa: BLE001 - a crash of the engine is an outcome to report
        return "crash", None, f"{type(exc).__name__}: {exc}"[:300]


def write_case(folder: Path, input_yaml: str, ert_yaml: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.yaml").write_text(input_yaml)
    (folder / "ERT.yaml").write_text(ert_yaml)


def compare(tl: tuple[str, Result | None, str], ours: tuple[str, Result | None, str]) -> Outcome:
    outcome = _compare(tl, ours)
    outcome.engine_status = ours[0]
    return outcome


def _compare(tl: tuple[str, Result | None, str], ours: tuple[str, Result | None, str]) -> Outcome:
    (tl_status, tl_result, tl_msg), (our_status, our_result, our_msg) = tl, ours
    if tl_status == "timeout":
        return Outcome("tl_timeout", tl_message=tl_msg, engine_message=our_msg)
    if tl_status == "crash":
        return Outcome("tl_crash", tl_message=tl_msg, engine_message=our_msg, ours=our_result)
    if tl_status == "refuses":
        kind = "tl_refuses" if our_status == "ok" else "both_refuse"
        return Outcome(kind, tl_message=tl_msg, engine_message=our_msg, ours=our_result)
    assert tl_result is not None
    defect = _impossible(tl_result)
    if defect:
        return Outcome("tl_defect", tl_message=defect, engine_message=our_msg, timeloop=tl_result, ours=our_result)
    if our_status != "ok":
        kind = "engine_refuses" if our_status == "refuses" else "engine_crash"
        return Outcome(kind, engine_message=our_msg, timeloop=tl_result)
    assert our_result is not None
    diffs = diff_results(our_result, tl_result, TOLERANCE)
    return Outcome("disagree" if diffs else "agree", diffs=diffs, timeloop=tl_result, ours=our_result)


def _impossible(result: Result) -> str:
    """What Timeloop printed that cannot be (an energy above ``ABSURD_PJ``, a count of 2**62 or more:
    an overflowed or uninitialised value), or ''."""
    if result.energy_pj > ABSURD_PJ:
        return f"energy {result.energy_pj:.3g} pJ"
    if result.cycles >= ABSURD_COUNT:
        return f"cycles = {result.cycles}"
    for name, level in result.levels.items():
        for ds, counts in level.dataspaces.items():
            for field_name in ("actual_reads_per_instance", "actual_fills_per_instance", "actual_updates_per_instance"):
                if getattr(counts, field_name) >= ABSURD_COUNT:
                    return f"{name}.{ds}.{field_name} = {getattr(counts, field_name)}"
    return ""


def run_case(binary: Path, input_yaml: str, ert_yaml: str, keep: Path | None = None) -> Outcome:
    """Evaluate one input with both tools (in a temporary folder unless ``keep`` is given)."""
    if keep is not None:
        write_case(keep, input_yaml, ert_yaml)
        return compare(run_timeloop(binary, keep), run_engine(keep))
    with tempfile.TemporaryDirectory(prefix="difftest-") as tmp:
        folder = Path(tmp)
        write_case(folder, input_yaml, ert_yaml)
        return compare(run_timeloop(binary, folder), run_engine(folder))
