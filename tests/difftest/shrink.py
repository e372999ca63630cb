"""Shrink a disagreement to a small input and save it as a case folder.

:func:`shrink` asks Hypothesis for the smallest generated input whose outcome satisfies a
predicate (e.g. "Timeloop and the engine disagree on ``Weights.actual_reads``"); :func:`save_case`
writes ``input.yaml``, ``ERT.yaml``, Timeloop's ``timeloop-model.stats.txt`` and its parse
``expected.json``, the engine's ``ours.json`` (when it evaluated the input) and ``outcome.txt``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, find, settings

from .gen import Case, cases
from .options import GenOptions
from .run import Outcome, run_case, run_engine, run_timeloop, compare, write_case


def diff_signature(outcome: Outcome) -> frozenset[str]:
    """The kinds of fields that differ, without level names: e.g. ``{'Weights.actual_reads_per_instance'}``."""
    sig = set()
    for line in outcome.diffs:
        key = line.split(":", 1)[0]
        parts = key.split(".")
        sig.add(".".join(parts[1:]) if len(parts) > 1 else key)
    return frozenset(sig)


def shrink(binary: Path, opts: GenOptions, predicate: Callable[[Outcome], bool], *,
           max_examples: int = 2000, seed: int | None = None) -> Case:
    """The smallest drawn input whose outcome satisfies ``predicate`` (Hypothesis ``find``)."""

    def condition(case: Case) -> bool:
        return predicate(run_case(binary, case.input_yaml(), case.ert_yaml()))

    cfg = settings(max_examples=max_examples, database=None, deadline=None,
                   phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    return find(cases(opts), condition, settings=cfg, random=None if seed is None else __import__("random").Random(seed))


def save_case(binary: Path, input_yaml: str, ert_yaml: str, folder: Path, note: str = "") -> Outcome:
    """Run the input once more in ``folder`` and keep the files that make it a regression case."""
    if folder.exists():
        shutil.rmtree(folder)
    write_case(folder, input_yaml, ert_yaml)
    work = folder / ".run"
    write_case(work, input_yaml, ert_yaml)
    outcome = compare(run_timeloop(binary, work), run_engine(folder))
    stats = work / "timeloop-model.stats.txt"
    if stats.is_file():
        shutil.copy(stats, folder / "timeloop-model.stats.txt")
    log = work / "timeloop.log"
    if outcome.timeloop is None and log.is_file():
        shutil.copy(log, folder / "timeloop.log")
    shutil.rmtree(work)
    if outcome.timeloop is not None:
        (folder / "expected.json").write_text(json.dumps(outcome.timeloop.to_json_dict(), indent=1) + "\n")
    if outcome.ours is not None:
        (folder / "ours.json").write_text(json.dumps(outcome.ours.to_json_dict(), indent=1) + "\n")
    (folder / "outcome.txt").write_text((note + "\n" if note else "") + outcome.summary().replace(" | ", "\n")
                                        .replace("; ", "\n") + "\n")
    return outcome
