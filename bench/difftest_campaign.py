"""Long differential campaign: random inputs through the native engine and real timeloop-model.

    python bench/difftest_campaign.py --count 5000 --jobs 2 --time-limit 1800 [--preset full|seeded|dense]
        [--seed 0] [--save DIR]

Inputs are drawn by the Hypothesis strategies of ``tests/difftest`` in batches of ``--batch``
(each batch has its own seed, so any batch can be re-drawn), run on ``--jobs`` worker processes,
and classified (see ``tests/difftest/run.py``).  Prints the agreement rate, then every
disagreement class (the known class its tags point at, and the kinds of fields that differ) and
every Timeloop refusal, crash and defect with counts (for a crash or defect, also what the engine does
on it: evaluates, refuses with which reason, or crashes).  ``--save DIR`` keeps the smallest input of
each class (``input.yaml``, ``ERT.yaml``, ``outcome.txt``).  Timeloop is found on PATH, in
``$TIMELOOP_ROOT/bin`` or in ``../shared/timeloop/bin``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from difftest.gen import Case, cases  # noqa: E402
from difftest.options import GenOptions  # noqa: E402
from difftest.run import find_timeloop_model, run_case  # noqa: E402
from difftest.seeded import SEEDED  # noqa: E402
from difftest.shrink import diff_signature  # noqa: E402
from difftest.tags import KNOWN_CLASS_TAGS  # noqa: E402

# dense: no formats, SAFs or sparse densities (the dense nest analysis: reuse, multicast, links)
PRESETS = {"full": GenOptions(), "seeded": SEEDED,
           "dense": GenOptions(formats=(), safs=(), compute_safs=False, densities=())}


def _normalise(message: str) -> str:
    message = re.sub(r"/\S*/", "", message)
    message = re.sub(r"\d+", "N", message)
    return message[:140]


def classify(case: Case, outcome) -> str:
    if outcome.kind == "disagree":
        known = "+".join(t for t in KNOWN_CLASS_TAGS if t in case.tags) or "other"
        spatial = " spatial" if "spatial" in case.tags else ""
        fields = ",".join(sorted(diff_signature(outcome))[:4])
        return f"disagree [{known}{spatial}] {fields}"
    if outcome.kind in ("tl_crash", "tl_defect"):  # a Timeloop defect: what does the engine do instead?
        if outcome.engine_status == "ok":
            engine = "engine evaluates"
        elif outcome.engine_status == "crash":
            engine = f"ENGINE CRASH {outcome.engine_message[:80]}"
        else:
            engine = f"engine refuses: {_normalise(outcome.engine_message.split(': ', 2)[-1])[:70]}"
        return f"{outcome.kind}: {_normalise(outcome.tl_message)} | {engine}"
    if outcome.kind in ("tl_refuses", "both_refuse", "tl_timeout"):
        return f"{outcome.kind}: {_normalise(outcome.tl_message)}"
    if outcome.kind in ("engine_refuses", "engine_crash"):
        return f"{outcome.kind}: {_normalise(outcome.engine_message)}"
    return outcome.kind


def run_batch(batch_seed: int, size: int, preset: str, deadline: float) -> list[tuple[str, str, str, str, str]]:
    binary = find_timeloop_model()
    assert binary is not None
    out: list[tuple[str, str, str, str, str]] = []

    @seed(batch_seed)
    @settings(max_examples=size, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(PRESETS[preset]))
    def body(case: Case) -> None:
        if time.time() > deadline:
            return
        outcome = run_case(binary, case.input_yaml(), case.ert_yaml())
        out.append((outcome.kind, classify(case, outcome), outcome.summary(), case.input_yaml(), case.ert_yaml()))

    body()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=3600.0, help="seconds")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="full")
    ap.add_argument("--save", type=Path)
    args = ap.parse_args(argv)
    if find_timeloop_model() is None:
        print("timeloop-model not found (PATH, $TIMELOOP_ROOT, ../shared/timeloop)", file=sys.stderr)
        return 2
    start = time.time()
    deadline = start + args.time_limit
    batches = (args.count + args.batch - 1) // args.batch
    kinds: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    smallest: dict[str, tuple[str, str, str]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_batch, args.seed * 100000 + b, args.batch, args.preset, deadline)
                   for b in range(batches)]
        for fut in as_completed(futures):
            for kind, cls, summary, inp, ert in fut.result():
                kinds[kind] += 1
                if kind != "agree":
                    classes[cls] += 1
                    if cls not in smallest or len(inp) < len(smallest[cls][0]):
                        smallest[cls] = (inp, ert, summary)
    total = sum(kinds.values())
    seconds = time.time() - start
    evaluated = kinds["agree"] + kinds["disagree"] + kinds["engine_refuses"] + kinds["engine_crash"]
    print(f"{total} inputs in {seconds:.0f} s ({args.jobs} jobs, preset {args.preset}, seed {args.seed})")
    print(f"agreement: {kinds['agree']} of {evaluated} inputs Timeloop evaluated "
          f"({100 * kinds['agree'] / max(evaluated, 1):.1f}%); both refused: {kinds['both_refuse']}")
    for kind, n in kinds.most_common():
        print(f"  {kind:15s} {n}")
    print("classes (count, class):")
    for cls, n in classes.most_common():
        print(f"  {n:5d}  {cls}")
    if args.save:
        for k, (cls, (inp, ert, summary)) in enumerate(sorted(smallest.items())):
            folder = args.save / f"class{k:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "input.yaml").write_text(inp)
            (folder / "ERT.yaml").write_text(ert)
            (folder / "outcome.txt").write_text(cls + "\n" + summary + "\n")
        print(f"smallest input of each class saved under {args.save}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
