"""Differential testing: random small inputs through the native engine and real ``timeloop-model``.

* ``test_seeded_inputs_agree_with_timeloop``: a derandomized Hypothesis run of random inputs
  (``difftest/gen.py``, restricted as ``difftest/seeded.py`` documents) must agree with Timeloop
  master (cycles and computes exact, energies within 0.5%, per-dataspace counts exact) or be
  refused by both; a failure shrinks to a small input.  Timeloop's own defects (a crash, an
  impossible energy; see ``difftest/run.py``) are not failures of the engine.
* ``test_regression_case``: every saved case in ``tests/difftest_cases/`` (a shrunk disagreement
  with Timeloop's ``expected.json``) is re-checked against the engine; a case whose class is
  not fixed yet carries an ``open`` file naming it and is a strict xfail (it must fail).
* ``test_saved_expectation_is_timeloops``: the saved ``expected.json`` still equals what
  Timeloop prints for that input.
* ``test_link_bypass_case_exercises_links``: the ``link_bypass_*`` cases (a tensor bypassing a level
  next to a fanout with link transfers) need the links to match Timeloop (or, ``*_no_links``, must not use any).
* ``test_timeloop_defect_persists`` / ``test_engine_on_timeloop_defect``: every saved Timeloop defect in
  ``tests/difftest_defects/`` (a minimal input, Timeloop's output, ``defect.txt``: what is wrong, then
  ``engine: refuses`` or ``engine: evaluates``, and for a crash ``timeloop: <text of its output>``) still
  crashes Timeloop (with the signal its saved ``timeloop.log`` ends with, printing the quoted text) or makes
  it print an impossible number, and the engine refuses it with a one-line error or evaluates it, as
  ``defect.txt`` says.

Timeloop is found as the timeloop backend finds it (``find_binary``: PATH, ``$TIMELOOP_ROOT``,
``../shared/timeloop``); the tests that run it skip only when it is absent.  Long runs: ``bench/difftest_campaign.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from difftest.gen import Case, cases
from difftest.reduce import reduce_input
from difftest.run import TIMELOOP_DEFECTS, TOLERANCE, find_timeloop_model, run_case, run_engine, run_timeloop, write_case
from difftest.seeded import SEEDED
from sparsesweep.compare import diff_results
from sparsesweep.result import Result

SEEDED_EXAMPLES = 300
CASES = Path(__file__).parent / "difftest_cases"
DEFECTS = Path(__file__).parent / "difftest_defects"
TIMELOOP = find_timeloop_model()
needs_timeloop = pytest.mark.skipif(TIMELOOP is None, reason="timeloop-model not found (PATH, $TIMELOOP_ROOT, "
                                                              "../shared/timeloop)")


@needs_timeloop
@settings(max_examples=SEEDED_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(cases(SEEDED))
def test_seeded_inputs_agree_with_timeloop(case: Case):
    assert TIMELOOP is not None
    outcome = run_case(TIMELOOP, case.input_yaml(), case.ert_yaml())
    assert outcome.ok or outcome.kind in TIMELOOP_DEFECTS, outcome.summary()


def _saved() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "input.yaml").is_file()) if CASES.is_dir() else []


def _marks(case: Path) -> list[pytest.MarkDecorator]:
    open_file = case / "open"
    if open_file.is_file():
        return [pytest.mark.xfail(strict=True, reason=open_file.read_text().strip().splitlines()[0])]
    return []


@pytest.mark.parametrize("case", [pytest.param(p, id=p.name, marks=_marks(p)) for p in _saved()])
def test_regression_case(case: Path):
    expected = case / "expected.json"
    status, ours, message = run_engine(case)
    if not expected.is_file():  # Timeloop refused this input: the engine must refuse it too
        assert status == "refuses", f"Timeloop refuses {case.name} (see timeloop.log), the engine gave {status}"
        return
    assert status == "ok", f"Timeloop evaluates {case.name}; the engine {status}: {message}"
    assert ours is not None
    diffs = diff_results(ours, Result.model_validate(json.loads(expected.read_text())), TOLERANCE)
    assert not diffs, f"{case.name} differs from Timeloop master:\n  " + "\n  ".join(diffs)


@needs_timeloop
@pytest.mark.parametrize("case", [pytest.param(p, id=p.name) for p in _saved()])
def test_saved_expectation_is_timeloops(case: Path, tmp_path: Path):
    assert TIMELOOP is not None
    write_case(tmp_path, (case / "input.yaml").read_text(), (case / "ERT.yaml").read_text())
    status, result, message = run_timeloop(TIMELOOP, tmp_path)
    expected = case / "expected.json"
    if not expected.is_file():
        assert status != "ok", f"Timeloop now evaluates {case.name}"
        return
    assert status == "ok", message
    assert result is not None
    saved = Result.model_validate(json.loads(expected.read_text()))
    assert not diff_results(result, saved, TOLERANCE)


def _without_links(case: Path, tmp_path: Path) -> Result:
    """The engine's result on ``case`` with ``no_link_transfer`` for every dataspace at every spatial fanout."""
    doc = yaml.safe_load((case / "input.yaml").read_text())
    names = [d["name"] for d in doc["problem"]["shape"]["data-spaces"]]
    for entry in doc["mapping"]:
        if entry.get("type") == "spatial":
            entry["no_link_transfer"] = names
    write_case(tmp_path, yaml.safe_dump(doc, sort_keys=False), (case / "ERT.yaml").read_text())
    status, result, message = run_engine(tmp_path)
    assert status == "ok" and result is not None, message
    return result


