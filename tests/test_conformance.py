"""The native engine against real Timeloop outputs in the reference corpus.

Every case folder with an ``expected.json`` (Timeloop master) must match: cycles and
computes exactly, total, per-level and per-dataspace energy within 0.5%, and the
per-dataspace counts exactly.  The DSTC cases, which only the 2022 Sparseloop build can
run (position-skipping), are compared with its ``artifact.json``: cycles and energy
within 2%.  The expected numbers are read from the corpus at test time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import reference_root
from sparsesweep.compare import Tolerance, diff_results
from sparsesweep.engine import evaluate_spec
from sparsesweep.inputs import load_bundle
from sparsesweep.result import Result
from sparsesweep.tl import load_spec


def _cases(name: str) -> list[Path]:
    try:
        root = reference_root()
    except RuntimeError:
        return []
    return sorted(p.parent for p in root.rglob(name) if (p.parent / "input.yaml").is_file())


MASTER = _cases("expected.json")
ARTIFACT_ONLY = [p for p in _cases("artifact.json") if not (p / "expected.json").exists()]


def _ident(path: Path) -> str:
    return str(path.relative_to(reference_root()))


def _evaluate(case: Path) -> Result:
    return evaluate_spec(load_spec(load_bundle(case / "input.yaml"))).result


def _reference(case: Path, name: str) -> Result:
    data = json.loads((case / name).read_text())
    return Result.model_validate(data)


def test_corpus_is_present():
    assert len(MASTER) >= 150 and len(ARTIFACT_ONLY) >= 16


@pytest.mark.parametrize("case", MASTER, ids=_ident)
def test_matches_timeloop_master(case: Path):
    diffs = diff_results(_evaluate(case), _reference(case, "expected.json"), Tolerance(energy_rel=0.005))
    assert not diffs, f"{_ident(case)} differs from Timeloop master:\n  " + "\n  ".join(diffs)


@pytest.mark.parametrize("case", ARTIFACT_ONLY, ids=_ident)
def test_matches_2022_artifact_build(case: Path):
    tol = Tolerance(energy_rel=0.02, cycles_rel=0.02, counts_exact=False)
    ours, ref = _evaluate(case), _reference(case, "artifact.json")
    diffs = [d for d in diff_results(ours, ref, tol) if d.startswith(("cycles", "energy_pj"))]
    assert not diffs, f"{_ident(case)} differs from the 2022 artifact build:\n  " + "\n  ".join(diffs)


def test_evaluator_reuse_gives_the_same_results_as_evaluate_spec():
    """``Evaluator`` (what the mapper uses, with per-spec data derived once) gives exactly what
    ``evaluate_spec`` gives, on a sample of the reference cases."""
    from sparsesweep.engine import Evaluator

    for case in MASTER[::7]:
        spec = load_spec(load_bundle(case / "input.yaml"))
        evaluator = Evaluator(spec)
        assert evaluator.evaluate(spec.mapping).result == evaluate_spec(spec).result, _ident(case)
