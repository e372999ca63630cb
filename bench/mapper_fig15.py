"""Mapper quality and speed on every fig15 reference case that has an expected.json.

For each case: search the case's mapspace (its constraints.yaml, same arch/problem/sparse opts/ERT)
cold (no cache) without the artifact's mapping as a start, and compare the energy found with the
energy of the artifact's own mapping (expected.json, Timeloop master).  Also says whether the
artifact's mapping lies inside the mapspace; where it does not (it breaks a keep/bypass constraint),
a second search with the keep choices of the non-outermost levels left free is reported too.
``--verify`` evaluates every candidate of the mapspace with the engine (slow) to prove the optimum.
``--fig15fam``: the generated ResNet-50 GEMM cases (generated/fig15fam) instead, each searched in the
mapspace of its design and weight density (the constraints.yaml of a fig15 case of that design and
density; their mappings come from a Timeloop mapper search under the same constraints).

Run: .venv/bin/python bench/mapper_fig15.py [--objective energy] [--filter TC] [--verify] [--fig15fam]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from sparsesweep.backends.base import SearchOptions
from sparsesweep.engine.model import Evaluator
from sparsesweep.errors import MappingError
from sparsesweep.inputs import SpecBundle, load_bundle
from sparsesweep.mapper import batch, emit, local, mapspace, search
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.tl import load_spec
from sparsesweep.yamlio import load_yaml

REFERENCE = Path(os.environ.get("SPARSESWEEP_REFERENCE", Path(__file__).resolve().parents[2] / "shared" / "reference"))


def fig15fam_cases() -> list[tuple[Path, Path]]:
    """(case folder, constraints.yaml of a fig15 case with the same design and weight density)."""
    out = []
    with open(REFERENCE / "generated" / "INDEX.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["family"] != "fig15fam":
                continue
            density = row["densities"].split()[0].removeprefix("A:fixed")
            constraints = sorted((REFERENCE / "fig15" / f"WD-{density}").glob(f"*/{row['design']}/constraints.yaml"))
            out.append((REFERENCE / "generated" / row["case"], constraints[0]))
    return out


def with_constraints(bundle: SpecBundle, path: Path) -> SpecBundle:
    return bundle.with_data(architecture_constraints=load_yaml(path).data["architecture_constraints"])


def free_keeps(bundle: SpecBundle) -> SpecBundle:
    data = json.loads(json.dumps(bundle.data["architecture_constraints"]))
    for entry in data["targets"]:
        if entry["type"] == "bypass" and entry["target"] != "DRAM":
            entry.pop("keep", None)
    return bundle.with_data(architecture_constraints=data)


def brute_force(bundle: SpecBundle, objective: str) -> tuple[float, int]:
    """Best objective over every candidate of the (exhaustively listed) mapspace, by the engine."""
    spec = load_spec(bundle, need_mapping=False)
    rules = parse_constraints(spec)
    tab = batch.tables(spec, rules)
    space = mapspace.build(spec, rules, tab, np.random.default_rng(0))
    f = mapspace.join(space, 10_000_000, work=10**9)
    cands = mapspace.expand(space, f, mapspace.keep_options(space))
    cands = cands.take(local.unique(tab, cands))
    evaluator = Evaluator(spec)
    best, legal = float("inf"), 0
    for i in range(len(cands)):
        entries = emit.entries(spec, rules, cands.take(np.array([i])), 0)
        try:
            r = evaluator.evaluate(emit.to_mapping(spec, entries)).result
        except MappingError:
            continue
        legal += 1
        best = min(best, {"energy": r.energy_pj, "cycles": r.cycles, "edp": r.energy_pj * r.cycles}[objective])
    return best, legal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="energy", choices=("energy", "cycles", "edp"))
    parser.add_argument("--filter", default="", help="only cases whose path contains this text")
    parser.add_argument("--verify", action="store_true", help="prove the optimum by evaluating every candidate")
    parser.add_argument("--fig15fam", action="store_true", help="the generated fig15-family GEMM cases instead")
    args = parser.parse_args()
    if args.fig15fam:
        pairs = [(c, k) for c, k in fig15fam_cases() if args.filter in str(c)]
    else:
        pairs = [(p.parent, None) for p in sorted((REFERENCE / "fig15").glob("*/*/*/expected.json"))
                 if args.filter in str(p)]
    cases = [c for c, _ in pairs]
    options = SearchOptions(objective=args.objective, time_limit_s=30.0, seed=0)
    times, ratios = [], []
    print(f"{'case':78s} {'E/E_art':>8s} {'C/C_art':>8s} {'time s':>7s} {'exact':>5s}  note")
    for case, constraints in pairs:
        bundle = load_bundle(case)
        if constraints is not None:
            bundle = with_constraints(bundle, constraints)
        expected = json.loads((case / "expected.json").read_text())
        spec = load_spec(bundle)
        outside = emit.violations(spec, parse_constraints(spec), spec.mapping)
        start = time.perf_counter()
        found = search(bundle.with_data(mapping=None), options, cache=False)
        seconds = time.perf_counter() - start
        times.append(seconds)
        ratio = found.result.energy_pj / expected["energy_pj"]
        ratios.append(ratio)
        note = ""
        if outside:
            freed = search(free_keeps(bundle).with_data(mapping=None), options, cache=False)
            note = (f"artifact mapping outside the mapspace ({outside[0]}); keeps left free: "
                    f"{freed.result.energy_pj / expected['energy_pj']:.4f}")
        if args.verify:
            best, legal = brute_force(bundle.with_data(mapping=None), args.objective)
            r = found.result
            value = {"energy": r.energy_pj, "cycles": r.cycles, "edp": r.energy_pj * r.cycles}[args.objective]
            note += f" verify: found/best-of-{legal} = {value / best:.6f}"
        name = str(case.relative_to(REFERENCE))
        print(f"{name:78s} {ratio:8.4f} {found.result.cycles / expected['cycles']:8.3f} {seconds:7.3f} "
              f"{found.extra['exact_evaluations']:5d}  {note}")
    if times:
        inside = [r for r in ratios if r <= 1.02]
        print(f"{len(cases)} cases: median search {statistics.median(times):.3f} s, max {max(times):.3f} s; "
              f"energy ratio median {statistics.median(ratios):.4f}, max {max(ratios):.4f}; "
              f"{len(inside)} cases within 1.02x; {os.cpu_count()} CPUs visible")


if __name__ == "__main__":
    main()
