"""The search: batch-model ranking of the mapspace, exact evaluation of the finalists.

1. Parse the point and its constraints; build the mapspace.
2. Rank candidates with the vectorised dense model (:mod:`.batch`) scaled by sparse
   factors: exhaustively when the space is small, by seeded local search otherwise.
3. Evaluate the best-ranked candidates with the engine, in rank order.  For sparse points
   the exact results recalibrate the scales (exact / dense per level and tensor) and the
   pool is re-ranked; the search stops when no unevaluated candidate is predicted to beat
   the best exact one (by more than the model's observed error).
4. Return the best exactly evaluated mapping as Timeloop ``mapping:`` entries.

Dense points need one exact evaluation: the batch model reproduces the engine there.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from ..backends.base import SearchOptions, SearchResult
from ..engine.energy import metadata_energy
from ..engine.model import Evaluation, Evaluator
from ..errors import MappingError, SpecError
from ..inputs import SpecBundle
from ..tl import load_spec
from ..tl.spec import Spec
from . import batch, emit, explore, mapspace
from .batch import Batch, Scales, Tables
from .constraints import Constraints, parse_constraints

MAX_EXACT = 48  # exact evaluations per search at most
ROUND = 2  # exact evaluations between re-rankings
MIN_TOLERANCE = 0.002  # relative margin kept when the model is (nearly) exact
MIN_CHECKS = 2  # sparse: calibrated estimates checked exactly before the model is trusted


@dataclasses.dataclass
class _Best:
    key: tuple[float, float, float]
    entries: list[dict[str, Any]]
    evaluation: Evaluation


@dataclasses.dataclass
class Run:
    """One point's search in progress (see :func:`prepare`, :func:`finish`)."""

    bundle: SpecBundle
    options: SearchOptions
    start: float
    deadline: float
    spec: Spec
    rules: Constraints
    tab: Tables
    rng: np.random.Generator
    space: mapspace.MapSpace
    sparse: bool
    scales: Scales
    state: _Exact
    notes: list[str]
    pool: explore.Pool
    how: str = ""

    def wants_second_pass(self) -> bool:
        """A sparse point without a legal start: evaluate the best-ranked candidate exactly and, when
        it is legal, calibrate the scales on it (then the mapspace is scanned again under them)."""
        if not (self.sparse and self.state.best is None and len(self.pool.cands)):
            return False
        self.state.evaluate_ranked(self.pool, self.scales, 1)
        if self.state.best is None:
            return False
        self.scales = self.state.calibrate(self.state.best_cands, self.state.best.evaluation)
        return True


def run_search(bundle: SpecBundle, options: SearchOptions) -> SearchResult:
    run = prepare(bundle, options)
    run.how = explore.scan(run.space, options.objective, run.scales, run.pool, run.deadline, run.rng)
    if run.wants_second_pass():
        explore.scan(run.space, options.objective, run.scales, run.pool, run.deadline, run.rng, again=True)
    return finish(run)


def prepare(bundle: SpecBundle, options: SearchOptions, start: float | None = None) -> Run:
    """Parse the point, build its mapspace and an empty pool (and try its input mapping)."""
    start = time.perf_counter() if start is None else start
    deadline = start + max(options.time_limit_s, 0.0)
    spec = load_spec(bundle, need_mapping=False)
    rules = parse_constraints(spec)
    tab = batch.tables(spec, rules)
    rng = np.random.default_rng(options.seed)
    space = mapspace.build(spec, rules, tab, rng)
    sparse = spec.problem.is_sparse or not spec.sparse.empty
    scales = prior_scales(spec, tab) if sparse else Scales.unit(tab.n, len(tab.rw))
    state = _Exact(spec, rules, tab, options.objective)
    notes: list[str] = list(rules.warnings)
    start_note = state.try_start(spec.mapping)
    if start_note:
        notes.append(start_note)
    if state.best is not None and sparse:
        scales = state.calibrate(state.best_cands, state.best.evaluation)
    return Run(bundle, options, start, deadline, spec, rules, tab, rng, space, sparse, scales, state, notes,
               explore.empty_pool(space))