LINK_BYPASS = [p for p in _saved() if p.name.startswith("link_bypass_")]


@pytest.mark.parametrize("case", [pytest.param(p, id=p.name) for p in LINK_BYPASS])
def test_link_bypass_case_exercises_links(case: Path, tmp_path: Path):
    """The bypass + link-transfer cases (a tensor bypassing a level next to a fanout whose neighbours
    forward data) test links: without them the engine's counts differ from Timeloop's, except in
    the cases named ``*_no_links`` (Timeloop uses no link there) or ``*_no_link_transfer``."""
    expected = Result.model_validate(json.loads((case / "expected.json").read_text()))
    diffs = diff_results(_without_links(case, tmp_path), expected, TOLERANCE)
    if case.name.endswith(("_no_links", "_no_link_transfer")):
        assert not diffs, f"{case.name}: links change the counts: {diffs}"
    else:
        assert diffs, f"{case.name}: Timeloop's counts need no link transfer; the case does not test links"


def test_reduce_input_keeps_the_property_and_a_valid_mapping():
    """The greedy reducer (``difftest/reduce.py``, used by ``bench/difftest_reduce.py``) on a saved
    input, keeping "a skipping-spatial SAF conditioned on B": formats, densities and dimensions go,
    the SAF stays, and every dimension's mapping factors still multiply to its size."""
    doc = yaml.safe_load((DEFECTS / "crash_second_leader_loop_counter" / "input.yaml").read_text())

    def keep(d: dict) -> bool:
        targets = d.get("sparse_optimizations", {}).get("targets", [])
        safs = [s for t in targets for s in t.get("action-optimization", [])]
        return any(s["type"] == "skipping-spatial" and "B" in s["condition-on"] for s in safs)

    small = reduce_input(doc, keep)
    assert keep(small) and len(yaml.safe_dump(small)) < len(yaml.safe_dump(doc))
    assert "densities" not in small["problem"]["instance"]
    assert all("representation-format" not in t for t in small["sparse_optimizations"]["targets"])
    sizes = {d: small["problem"]["instance"][d] for d in small["problem"]["shape"]["dimensions"]}
    assert sizes == {"M": 1, "K": 1, "N": 1}
    factors = [{k: int(v) for k, v in (f.split("=") for f in e["factors"].split())}
               for e in small["mapping"] if "factors" in e]
    for dim, size in sizes.items():
        assert math.prod(f.get(dim, 1) for f in factors) == size


def _defects() -> list[Path]:
    return sorted(p for p in DEFECTS.iterdir() if (p / "input.yaml").is_file()) if DEFECTS.is_dir() else []


@needs_timeloop
@pytest.mark.parametrize("case", [pytest.param(p, id=p.name) for p in _defects()])
def test_timeloop_defect_persists(case: Path, tmp_path: Path):
    assert TIMELOOP is not None
    outcome = run_case(TIMELOOP, (case / "input.yaml").read_text(), (case / "ERT.yaml").read_text(), keep=tmp_path)
    assert outcome.kind in TIMELOOP_DEFECTS, f"Timeloop no longer shows the defect of {case.name}: {outcome.summary()}"
    saved = case / "timeloop.log"
    if saved.is_file():  # a crash: the same signal, and the message defect.txt quotes
        signal = saved.read_text().strip().splitlines()[-1].removeprefix("[timeloop-model killed by ").rstrip("]")
        assert outcome.tl_message.startswith(f"killed by {signal}"), f"{case.name}: {outcome.summary()}"
        quoted = [ln.removeprefix("timeloop: ") for ln in (case / "defect.txt").read_text().splitlines()
                  if ln.startswith("timeloop: ")]
        log = (tmp_path / "timeloop.log").read_text()
        assert all(q in log for q in quoted), f"{case.name}: Timeloop no longer prints {quoted}: {outcome.summary()}"


@pytest.mark.parametrize("case", [pytest.param(p, id=p.name) for p in _defects()])
def test_engine_on_timeloop_defect(case: Path):
    lines = (case / "defect.txt").read_text().splitlines()
    engine = next(ln for ln in lines if ln.startswith("engine: ")).split()[1]
    assert engine in ("refuses", "evaluates")
    status, _, message = run_engine(case)
    assert status == ("refuses" if engine == "refuses" else "ok"), f"{case.name}: the engine {status}: {message}"
    if status == "refuses":
        assert "\n" not in message and "fix" in message, message
