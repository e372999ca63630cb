"""Our mapper against real ``timeloop-mapper`` on rendered sweep points (used by
``tests/test_timeloop_mapper.py`` and ``bench/mapper_vs_timeloop.py``).

A point is rendered with bounded mapper settings (a search size, a victory condition and a
consecutive-invalid timeout, so each Timeloop search takes seconds), searched by the native
mapper and by ``timeloop-mapper`` on the same rendered inputs under the same objective, and
the two best mappings are compared on the objective (edp = energy x cycles).  Timeloop's
mapping is also put through timeloop-model's own constraint check (``tlcheck``): Timeloop's
mapper may return a mapping that its model refuses (e.g. no spatial loop at a level with
spatial constraints), which our mapper never writes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sparsesweep.backends.base import SearchOptions
from sparsesweep.backends.timeloop import TimeloopBackend
from sparsesweep.backends.tlrun import find_binary, run_tool
from sparsesweep.errors import BackendError
from sparsesweep.mapper import search
from sparsesweep.mapper.constraints import parse_constraints
from sparsesweep.mapper.tlcheck import model_violations
from sparsesweep.render import render_point
from sparsesweep.specs import load_arch, load_scheme, load_workload
from sparsesweep.specs.mapper import MapperSettings
from sparsesweep.sweep.runner import MAPPER_METRICS
from sparsesweep.tl import load_spec

REPO = Path(__file__).resolve().parents[1]


def bounded_settings(objective: str, search_size: int = 3000, victory: int = 300, timeout: int = 3000,
                     threads: int = 2) -> MapperSettings:
    """timeloop-mapper settings that end a search within seconds on the rendered points."""
    return MapperSettings(algorithm="random_pruned", optimization_metrics=MAPPER_METRICS[objective],
                          num_threads=threads, search_size=search_size, victory_condition=victory,
                          timeout=timeout)


@dataclass(frozen=True)
class Comparison:
    point: str
    ours: float  # objective of our mapping
    timeloop: float | None  # objective of timeloop-mapper's best mapping (None: it found none)
    timeloop_refused: list[str]  # why timeloop-model would refuse Timeloop's own mapping (empty: accepts)
    seconds_ours: float
    seconds_timeloop: float
    note: str = ""
    model_refused: bool | None = None  # timeloop-model run on Timeloop's mapping refused it (None: not run)

    @property
    def ratio(self) -> float | None:
        """Timeloop's objective / ours (> 1: ours is better)."""
        return None if self.timeloop is None else self.timeloop / self.ours


def objective_of(result, objective: str) -> float:
    return {"energy": result.energy_pj, "cycles": float(result.cycles),
            "edp": result.energy_pj * result.cycles}[objective]


def compare_point(layer: str, scheme: str, sides: str, sparsity: float, objective: str = "edp", *,
                  workload: Path | None = None, settings: MapperSettings | None = None,
                  time_limit_s: float = 60.0, workdir: Path | None = None, confirm: bool = True) -> Comparison:
    """Both searches on one rendered point; ``confirm`` also runs timeloop-model on Timeloop's mapping
    (with the point's constraints) to see whether it accepts it."""
    spec = load_scheme(REPO / "sparse_opt" / f"{scheme}.yaml")
    arch = load_arch(REPO / "arch" / ("dstc.yaml" if spec.topology == "dstc" else "stc.yaml"))
    the_layer = load_workload(workload or REPO / "workloads" / "resnet50.yaml").layer(layer)
    point = render_point(arch, the_layer, spec, sides, sparsity, mapper=settings or bounded_settings(objective))
    bundle = point.bundle
    ours = search(bundle, SearchOptions(objective=objective), cache=False)
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="mapper-vs-timeloop-")) if own else workdir
    try:
        backend = TimeloopBackend(notify=lambda _: None)
        try:
            found = backend.search(bundle, SearchOptions(objective=objective, time_limit_s=time_limit_s),
                                   folder / point.name)
        except BackendError as exc:
            return Comparison(point.name, objective_of(ours.result, objective), None, [], ours.seconds, 0.0,
                              note=exc.what)
        checked = load_spec(bundle.with_data(mapping=found.mapping, mapper=None))
        names = [s.name for s in checked.arch.storage]
        refused = model_violations(parse_constraints(checked), checked.mapping, checked.problem.dims,
                                   checked.problem.bounds, names)
        note = "stopped at the time limit" if found.extra.get("stopped_at_time_limit") else ""
        model_refused = _model_refuses(folder / point.name) if confirm else None
        return Comparison(point.name, objective_of(ours.result, objective), objective_of(found.result, objective),
                          refused, ours.seconds, found.seconds, note, model_refused)
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _model_refuses(searched: Path) -> bool:
    """Run timeloop-model on the mapping timeloop-mapper wrote in ``searched``; True if it refuses it."""
    folder = searched / "model"
    folder.mkdir()
    shutil.copy(searched / "input.yaml", folder / "input.yaml")
    shutil.copy(searched / "ERT.yaml", folder / "ERT.yaml")
    shutil.copy(searched / "timeloop-mapper.map.yaml", folder / "mapping.yaml")
    try:
        run_tool([str(find_binary("timeloop-model")), "input.yaml", "ERT.yaml", "mapping.yaml"], folder,
                 timeout_s=600)
    except BackendError:
        return True
    return False