def finish(run: Run, extra: dict[str, Any] | None = None) -> SearchResult:
    """Evaluate the pool's best candidates exactly; the best legal one as the search's result."""
    state, pool, deadline, bundle = run.state, run.pool, run.deadline, run.bundle
    state.refine(pool, run.scales, run.sparse, deadline)
    if state.best is None:
        why = f"; the engine rejected the best ones: {state.rejections[0]}" if state.rejections else ""
        late = time.perf_counter() > deadline
        raise MappingError(
            f"no legal mapping found{' within the time limit' if late else ''} ({pool.seen} candidates, "
            f"{state.count} evaluated exactly{why})",
            file=str(bundle.doc_for("architecture").path), key="architecture_constraints",
            fix="give the search more time (--time-limit)" if late else
            "relax the constraints (factors, bypass) or enlarge the buffers")
    problem = state.best.evaluation.result.physical_problem()
    if problem:
        raise SpecError(f"the best mapping's result is not physical ({problem})",
                        file=str(bundle.doc_for("architecture").path), key="architecture",
                        fix="check the bandwidths, sizes, energies and densities")
    seconds = time.perf_counter() - run.start
    return SearchResult(
        mapping=state.best.entries, result=state.best.evaluation.result, evaluated=pool.seen + state.count,
        seconds=seconds,
        extra={"objective": run.options.objective, "method": run.how, "exact_evaluations": state.count,
               "batch_evaluations": pool.seen, "factorizations": run.space.factorization_count(),
               "time_limited": time.perf_counter() > deadline, "notes": run.notes, **(extra or {}),
               "metadata_pj": metadata_by_level(run.spec, state.evaluator, state.best.evaluation)})


def metadata_by_level(spec: Spec, evaluator: Evaluator, evaluation: Evaluation) -> dict[str, float]:
    """Per storage level, the metadata part of its energy (pJ) in ``evaluation``."""
    costs = evaluator.context.costs
    return {level.name: sum(metadata_energy(t, cost) for t in row)
            for level, cost, row in zip(spec.arch.storage, costs, evaluation.tensors)}


class _Exact:
    """Exact evaluations, the best so far and the scale calibration."""

    def __init__(self, spec: Spec, rules: Constraints, tab: Tables, objective: str) -> None:
        self.spec, self.rules, self.tab, self.objective = spec, rules, tab, objective
        self.evaluator = Evaluator(spec)
        self.best: _Best | None = None
        self.best_cands: Batch | None = None
        self.count = 0
        self.done: set[bytes] = set()
        self.errors: list[float] = []  # relative error of calibrated estimates on evaluated candidates
        self.calibrated = False
        self.rejections: list[str] = []  # why the engine rejected candidates

    def key(self, result) -> tuple[float, float, float]:
        e, c = result.energy_pj, float(result.cycles)
        obj = {"energy": e, "cycles": c, "edp": e * c}[self.objective]
        return (obj, e, c)

    def try_start(self, mapping) -> str | None:
        if mapping is None:
            return None
        bad = emit.violations(self.spec, self.rules, mapping)
        if bad:
            return f"the input mapping is outside the mapspace ({bad[0]}); not used as a start"
        cands = emit.from_mapping(self.spec, mapping)
        self.consider(cands, 0, None)
        return None if self.best is not None else "the input mapping is illegal; not used as a start"

    def consider(self, cands: Batch, i: int, estimate: float | None) -> bool:
        """Evaluate candidate ``i`` exactly; True if it is legal."""
        row = cands.take(np.array([i]))
        fp = _fingerprints(row)[0]
        if fp in self.done:
            return False
        self.done.add(fp)
        entries = emit.entries(self.spec, self.rules, row, 0)
        self.count += 1
        try:
            mapping = emit.to_mapping(self.spec, entries)
            evaluation = self.evaluator.evaluate(mapping)
        except MappingError as exc:
            self.rejections.append(exc.what)
            return False
        key = self.key(evaluation.result)
        if estimate is not None and key[0] > 0 and self.calibrated:
            self.errors.append(abs(estimate - key[0]) / key[0])
        if self.best is None or key < self.best.key:
            self.best = _Best(key, entries, evaluation)
            self.best_cands = row
        return True

    def evaluate_ranked(self, pool: explore.Pool, scales: Scales, count: int) -> int:
        """Evaluate the ``count`` best-ranked unevaluated pool candidates; returns how many were."""
        order = explore.rank(self.tab, self.objective, scales, pool.dense)
        energy, cycles = batch.estimate(self.tab, pool.dense, scales)
        obj = batch.objective(self.objective, energy, cycles)
        keys = _pool_fingerprints(pool)
        done = 0
        for i in order:
            if done >= count:
                break
            if keys[i] in self.done:
                continue
            self.consider(pool.cands, int(i), float(obj[i]))
            done += 1
        return done

    def refine(self, pool: explore.Pool, scales: Scales, sparse: bool, deadline: float) -> None:
        # Past MAX_EXACT only while nothing legal is known: the batch model does not check metadata
        # capacities, so its best-ranked candidates can all overflow a small metadata store while a
        # lower-ranked one fits.  Walk the ranking until one is legal, the pool ends or time is up.
        while (self.count < MAX_EXACT or self.best is None) and len(pool.cands):
            if self.best is None and self.count >= MAX_EXACT and time.perf_counter() > deadline:
                return
            if self.best is not None and self._settled(pool, scales, sparse):
                return
            if not self.evaluate_ranked(pool, scales, ROUND if sparse else 1):
                return
            if sparse and self.best is not None and self.best_cands is not None:
                scales = self.calibrate(self.best_cands, self.best.evaluation)
            if time.perf_counter() > deadline and self.best is not None:
                return

    def _settled(self, pool: explore.Pool, scales: Scales, sparse: bool) -> bool:
        assert self.best is not None
        energy, cycles = batch.estimate(self.tab, pool.dense, scales)
        obj = batch.objective(self.objective, energy, cycles)
        fresh = np.array([k not in self.done for k in _pool_fingerprints(pool)])
        if not fresh.any():
            return True
        if sparse and len(self.errors) < MIN_CHECKS:
            return False
        tol = MIN_TOLERANCE if not sparse else max(MIN_TOLERANCE, max(self.errors[-8:]))
        return float(obj[fresh].min()) * (1.0 + tol) >= self.best.key[0] * (1.0 - 1e-12)

    def calibrate(self, row: Batch | None, evaluation: Evaluation) -> Scales:
        assert row is not None
        self.calibrated = True
        return calibrate(self.spec, self.tab, batch.evaluate(self.tab, row), evaluation)


def _pool_fingerprints(pool: explore.Pool) -> list[bytes]:
    """The fingerprints of the pool's candidates, computed once per pool content."""
    if pool.keys is None:
        pool.keys = _fingerprints(pool.cands)
    return pool.keys


def _fingerprints(c: Batch) -> list[bytes]:
    """One key per candidate; loop orders count only among non-trivial loops."""
    n = len(c)
    order = np.where(c.temporal > 1, c.rank, -1)
    rows = np.concatenate([c.temporal.reshape(n, -1), c.spatial.reshape(n, -1), order.reshape(n, -1),
                           c.xaxis.reshape(n, -1), c.keep.reshape(n, -1)], axis=1).astype(np.int64)
    return [r.tobytes() for r in rows]


def prior_scales(spec: Spec, tab: Tables) -> Scales:
    """A-priori sparse factors: compressed tensors move their density; skipped targets their leaders'."""
    problem = spec.problem
    names = [d.name for d in problem.dataspaces]
    s = Scales.unit(tab.n, len(names))
    for li, level in enumerate(spec.arch.storage):
        sparse = spec.sparse.at(level.name)
        for ti, ds in enumerate(names):
            rep = sparse.formats.get(ds)
            if rep is not None and rep.has_metadata:
                s.energy[li, ti] *= problem.density_of(ds).density
        for saf in sparse.safs:
            if saf.kind == "position_skipping" or not saf.options:
                continue
            target, leaders = saf.options[0]
            factor = float(np.prod([problem.density_of(x).density for x in leaders])) if leaders else 1.0
            ti = names.index(target)
            s.energy[:li + 1, ti] *= factor
    s.reads[:] = s.energy
    s.writes[:] = s.energy
    operands = [d.name for d in problem.dataspaces if not d.read_write]
    compute = float(np.prod([problem.density_of(x).density for x in operands])) if spec.sparse.compute else 1.0
    return dataclasses.replace(s, compute_energy=compute, compute_cycles=compute)


def calibrate(spec: Spec, tab: Tables, dense: batch.Dense, evaluation: Evaluation) -> Scales:
    """Scales that make the batch model reproduce ``evaluation`` for its own mapping."""
    names = [d.name for d in spec.problem.dataspaces]
    s = Scales.unit(tab.n, len(names))
    result = evaluation.result
    for li, level in enumerate(spec.arch.storage):
        lr = result.levels.get(level.name)
        for t in evaluation.tensors[li]:
            ti = names.index(t.dataspace)
            if lr is not None and t.dataspace in lr.dataspaces and dense.energy[0, li, ti] > 0:
                s.energy[li, ti] = lr.dataspaces[t.dataspace].energy_pj / dense.energy[0, li, ti]
            scale = t.instances / t.avg_instances if t.avg_instances else 1.0
            words = level.word_bits
            read = t.reads.random + t.reads.gated + (t.md_reads.random + t.md_reads.gated) // words
            write = (t.fills.random + t.fills.gated + t.updates.random + t.updates.gated
                     + (t.md_fills.random + t.md_fills.gated + t.md_updates.random + t.md_updates.gated) // words)
            dr = dense.reads[0, li, ti]
            dw = dense.fills[0, li, ti] + dense.updates[0, li, ti]
            s.reads[li, ti] = read / scale / dr if dr > 0 else 1.0
            s.writes[li, ti] = write / scale / dw if dw > 0 else 1.0
    compute = result.levels.get(spec.arch.compute.name)
    ce = float(dense.compute_energy[0])
    cc = float(dense.compute_cycles[0])
    return dataclasses.replace(
        s, compute_energy=(compute.energy_pj / ce) if compute is not None and ce > 0 else 1.0,
        compute_cycles=(compute.cycles / cc) if compute is not None and compute.cycles and cc > 0 else 1.0)
